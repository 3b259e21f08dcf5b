/**
 * Nothing public goes untested: every CLI flag (read from the commands' commander definitions)
 * and every runtime export of the public entries (src/index.ts, src/entry/*.ts), with the public
 * members of its classes that docs/API.md documents, must be used by some test. The test sources are parsed with the
 * TypeScript compiler (comments do not count): a flag counts when it is a string in an argv array
 * literal of its command (`['latency', '--port', '9', …]`, or an array nested in one), or in a
 * command-less array of a test (or of a helper the test calls, such as `cliArgs(c)`) that runs
 * exactly one command; an export when its name appears in test code or in the CLI's (src/cli, which
 * the CLI tests run end to end), a member when some test code reads `.member`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { createProgram } from '../src/cli/main.js';
import { ROOT } from './lib/cli.js';

const TEST_DIR = path.join(ROOT, 'test');
const CLI_DIR = path.join(ROOT, 'src', 'cli');
const SELF = 'coverage.test.ts';

function testSources(dir = TEST_DIR): ts.SourceFile[] {
  const out: ts.SourceFile[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...testSources(p));
    else if (e.name.endsWith('.ts') && e.name !== SELF) out.push(ts.createSourceFile(p, fs.readFileSync(p, 'utf8'), ts.ScriptTarget.Latest, true));
  }
  return out;
}

interface Uses {
  /** command name → flags found in its argv literals */
  flags: Map<string, Set<string>>;
  /** every identifier in code */
  identifiers: Set<string>;
  /** every name read as `x.name` */
  properties: Set<string>;
}

function collectUses(files: ts.SourceFile[], commands: Set<string>): Uses {
  const uses: Uses = { flags: new Map(), identifiers: new Set(), properties: new Set() };
  const addFlags = (cmd: string, flags: Iterable<string>): void => {
    const set = uses.flags.get(cmd) ?? new Set<string>();
    for (const f of flags) set.add(f);
    uses.flags.set(cmd, set);
  };
  for (const file of files) {
    // per scope (a named function of this file, or one test(...) call): the commands its argv
    // literals run, the flags of its command-less arrays, the file's functions it calls
    interface Scope { commands: Set<string>; loose: Set<string>; calls: Set<string> }
    const newScope = (): Scope => ({ commands: new Set(), loose: new Set(), calls: new Set() });
    const functions = new Map<string, Scope>();
    const tests: Scope[] = [];
    const visit = (n: ts.Node, cmd: string | undefined, scope: Scope): void => {
      if (ts.isIdentifier(n)) uses.identifiers.add(n.text);
      if (ts.isPropertyAccessExpression(n)) uses.properties.add(n.name.text);
      if (ts.isFunctionDeclaration(n) && n.name) {
        functions.set(n.name.text, (scope = newScope()));
      } else if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer && (ts.isArrowFunction(n.initializer) || ts.isFunctionExpression(n.initializer))) {
        functions.set(n.name.text, (scope = newScope()));
      } else if (ts.isCallExpression(n) && ts.isIdentifier(n.expression)) {
        if (n.expression.text === 'test' || n.expression.text === 'it') tests.push((scope = newScope()));
        else scope.calls.add(n.expression.text);
      }
      if (ts.isArrayLiteralExpression(n)) {
        const strings = n.elements.filter(ts.isStringLiteralLike).map((e) => e.text);
        const own = strings.find((s) => !s.startsWith('-'));
        if (own !== undefined && commands.has(own)) {
          cmd = own;
          scope.commands.add(own);
        }
        const flags = strings.filter((s) => /^--?[a-z]/i.test(s)).map((s) => s.split('=')[0]!);
        addFlags('', flags);
        if (cmd !== undefined) addFlags(cmd, flags);
        else for (const f of flags) scope.loose.add(f);
      }
      ts.forEachChild(n, (c) => visit(c, cmd, scope));
    };
    const top = newScope();
    visit(file, undefined, top);
    // a scope's commands and loose flags include those of the functions it calls, transitively
    const closure = (s: Scope, seen = new Set<Scope>()): Scope => {
      const out: Scope = { commands: new Set(s.commands), loose: new Set(s.loose), calls: s.calls };
      seen.add(s);
      for (const name of s.calls) {
        const f = functions.get(name);
        if (!f || seen.has(f)) continue;
        const c = closure(f, seen);
        for (const x of c.commands) out.commands.add(x);
        for (const x of c.loose) out.loose.add(x);
      }
      return out;
    };
    // flags in an array handed to a helper (`demoJson(cliArgs(c))`, `measure(pair, ['--all'])`)
    // count for the command the test runs, if it runs only one (else it is unclear which)
    for (const t of [...tests, top]) {
      const c = closure(t);
      if (c.commands.size === 1) addFlags([...c.commands][0]!, c.loose);
    }
  }
  return uses;
}

