import type { Command } from 'commander';
import { AfxdpError, runDoctor, renderDoctor } from '../../index.js';
import { printJson } from '../output.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check what this machine and an interface can do for AF_XDP: one line per finding (ok / warn / fail) with the command that fixes it; exit 1 on any fail')
    .option('--iface <name>', 'also check this interface (driver, queues, XDP modes, zero-copy, RX-metadata kfuncs, PTP)')
    .option('--probe', 'also attach a pass-all XDP program in native mode for a moment to prove it works (disturbs the interface briefly; detached at once)')
    .option('--json', 'print the findings as JSON (afxdp.doctor/1), including the kernel release')
    .addHelpText('after', '\nExamples:\n  afxdp doctor\n  afxdp doctor --iface eth0\n  afxdp doctor --iface eth0 --json\n  nsenter -t PID -n afxdp doctor --iface veth0   (an interface in another netns)\n')
    .action((o: { iface?: string; probe?: boolean; json?: boolean }) => {
      if (o.probe && !o.iface) throw new AfxdpError('EUSAGE', '--probe needs --iface', { hint: 'afxdp doctor --iface IF --probe' });
      const r = runDoctor({ iface: o.iface, probe: o.probe });
      if (o.json) printJson(r);
      else process.stdout.write(renderDoctor(r));
      if (r.summary.fail > 0) process.exitCode = 1;
    });
}
