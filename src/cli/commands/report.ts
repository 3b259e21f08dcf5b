import fs from 'node:fs';
import type { Command } from 'commander';
import { AfxdpError } from '../../errors.js';
import { openOutput } from '../../report/filebuf.js';
import { pageFromHlog, pageFromReport, parseReportJson, writeHtml } from '../../report/html.js';
import { note } from '../output.js';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('render a saved run (RUN.json from --json, or FILE.hlog from --hlog) as a self-contained HTML report')
    .argument('<input>', 'RUN.json (afxdp.report/1) or FILE.hlog (HdrHistogram log)')
    .requiredOption('--html <file>', 'the HTML file to write')
    .addHelpText('after', '\nExamples:\n  afxdp demo --json > run.json && afxdp report run.json --html run.html\n  afxdp report run.hlog --html run.html\n')
    .action((input: string, o: { html: string }) => {
      let text: string;
      try {
        text = fs.readFileSync(input, 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new AfxdpError('EUSAGE', `cannot read ${input}: ${code === 'ENOENT' ? 'no such file' : (code ?? (e as Error).message)}`, { hint: 'pass a RUN.json or FILE.hlog that exists' });
      }
      const isJson = text.trimStart().startsWith('{');
      const page = isJson ? pageFromReport(parseReportJson(text, input), input) : pageFromHlog(text, input);
      fs.closeSync(openOutput('--html', o.html));
      const bytes = writeHtml(o.html, page);
      note(`wrote ${o.html} (${bytes} bytes)`);
    });
}