/** The runtime exports of the public entries (src/index.ts, src/entry/*.ts) and, per exported class, its public members named in docs/API.md. */
function publicSurface(): { exports: string[]; members: Map<string, string[]> } {
  const entryDir = path.join(ROOT, 'src', 'entry');
  const entries = [path.join(ROOT, 'src', 'index.ts'), ...fs.readdirSync(entryDir).filter((f) => f.endsWith('.ts')).map((f) => path.join(entryDir, f))];
  const program = ts.createProgram(entries, { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, skipLibCheck: true, noEmit: true, types: [] });
  const checker = program.getTypeChecker();
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'API.md'), 'utf8');
  // a member is documented when its class's section of docs/API.md names it in code (`…name…`)
  const section = (cls: string): string => {
    const lines = doc.split('\n');
    const start = lines.findIndex((l) => new RegExp(`^#{2,3} .*\\b${cls}\\b`).test(l));
    if (start < 0) return '';
    const level = /^#+/.exec(lines[start]!)![0].length;
    const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && /^#+/.exec(l)![0].length <= level);
    return lines.slice(start, end < 0 ? undefined : end).join('\n');
  };
  const exports: string[] = [];
  const members = new Map<string, string[]>();
  for (const sym of entries.flatMap((f) => checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(f)!)!))) {
    if (exports.includes(sym.name)) continue;
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    if (!(target.flags & ts.SymbolFlags.Value)) continue; // types have no behaviour to exercise
    exports.push(sym.name);
    if (!(target.flags & ts.SymbolFlags.Class)) continue;
    const decl = target.valueDeclaration as ts.ClassDeclaration;
    const names = new Set<string>();
    const text = section(sym.name);
    const documented = (name: string): boolean => new RegExp(`\`[^\`\\n]*\\b${name}\\b[^\`\\n]*\``).test(text);
    const add = (m: ts.Symbol): void => {
      const d = m.valueDeclaration ?? m.declarations?.[0];
      if (!d || m.name.startsWith('__') || m.name === 'prototype') return;
      const mods = ts.getCombinedModifierFlags(d as ts.Declaration);
      if (mods & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected) || ts.isPrivateIdentifier((d as ts.NamedDeclaration).name ?? d)) return;
      if (documented(m.name)) names.add(m.name);
    };
    for (const m of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(target))) add(m);
    for (const m of checker.getPropertiesOfType(checker.getTypeOfSymbolAtLocation(target, decl))) add(m);
    members.set(sym.name, [...names].sort());
  }
  return { exports, members };
}

test('every CLI flag, every public export and every documented class member is used by a test', () => {
  const cli = createProgram(() => ({ debug: false, signal: new AbortController().signal }));
  const commands = new Set(cli.commands.map((c) => c.name()));
  const uses = collectUses(testSources(), commands);
  const missing: string[] = [];

  for (const o of cli.options) if (o.long && !uses.flags.get('')?.has(o.long)) missing.push(`afxdp ${o.long}`);
  for (const c of cli.commands) {
    const used = uses.flags.get(c.name()) ?? new Set<string>();
    for (const o of c.options) {
      const flag = o.long ?? o.short!;
      if (!used.has(flag)) missing.push(`afxdp ${c.name()} ${flag}`);
    }
  }
  const { exports, members } = publicSurface();
  assert.ok(exports.length > 20 && commands.size >= 7, `found the surface (${exports.length} exports, ${commands.size} commands)`);
  // an export the CLI calls (it may import only the public entries) runs in every CLI test of that path
  const cliUses = collectUses(testSources(CLI_DIR), commands).identifiers;
  for (const name of exports) if (!uses.identifiers.has(name) && !cliUses.has(name)) missing.push(`export ${name}`);
  for (const [cls, names] of members) {
    for (const m of names) if (!uses.properties.has(m)) missing.push(`${cls}.${m}`);
  }
  assert.deepEqual(missing, [], `not used by any test (add an end-to-end test that shows its effect):\n  ${missing.join('\n  ')}`);
});

test('the scan attributes flags to their command and sees through helpers and comments', () => {
  const src = (text: string): ts.SourceFile => ts.createSourceFile('x.test.ts', text, ts.ScriptTarget.Latest, true);
  const uses = collectUses(
    [
      src(`
        function args(): string[] { return ['--clock', 'tai']; }
        function latencyJson(extra: string[]) { return runCli(['latency', '--json', ...extra]); }
        test('a', () => latencyJson(args()));
        test('b', () => runCli(['gen', '--queue', '1', ...(x ? ['--batch', '8'] : [])]));
        // runCli(['demo', '--packets', '5'])
        test('c', () => { runCli(['demo', '--rate', '1']); runCli(['latency', '--port', '9']); helper(['--mode', 'native']); });
        sock.offBatch();`),
    ],
    new Set(['demo', 'latency', 'gen']),
  );
  assert.deepEqual([...uses.flags.get('latency')!].sort(), ['--clock', '--json', '--port']);
  assert.deepEqual([...uses.flags.get('gen')!].sort(), ['--batch', '--queue']);
  assert.deepEqual([...uses.flags.get('demo')!], ['--rate'], 'not --packets (a comment), not --mode (test c runs two commands)');
  assert.ok(uses.properties.has('offBatch'));
});
