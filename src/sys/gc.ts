/**
 * collectGarbage(): a full V8 garbage collection of the calling thread's isolate, on demand.
 *
 * Why: the receive path's rehearsal (RxEngine.rehearse in rx/engine.ts) leaves a few MB of garbage behind — the
 * numbers its interpreted first iterations boxed — and the first scavenge during traffic then
 * stopped the receiving thread for ~2 ms inside the measurement (seen with `node --trace-gc` on
 * the bench's receiver). Collecting once after the rehearsal, before the program is attached, moves
 * that pause out of the figures. Node has `gc()` only with --expose-gc; the flag can be set at run
 * time, and a context created afterwards has the function (it is V8's own extension).
 */
import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | null | undefined;

/** Returns false when this runtime offers no way to collect (then nothing happened). */
export function collectGarbage(): boolean {
  if (gc === undefined) {
    try {
      gc = (globalThis as { gc?: () => void }).gc ?? null;
      if (gc === null) {
        v8.setFlagsFromString('--expose-gc');
        gc = (vm.runInNewContext('gc') as (() => void) | undefined) ?? null;
      }
    } catch {
      gc = null;
    }
  }
  if (gc === null) return false;
  gc();
  return true;
}
