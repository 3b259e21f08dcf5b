/**
 * `afxdp` command line. Thin: parse and validate flags, call the library, print.
 * Exit codes: 0 ok, 1 failure, 2 usage error. Errors are one line on stderr; --debug adds detail.
 */
import { Command, CommanderError } from 'commander';
import { packageVersion } from '../index.js';
import { exitCodeOf, printError, note } from './output.js';
import type { CliContext } from './context.js';
import { registerDemo } from './commands/demo.js';
import { registerLatency } from './commands/latency.js';
import { registerCheck } from './commands/check.js';
import { registerExplain } from './commands/explain.js';
import { registerDoctor } from './commands/doctor.js';
import { registerReport } from './commands/report.js';
import { registerGen } from './commands/gen.js';
import { registerCompare } from './commands/compare.js';
import { registerServe } from './commands/serve.js';
import { registerCalibrate } from './commands/calibrate.js';

export async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      note(`${sig}: stopping and reporting what was measured (${sig === 'SIGINT' ? 'Ctrl-C' : sig} again to quit at once)`);
      stop.abort();
      return;
    }
    // second signal: no report, but still nothing left behind: process.exit() runs the exit hook
    // with which the lab registered its cleanup (a lab dies with its process anyway)
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // a reader that went away (`afxdp demo --help | head -1`) ends the run quietly, as for any
  // command-line tool: nothing is left behind, no stack trace
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(0); // runs the exit hook with the lab's cleanup, as for the second signal
  });
  const ctx = (): CliContext => ({ debug, signal: stop.signal });
  const program = createProgram(ctx);

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') {
        process.exitCode = 0;
      } else {
        const sub = argv.find((a) => program.commands.some((c) => c.name() === a));
        process.stderr.write(`${usageErrorLine(e.message, sub)}\n`);
        process.exitCode = 2;
      }
    } else {
      printError(e, debug);
      process.exitCode = exitCodeOf(e);
    }
  }
  // The handlers stay until the process exits (they do not keep it alive): a second signal
  // that arrives while the process winds down still means "quit now" (130), not a default death.
}

/** The commander program with every command registered (exported for the argument fuzz test). */
export function createProgram(ctx: () => CliContext): Command {
  const program = new Command('afxdp')
    .description('AF_XDP for Node.js: measure how long packets take from the XDP hook to user space')
    .version(packageVersion(), '-V, --version')
    .option('--debug', 'on errors, print details and stack traces')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeErr: () => {}, outputError: () => {} });
  program.configureHelp({ sortSubcommands: false, helpWidth: 100 });
  registerDemo(program, ctx);
  registerLatency(program, ctx);
  registerCheck(program);
  registerExplain(program);
  registerDoctor(program);
  registerReport(program);
  registerGen(program, ctx);
  registerCompare(program, ctx);
  registerServe(program, ctx);
  registerCalibrate(program, ctx);
  for (const c of program.commands) c.exitOverride().configureOutput({ writeErr: () => {}, outputError: () => {} });
  return program;
}

/**
 * commander's message as our one line: without its "error: " prefix, with its suggestion
 * ("(Did you mean --mode?)", on a line of its own) joined in, the help pointer at the end.
 */
export function usageErrorLine(message: string, sub?: string): string {
  const what = message.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ');
  return `afxdp: ${what} (see afxdp ${sub ? `${sub} ` : ''}--help)`;
}
