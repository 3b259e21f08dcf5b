import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AfxdpError, explainLog, renderExplanation, PROG_TYPES, type ProgType } from '../../index.js';
import { printJson } from '../output.js';

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('explain a verifier log: the failing instruction and C line, why the verifier refused, and the fix with a corrected snippet')
    .argument('[file]', 'the log as you got it (libbpf output, raw log level 1/2, bpftool -d prog load); - or nothing reads stdin', '-')
    .option('--json', 'print the explanation as JSON (afxdp.explain/1)')
    .option('--type <type>', `program type the log came from: ${PROG_TYPES.join(', ')} (default: read from the log; where nothing says, XDP is assumed and the text says so)`)
    .addHelpText('after', '\nExamples:\n  afxdp explain verifier.log\n  afxdp explain --type kprobe verifier.log\n  bpftool -d prog load prog.o /sys/fs/bpf/p 2>&1 | afxdp explain\n  afxdp explain --json < verifier.log\n')
    .action((file: string, o: { json?: boolean; type?: string }) => {
      if (o.type !== undefined && !PROG_TYPES.includes(o.type as ProgType)) {
        throw new AfxdpError('EUSAGE', `unknown program type ${o.type}`, { hint: `use one of ${PROG_TYPES.join(', ')}` });
      }
      if (file === '-' && process.stdin.isTTY) {
        throw new AfxdpError('EUSAGE', 'no verifier log given', { hint: 'afxdp explain FILE, or pipe the log in: … 2>&1 | afxdp explain' });
      }
      const text = readInput(file);
      const e = explainLog(text, { progType: o.type as ProgType | undefined });
      if (!e.found) {
        throw new AfxdpError('EBPF', `no verifier error found in ${file === '-' ? 'stdin' : file}`, {
          hint: 'give the whole output of the failed load (between BEGIN and END PROG LOAD LOG), or run afxdp check OBJ.o',
        });
      }
      if (o.json) printJson(e);
      else process.stdout.write(renderExplanation(e));
    });
}

function readInput(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AfxdpError('EUSAGE', `${file}: no such file`, { hint: 'give the path of a saved verifier log, or pipe it in' });
    if (code === 'EISDIR') throw new AfxdpError('EUSAGE', `${file} is a directory`, { hint: 'give the path of a saved verifier log' });
    throw new AfxdpError('ESYS', `cannot read ${file}: ${(e as Error).message}`, { hint: 'check the path and permissions' });
  }
}
