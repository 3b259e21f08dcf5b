import fs from 'node:fs';
import type { Command } from 'commander';
import { AfxdpError } from '../../index.js';
import { compareRuns, openOutputFile as openOutput, readRunFile, renderComparisonHtml, renderRunHtml } from '../../entry/report.js';
import { note, printJson } from '../output.js';

// no commander default: it would print "(default: [])" in the help
const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('render saved runs (RUN.json from --json, FILE.hlog from --hlog) as a self-contained HTML page; two or more are compared side by side')
    .argument('<inputs...>', 'RUN.json (afxdp.report/1) or FILE.hlog (HdrHistogram log), mixed; the first is the baseline of a comparison')
    .option('--html <file>', "the HTML file to write (one input: the run's report; several: the comparison)")
    .option('--json', 'print the comparison as one afxdp.compare/1 JSON document on stdout')
    .option('--label <name>', 'the name of a run on the page and in the JSON, once per input in order (default: the file names)', collect)
    .addHelpText(
      'after',
      '\nExamples:\n  afxdp demo --json > run.json && afxdp report run.json --html run.html\n  afxdp report run.hlog --html run.html\n  afxdp report event.json busy.json --html cmp.html\n  afxdp report before.json after.hlog --label before --label after --json\n',
    )
    .action((inputs: string[], opts: { html?: string; json?: boolean; label?: string[] }) => {
      const o = { ...opts, label: opts.label ?? [] };
      if (o.html === undefined && !o.json) {
        throw new AfxdpError('EUSAGE', 'report: nothing to write', { hint: 'pass --html OUT (the page) and/or --json (the comparison on stdout)' });
      }
      if (o.label.length > 0 && o.label.length !== inputs.length) {
        throw new AfxdpError('EUSAGE', `report: ${o.label.length} --label for ${inputs.length} input${inputs.length === 1 ? '' : 's'}`, {
          hint: 'give one --label per input, in the same order, or none (the file names are used)',
        });
      }
      const runs = inputs.map((file, i) => ({ ...readRunFile(file), label: o.label[i] }));
      const comparison = o.json || runs.length > 1 ? compareRuns(runs) : null;
      if (o.html !== undefined) {
        fs.closeSync(openOutput('--html', o.html));
        const html = comparison !== null && runs.length > 1 ? renderComparisonHtml(comparison) : renderRunHtml(runs[0]!);
        fs.writeFileSync(o.html, html);
        note(`wrote ${o.html} (${Buffer.byteLength(html)} bytes)`);
      }
      if (o.json) printJson(comparison);
    });
}
