import type { Command } from 'commander';
import { runCalibrate } from '../../index.js';
import { calibrationPath } from '../../entry/report.js';
import { requireCaps, LAB_NEEDS, RT_NEED } from '../../entry/privileges.js';
import { SCHED_CHOICES, type SchedChoice } from '../../entry/receiver.js';
import { intArg, choiceArg } from '../args.js';
import { note, printJson } from '../output.js';
import type { CliContext } from '../context.js';

interface CalibrateFlags {
  quick?: boolean;
  rounds?: number;
  packets?: number;
  rate?: number;
  rt?: boolean;
  sched: SchedChoice;
  out?: string;
  save: boolean;
  json?: boolean;
}

export function registerCalibrate(program: Command, ctx: () => CliContext): void {
  program
    .command('calibrate')
    .description("measure the instrument's own share on this host: afxdp's receiver and the shipped C reference receiver take turns on the same lab traffic with the same scheduling; prints afxdp ÷ C for CPU per packet, p50, p99 and p99.9 and saves them, and `latency`/`demo` reports cite them")
    .option('--quick', 'a short check that everything works (1 round, 2 000 packets at 10 000 pps): not figures to quote')
    .option('--rounds <n>', 'rounds, each one run of both receivers in alternating order (default 3; --quick 1)', intArg('--rounds', 1, 50))
    .option('--packets <n>', 'packets per run (default 250 000; --quick 2 000)', intArg('--packets', 100, 100_000_000))
    .option('--rate <pps>', 'packets per second, 64-byte UDP (default 50 000; --quick 10 000)', intArg('--rate', 100, 1_000_000))
    .option('--sched <policy>', "afxdp's scheduling policy: receiver-first (default, as `latency` runs) or off", choiceArg('--sched', SCHED_CHOICES), 'receiver-first')
    .option('--rt', 'both receivers SCHED_FIFO (afxdp --rt, C under chrt): needs CAP_SYS_NICE')
    .option('--out <file>', `where to save the result (default ${calibrationPath()}; AFXDP_CALIBRATION overrides)`)
    .option('--no-save', 'print only, save nothing (reports then cite nothing new)')
    .option('--json', 'print the result as one JSON document (afxdp.calibration/1)')
    .addHelpText('after', '\nExamples:\n  afxdp calibrate\n  afxdp calibrate --quick\n  afxdp calibrate --rounds 5 --rt --json\n')
    .action(async (o: CalibrateFlags) => {
      requireCaps('afxdp calibrate', o.rt ? [...LAB_NEEDS, RT_NEED] : LAB_NEEDS, { umemBytes: 2 * 4096 * 4096 });
      const r = await runCalibrate({
        quick: !!o.quick,
        rounds: o.rounds,
        packets: o.packets,
        rate: o.rate,
        rt: !!o.rt,
        sched: o.sched,
        out: o.save ? o.out : null,
        signal: ctx().signal,
        log: o.json ? undefined : (l) => note(l),
      });
      if (o.json) printJson(r.calibration);
      else {
        process.stdout.write(`${r.text}\n`);
        if (r.calibration.quick) process.stdout.write('(--quick: a check that everything works, not figures to quote)\n');
        if (r.saved) process.stdout.write(`saved to ${r.saved}: \`afxdp latency\` and \`afxdp demo\` reports on this host cite it\n`);
      }
    });
}
