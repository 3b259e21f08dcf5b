/**
 * The layering check (dependency-cruiser with .dependency-cruiser.cjs; docs/ARCHITECTURE.md): src/
 * passes it, and it fails on a small tree that breaks each rule, so it can fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './lib/cli.js';

const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

test('src/ keeps its layers: `npm run check:layers` passes', () => {
  const r = spawnSync('npm', ['run', '--silent', 'check:layers'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `the layering check failed:\n${r.stdout}${r.stderr}`);
});

/** Runs the project's rules on a tree of files. */
function cruise(files: Record<string, string>): { status: number | null; out: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-layers-'));
  try {
    fs.copyFileSync(path.join(ROOT, 'tsconfig.json'), path.join(dir, 'tsconfig.json'));
    for (const [f, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), text);
    }
    const r = spawnSync(process.execPath, [DEPCRUISE, 'src', '--config', CONFIG, '--output-type', 'err'], { cwd: dir, encoding: 'utf8' });
    return { status: r.status, out: r.stdout + r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// A tree that keeps every rule: the CLI → index.ts → api → xsk → errors.
const GOOD: Record<string, string> = {
  'src/errors.ts': 'export class AfxdpError extends Error {}\n',
  'src/xsk/socket.ts': "import { AfxdpError } from '../errors.js';\nexport const socket = (): AfxdpError => new AfxdpError();\n",
  'src/api/open.ts': "import { socket } from '../xsk/socket.js';\nexport const open = socket;\n",
  'src/index.ts': "export { open } from './api/open.js';\n",
  'src/cli/main.ts': "import { open } from '../index.js';\nimport { flag } from './args.js';\nexport const main = (): unknown => [open(), flag];\n",
  'src/cli/args.ts': "export const flag = 'x';\n",
};

test('the check passes on a tree that keeps the layers (so the failures below are the rules, not the setup)', () => {
  const r = cruise(GOOD);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /no dependency violations found \(6 modules/);
});

// One tree that breaks every rule once (one run of the tool, not one per rule: it takes seconds).
const BROKEN: Record<string, string> = {
  // the CLI imports an internal
  'src/cli/args.ts': "import { socket } from '../xsk/socket.js';\nexport const flag = socket;\n",
  // a cycle between two folders (through a type-only import: types count too)
  'src/rx/engine.ts': "import { render } from '../report/report.js';\nexport const engine = (): string => render();\n",
  'src/report/report.ts': "import type { engine } from '../rx/engine.js';\nexport const render = (): string => 'r';\nexport type E = typeof engine;\n",
  // a module cycle inside one folder
  'src/run/a.ts': "import { b } from './b.js';\nexport const a = (): number => b() + 1;\n",
  'src/run/b.ts': "import { a } from './a.js';\nexport const b = (): number => (a ? 1 : 0);\n",
  // a sideways import inside one layer
  'src/lab/lab.ts': "import { x } from '../doctor/doctor.js';\nexport const lab = x;\n",
  'src/doctor/doctor.ts': 'export const x = 1;\n',
  // a folder that is in no layer
  'src/util/u.ts': "import { open } from '../api/open.js';\nexport const u = open;\n",
  // the library imports a test helper
  'src/xsk/socket.ts': "import { h } from '../../test/lib/h.js';\nexport const socket = (): number => h;\n",
  'test/lib/h.ts': 'export const h = 1;\n',
  // explain/ imports another layer
  'src/explain/explain.ts': "import { AfxdpError } from '../errors.js';\nexport const e = AfxdpError;\n",
};

test('the check fails on a CLI import of an internal, a folder or module cycle, an upward, sideways or unlayered import', () => {
  const r = cruise({ ...GOOD, ...BROKEN });
  assert.notEqual(r.status, 0, `expected a failure:\n${r.out}`);
  for (const rule of [
    /error cli-uses-public-api: src\/cli\/args\.ts → src\/xsk\/socket\.ts/,
    /error layer-rx: src\/rx\/engine\.ts → src\/report\/report\.ts/,
    /error no-folder-cycle: src\/rx → \n\s+src\/report →\n\s+src\/rx\n/,
    /error no-circular: src\/(rx\/engine|report\/report)\.ts → \n/,
    /error no-circular: src\/run\/[ab]\.ts → \n\s+src\/run\/[ab]\.ts →\n/,
    /error layer-lab: src\/lab\/lab\.ts → src\/doctor\/doctor\.ts/,
    /error src-file-has-a-layer: src\/util\/u\.ts → src\/api\/open\.ts/,
    /error src-not-to-tests: src\/xsk\/socket\.ts → test\/lib\/h\.ts/,
    /error explain-standalone: src\/explain\/explain\.ts → src\/errors\.ts/,
  ]) {
    assert.match(r.out, rule);
  }
  assert.match(r.out, /x 10 dependency violations/, 'and nothing else');
});

test('the check fails when a face drives a receive engine, worker or channel instead of the receiver’s consume API', () => {
  const r = cruise({
    ...GOOD,
    'src/rx/engine.ts': 'export class RxEngine {}\n',
    'src/rx/channel.ts': 'export class BatchChannel {}\n',
    'src/rx/receiver.ts': "import { RxEngine } from './engine.js';\nexport const take = (): unknown => new RxEngine();\n",
    // fine: a face consumes through the receiver
    'src/run/sink.ts': "import { take } from '../rx/receiver.js';\nexport const sink = take;\n",
    // not fine: a face takes from an engine or a channel itself (a type-only import counts too)
    'src/api/poll.ts': "import { RxEngine } from '../rx/engine.js';\nexport const poll = (): unknown => new RxEngine();\n",
    'src/run/pump.ts': "import type { BatchChannel } from '../rx/channel.js';\nexport type C = BatchChannel;\n",
  });
  assert.notEqual(r.status, 0, `expected a failure:\n${r.out}`);
  assert.match(r.out, /error faces-consume-through-receiver: src\/api\/poll\.ts → src\/rx\/engine\.ts/);
  assert.match(r.out, /error faces-consume-through-receiver: src\/run\/pump\.ts → src\/rx\/channel\.ts/);
  assert.match(r.out, /x 2 dependency violations/, 'and nothing else: src/run/sink.ts through the receiver passes');
});
