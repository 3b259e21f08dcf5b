/**
 * The flags of the kernel-stack comparison, shared by `afxdp demo --compare-stack` and
 * `afxdp compare`, and their mapping to CompareStackOptions.
 */
import type { Command } from 'commander';
import { AfxdpError } from '../index.js';
import type { CompareStackOptions, StackReceiverChoice } from '../entry/lab.js';
import { intArg, choiceArg } from './args.js';

export interface StackFlags {
  stackReceiver?: StackReceiverChoice;
  stackEvery: number;
  stackRcvbuf?: number;
}

export function addStackOptions(cmd: Command, prefix: string): Command {
  return cmd
    .option('--stack-receiver <r>', `${prefix}the kernel stack's receiver: node (dgram, its own process and event loop), c (recvmmsg, SO_TIMESTAMPNS), or both (one run with each in turn; the default where the C receiver is built, else node)`, choiceArg('--stack-receiver', ['node', 'c', 'both'] as const))
    .option('--stack-every <n>', `${prefix}every Nth packet goes to the kernel stack, the rest to the AF_XDP socket (2..1000)`, intArg('--stack-every', 2, 1000), 2)
    .option('--stack-rcvbuf <bytes>', `${prefix}SO_RCVBUF of the stack receiver's socket (default: the kernel's)`, intArg('--stack-rcvbuf', 1024, 1 << 30));
}

export function stackOptions(o: StackFlags): CompareStackOptions {
  return { stackReceiver: o.stackReceiver, stackEvery: o.stackEvery, stackRcvbuf: o.stackRcvbuf };
}

/** `demo` without --compare-stack: a --stack-* flag given on the command line does not apply. */
export function refuseStackFlags(cmd: Command): void {
  const given = ['stackReceiver', 'stackEvery', 'stackRcvbuf'].filter((k) => cmd.getOptionValueSource(k) === 'cli');
  if (given.length > 0) {
    const flag = '--' + given[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    throw new AfxdpError('EUSAGE', `${flag} applies only to the kernel-stack comparison`, { hint: 'add --compare-stack, or drop the flag' });
  }
}
