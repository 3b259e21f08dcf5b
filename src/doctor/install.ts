/**
 * Install doctor checks: which native addon this package runs (prebuilt or built from source),
 * and whether clang is there for the one job that needs it: compiling your own XDP programs.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { addonPath, native, PACKAGE_ROOT } from '../native.js';
import { finding, type Finding } from './finding.js';

function onPath(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, cmd))) return path.join(dir, cmd);
  }
  return null;
}

export function installFindings(): Finding[] {
  const out: Finding[] = [];
  const file = addonPath();
  native(); // throws ETOOL with the fix when it cannot load
  const rel = path.relative(PACKAGE_ROOT, file);
  const prebuilt = rel.startsWith(`prebuilds${path.sep}`);
  out.push(
    finding('install.addon', 'ok', 'native addon', prebuilt ? `prebuilt (${rel}: Node-API, libbpf/libelf/zlib linked in, needs glibc 2.33+)` : `built from source (${rel})`, { path: file, prebuilt }),
  );
  const clang = onPath('clang-19') ?? onPath('clang');
  out.push(
    clang
      ? finding('install.clang', 'ok', 'clang', `${clang}: compiles your own XDP programs against <afxdp/meta.h> (clang -O2 -g -target bpf -I${path.join(PACKAGE_ROOT, 'bpf', 'include')})`, clang)
      : finding('install.clang', 'ok', 'clang', `not found: afxdp needs none; only compiling your own XDP programs against <afxdp/meta.h> does (sudo apt-get install -y clang-19)`, null),
  );
  return out;
}
