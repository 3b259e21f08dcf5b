/**
 * The TypeScript receiver under test, as its own process (`npm run bench` starts it inside the
 * lab's rx namespace with nsenter, like the C rx_ref). It is afxdp's own src/run/rx-child.ts,
 * which `afxdp calibrate` runs too.
 *
 *   node [--expose-gc] dist/bench/rx-child.js --iface IF --poll event|worker|busy [--count N] [--batch 64] [--busy-poll US]
 */
import { rxChild } from '../src/run/rx-child.js';

await rxChild(process.argv.slice(2));
