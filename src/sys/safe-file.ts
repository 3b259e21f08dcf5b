/**
 * Writing output files (reports, logs, captures) safely when afxdp runs as root:
 *  - never through a symlink (O_NOFOLLOW on a fresh temporary name, then rename over the target,
 *    so a planted link at the target is replaced, not followed);
 *  - never group/world-writable, whatever the umask (mode 0644 by default, 0600 on request);
 *  - atomic: readers see the old file or the whole new one, never half of it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { AfxdpError } from '../errors.js';

export interface SafeWriteOptions {
  /** permission bits; write bits for group/others are always removed. Default 0o644. */
  mode?: number;
}

export function writeFileSafe(file: string, data: string | Uint8Array, opts: SafeWriteOptions = {}): void {
  const mode = (opts.mode ?? 0o644) & 0o755 & ~0o022;
  const dir = path.dirname(path.resolve(file));
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(file);
  } catch {
    // does not exist yet: fine
  }
  if (st && !st.isFile() && !st.isSymbolicLink()) {
    throw new AfxdpError('EUSAGE', `${file} exists and is not a regular file`, { hint: 'choose another output path' });
  }
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, mode);
  } catch (e) {
    throw new AfxdpError('ESYS', `cannot write ${file}: ${(e as Error).message}`, { errno: (e as { errno?: number }).errno, hint: `check that ${dir} exists and is writable`, cause: e });
  }
  try {
    fs.fchmodSync(fd, mode); // the umask may have removed bits we want; never adds write for others
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw new AfxdpError('ESYS', `cannot write ${file}: ${(e as Error).message}`, { errno: (e as { errno?: number }).errno, hint: 'check free space', cause: e });
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}
