#!/usr/bin/env node
// npm "install" script. The package ships prebuilt binaries (prebuilds/: the Node-API addon for
// linux-x64 and linux-arm64, the BPF objects), so this script usually has nothing to do and the
// package works with `npm install --ignore-scripts` too. When no prebuilt addon fits this machine
// (another architecture, musl, glibc older than 2.33) or `npm install --build-from-source` asks for it,
// it builds the addon and the BPF objects with `make` (cc + clang).
// Checks the tools and headers first so a missing system package is ONE clear line naming the
// Debian packages and the command that installs them, not a page of compiler errors.
// Plain JS (not TypeScript): it runs before anything is compiled.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (line) => process.stderr.write(`afxdp: ${line}\n`);

/** true when node-gyp-build finds an addon for this machine and it loads (the same choice src/native.ts makes) */
function prebuiltLoads() {
  if (process.env.npm_config_build_from_source === 'true') return false;
  if (!existsSync(path.join(root, 'prebuilds', 'bpf', 'stamp.bpf.o'))) return false;
  try {
    const require = createRequire(import.meta.url);
    require(require('node-gyp-build').path(root));
    return true;
  } catch {
    return false;
  }
}
if (prebuiltLoads()) process.exit(0);

if (process.platform !== 'linux') {
  say(`cannot build: AF_XDP exists only on Linux (this is ${process.platform})`);
  process.exit(1);
}

function onPath(cmd) {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, cmd)));
}

const arch = spawnSync('uname', ['-m'], { encoding: 'utf8' }).stdout?.trim() || process.arch;
const multiarch = `/usr/include/${arch === 'aarch64' || arch === 'arm64' ? 'aarch64' : arch === 'x64' ? 'x86_64' : arch}-linux-gnu`;

// [what is needed, Debian package that provides it, present?]
const needs = [
  ['make', 'make', () => onPath('make')],
  ['a C compiler (cc)', 'gcc', () => onPath('cc') || onPath('gcc')],
  ['clang (BPF target)', 'clang-19', () => onPath('clang-19') || onPath('clang')],
  ['libbpf headers', 'libbpf-dev', () => existsSync('/usr/include/bpf/libbpf.h')],
  ['libelf headers', 'libelf-dev', () => existsSync('/usr/include/libelf.h') || existsSync('/usr/include/gelf.h')],
  ['zlib headers', 'zlib1g-dev', () => existsSync('/usr/include/zlib.h')],
  ['kernel uapi headers', 'linux-libc-dev', () => existsSync(path.join(multiarch, 'asm', 'types.h')) || existsSync('/usr/include/asm/types.h')],
];
const missing = needs.filter(([, , ok]) => !ok());
if (missing.length > 0) {
  const pkgs = missing.map(([, pkg]) => pkg);
  say(
    `cannot build the native addon and BPF programs: missing ${missing.map(([what]) => what).join(', ')} ` +
      `(install them with: sudo apt-get install -y ${pkgs.join(' ')}; then run npm install again)`,
  );
  process.exit(1);
}

const r = spawnSync('make', ['-s', '-C', root, 'package', 'WERROR='], { stdio: ['ignore', 'inherit', 'inherit'] });
if (r.error || r.status !== 0) {
  say(`building the native addon / BPF programs failed (${r.error ? r.error.message : `make exit status ${r.status}`}; the compiler output is above; needed: clang-19 libbpf-dev libelf-dev zlib1g-dev make gcc)`);
  process.exit(1);
}
