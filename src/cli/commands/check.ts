import type { Command } from 'commander';
// the CLI uses only the public API (its entries)
import { checkProgram as checkObject, renderExplanation, type CheckResult } from '../../index.js';
import { printJson } from '../output.js';

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('load every XDP program of a BPF object through the kernel verifier, without attaching; exit 1 and explain the rejection (why, and the fix) when one is rejected')
    .argument('<object.o>', 'compiled BPF object (clang -O2 -g -target bpf -c prog.bpf.c -o prog.bpf.o)')
    .option('--verbose', 'also print the full verifier log (log level 2)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  afxdp check prog.bpf.o\n  afxdp check prog.bpf.o --verbose\n')
    .action((file: string, o: { verbose?: boolean; json?: boolean }) => {
      const r = checkObject(file, { logLevel: o.verbose ? 2 : 0 });
      if (o.json) printJson(r);
      else process.stdout.write(renderCheck(r, !!o.verbose));
      if (r.programs.some((p) => !p.ok)) process.exitCode = 1;
    });
}

function renderCheck(r: CheckResult, verbose: boolean): string {
  const out: string[] = [];
  for (const p of r.programs) {
    const sec = `SEC("${p.section}")${p.assumedXdp ? ', unknown section name: checked as XDP' : ''}`;
    if (p.ok) {
      out.push(`ok    ${p.program} (${sec}): accepted by the verifier`);
      if (verbose && p.log) out.push(indent(p.log));
    } else {
      out.push(`FAIL  ${p.program} (${sec}): ${p.message}`);
      if (p.explanation) out.push(indent(renderExplanation(p.explanation)));
      // the raw log when asked for, or when afxdp cannot explain the rejection yet
      if (p.log && (verbose || !p.explanation || p.explanation.class === 'unknown')) out.push('verifier log:', indent(p.log));
      else if (p.log) out.push('  (the verifier log: afxdp check --verbose)');
    }
  }
  for (const s of r.skipped) out.push(`skip  ${s.program} (SEC("${s.section}")): not an XDP program`);
  return out.join('\n') + '\n';
}

function indent(s: string): string {
  return s
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
