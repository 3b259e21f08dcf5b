/**
 * The layering check (dependency-cruiser; docs/ARCHITECTURE.md explains the layers).
 * Run it alone with `npm run check:layers`; test/layers.test.ts runs it in `npm test`.
 *
 * LAYERS lists src/ from the top down. A module may import its own folder and any folder of a
 * LOWER layer, never one of the same or a higher layer, so any folder cycle also breaks a layer
 * rule; no-folder-cycle names the cycle itself. Every file of src/ must belong to a layer (or to
 * explain/, which depends on nothing of ours and which any layer may use), so a new folder cannot
 * slip past the order.
 */
'use strict';

const LAYERS = [
  { name: 'entries', paths: ['src/index.ts', 'src/entry/'] },
  { name: 'faces', paths: ['src/run/', 'src/api/'] },
  { name: 'report', paths: ['src/report/'] },
  { name: 'engine', paths: ['src/rx/', 'src/lab/', 'src/doctor/'] },
  { name: 'xdp', paths: ['src/xdp/'] },
  { name: 'xsk', paths: ['src/xsk/', 'src/sys/'] },
  { name: 'base', paths: ['src/wire/', 'src/measure/', 'src/native.ts'] },
  { name: 'errors', paths: ['src/errors.ts'] },
];

const re = (paths) => `^(${paths.map((p) => p.replace(/\./g, '\\.') + (p.endsWith('/') ? '' : '$')).join('|')})`;
const ALL_LAYERED = LAYERS.flatMap((l) => l.paths);

/** One rule per folder: not up, not sideways. */
const layerRules = LAYERS.flatMap((layer, i) => {
  const above = LAYERS.slice(0, i).flatMap((l) => l.paths);
  return layer.paths.map((own) => {
    const sideways = layer.paths.filter((p) => p !== own);
    return {
      name: `layer-${own.replace(/^src\//, '').replace(/\/$/, '')}`,
      comment: `${own} may import only its own files and the layers below ${layer.name}: not ${[...above, ...sideways].join(', ') || '(nothing above)'}`,
      severity: 'error',
      from: { path: re([own]) },
      to: { path: re(['src/cli/', ...above, ...sideways]) },
    };
  });
});

/**
 * The faces consume a receiver through its one consume API (LatencyReceiver's take, release, wait
 * and watch: rx/consumer.ts), never by driving the receive engines, workers or their channels
 * themselves; a second consume loop in a face would drift from the receiver's.
 */
const consumeRules = [
  {
    name: 'faces-consume-through-receiver',
    comment: 'src/api/, src/cli/ and src/run/ consume batches through LatencyReceiver (take/release/wait/watch), not rx/engine, rx/worker or rx/channel',
    severity: 'error',
    from: { path: '^src/(api|cli|run)/' },
    to: { path: '^src/rx/(engine|worker|channel)\\.ts$' },
  },
];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'a module cycle: break it by moving the shared piece down a layer',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycle',
      comment: 'a cycle between folders of src/ (src/cli/commands counts as part of src/cli)',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/[^/]+$' },
      to: { path: '^src/[^/]+$', circular: true },
    },
    {
      name: 'cli-uses-public-api',
      comment: 'src/cli/ imports only the public entries (src/index.ts, src/entry/*.ts: the package.json exports) and its own files (export what it needs from an entry and document it in docs/API.md)',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/', pathNot: '^src/(cli/|index\\.ts$|entry/[^/]+\\.ts$)' },
    },
    {
      name: 'explain-standalone',
      comment: 'src/explain/ depends on nothing else of ours, so every layer may use it',
      severity: 'error',
      from: { path: '^src/explain/' },
      to: { path: '^src/', pathNot: '^src/explain/' },
    },
    {
      name: 'src-not-to-tests',
      comment: 'the library never imports test/ or bench/',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'src-file-has-a-layer',
      comment: 'every file of src/ belongs to a layer: add its folder to LAYERS in .dependency-cruiser.cjs',
      severity: 'error',
      from: { path: '^src/', pathNot: `${re(ALL_LAYERED)}|^src/(cli|explain)/` },
      to: {},
    },
    ...layerRules,
    ...consumeRules,
  ],
  options: {
    tsPreCompilationDeps: true, // type-only imports count: a type from a higher layer is still an upward edge
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
