/**
 * Machine-wide knobs for the lowest tail (--cpu-dma-latency): held by a receiver from setup to
 * close, undone by the function returned. Per-thread knobs (--cpu, --rt) are in thread.ts; the
 * per-socket one (--busy-poll) in xsk/socket.ts. There is no mlockall knob: V8 aborts (a failed
 * CHECK after madvise on a locked page) when it frees pages that mlockall locked — at worker
 * isolate teardown with MCL_CURRENT, at code-space setup with MCL_FUTURE (docs/BENCHMARKS.md).
 */
import fs from 'node:fs';
import { AfxdpError } from '../errors.js';

export const CPU_DMA_LATENCY = '/dev/cpu_dma_latency';

/**
 * Holds /dev/cpu_dma_latency open with 0 µs: the PM QoS request keeps every CPU out of idle
 * states deeper than polling while the fd is open, so a wake-up does not pay a C-state exit
 * (tens to hundreds of µs on bare metal). Closing the fd (also by process death) drops it.
 */
export function holdCpuDmaLatency(): () => void {
  let fd: number;
  try {
    fd = fs.openSync(CPU_DMA_LATENCY, 'w');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new AfxdpError(code === 'EACCES' || code === 'EPERM' ? 'EPERM' : 'ESYS', `--cpu-dma-latency: cannot open ${CPU_DMA_LATENCY} (${code})`, {
      hint: code === 'ENOENT' ? 'this kernel has no PM QoS device (CONFIG_CPU_IDLE / PM QoS); drop --cpu-dma-latency' : 'it is writable by root only: run as root, or drop --cpu-dma-latency',
    });
  }
  try {
    // the device takes a binary s32 (µs); 0 = no idle state with any exit latency
    fs.writeSync(fd, new Int32Array([0]));
  } catch (e) {
    fs.closeSync(fd);
    throw new AfxdpError('ESYS', `--cpu-dma-latency: writing 0 to ${CPU_DMA_LATENCY} failed (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { hint: 'drop --cpu-dma-latency' });
  }
  return () => {
    fs.closeSync(fd);
  };
}
