/**
 * The API report (scripts/api-report.mjs, `npm run check:api`): api/ holds one report per entry
 * point of package.json `exports`, and the check fails, in one line naming the entry and what to
 * run, when the exports differ from it; no report names a type its entry does not export. Shown on
 * this package (it passes) and on a tiny fixture package: unchanged it passes, an added export or
 * a new entry fails, `--update` makes it pass again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './lib/cli.js';

const SCRIPT = path.join(ROOT, 'scripts', 'api-report.mjs');

function check(root: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [SCRIPT, '--root', root, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('every public entry has its report in api/, the reports match the built declarations, and none names a type its entry does not export', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
  // an entry file is public exactly when package.json exports it (the CLI may import only these)
  const entryFiles = fs.readdirSync(path.join(ROOT, 'src', 'entry')).filter((f) => f.endsWith('.ts')).map((f) => `./${f.replace(/\.ts$/, '')}`);
  const subpaths = Object.keys(pkg.exports).filter((k) => k !== '.' && k !== './package.json');
  assert.deepEqual(subpaths.sort(), entryFiles.sort(), 'src/entry/*.ts and the subpaths of package.json exports are the same set');
  const reports = fs.readdirSync(path.join(ROOT, 'api')).sort();
  assert.deepEqual(reports, ['afxdp.api.md', ...subpaths.map((s) => `afxdp-${s.slice(2)}.api.md`)].sort());
  const r = check(ROOT);
  assert.equal(r.status, 0, `npm run check:api failed:\n${r.stderr}`);
  assert.equal(r.stderr, '');
  // every type a public signature names can be named from that entry: no "forgotten export"
  for (const f of reports) {
    const forgotten = fs.readFileSync(path.join(ROOT, 'api', f), 'utf8').split('\n').filter((l) => l.includes('ae-forgotten-export'));
    assert.deepEqual(forgotten, [], `api/${f}`);
  }
});

test('a fixture package: unchanged passes; an added export fails in one line naming the entry and `npm run api:update`', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-api-fixture-'));
  try {
    const write = (f: string, text: string): void => {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), text);
    };
    write('package.json', JSON.stringify({
      name: 'fixture', version: '1.0.0', type: 'module',
      exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' }, './extra': { types: './dist/extra.d.ts', default: './dist/extra.js' }, './package.json': './package.json' },
    }));
    write('dist/index.d.ts', '/** Opens it. */\nexport declare function open(name: string): number;\n');
    write('dist/extra.d.ts', 'export declare const EXTRA = 1;\n');

    const first = check(dir);
    assert.equal(first.status, 1, 'no reports yet: the check fails');
    assert.match(first.stderr, /^check:api: the exports of 'fixture' differ from api\/fixture\.api\.md \(no such file\): run `npm run api:update`, review the diff and commit it$/m);

    const upd = check(dir, '--update');
    assert.equal(upd.status, 0, upd.stderr);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'api')).sort(), ['fixture-extra.api.md', 'fixture.api.md']);
    assert.match(fs.readFileSync(path.join(dir, 'api', 'fixture.api.md'), 'utf8'), /export function open\(name: string\): number;/);

    const same = check(dir);
    assert.deepEqual([same.status, same.stderr], [0, ''], 'unchanged declarations pass');

    // one added export in one entry: exactly one line, naming that entry and what to run
    fs.appendFileSync(path.join(dir, 'dist', 'extra.d.ts'), 'export declare function added(): void;\n');
    const changed = check(dir);
    assert.equal(changed.status, 1);
    assert.equal(changed.stderr, "check:api: the exports of 'fixture/extra' differ from api/fixture-extra.api.md: run `npm run api:update`, review the diff and commit it\n");
    assert.doesNotMatch(fs.readFileSync(path.join(dir, 'api', 'fixture-extra.api.md'), 'utf8'), /added/, 'the check itself writes no report');

    // an entry removed from package.json leaves a stale report: that fails too
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    delete pkg.exports['./extra'];
    write('package.json', JSON.stringify(pkg));
    const stale = check(dir);
    assert.equal(stale.status, 1);
    assert.match(stale.stderr, /^check:api: api\/fixture-extra\.api\.md reports an entry package\.json no longer exports: run `npm run api:update`/m);
    assert.equal(check(dir, '--update').status, 0);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'api')), ['fixture.api.md']);
    assert.equal(check(dir).status, 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
