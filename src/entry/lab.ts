/**
 * afxdp/lab — the private test lab and its traffic, for your own tests and demos: two network
 * namespaces joined by a veth pair (Lab), the AF_XDP traffic generator (TrafficGenerator, or in a
 * worker of its own: GeneratorThread), the afxdp test frame's addresses and sizes, and the runs
 * built on them (`afxdp demo`: runDemo; the kernel-stack comparison: runCompareIface).
 *
 *   import { Lab, TrafficGenerator } from 'afxdp/lab';
 */
export { Lab, type LabOptions, type LabSide, type LabLeftovers } from '../lab/lab.js';
export { TrafficGenerator, type GeneratorOptions, type SendOptions, type SizeRange } from '../lab/generator.js';
export { GeneratorThread, type GeneratorResult } from '../lab/generator-thread.js';
export { runDemo, type DemoOptions } from '../run/demo.js';
export { runCompareIface, type CompareIfaceOptions, type CompareStackOptions, type StackReceiverChoice } from '../run/compare-stack.js';
export { macFromString, ipv4FromString, FRAME_MIN, FRAME_MAX, DEFAULT_UDP_PORT } from '../wire/frame.js';
