#!/usr/bin/env node
/**
 * The API report: one file per package entry point (package.json `exports` with `types`), written
 * by API Extractor from the built declarations (dist/), kept in api/ and reviewed like code.
 *
 *   node scripts/api-report.mjs            check: fails, one line per entry, when an entry's
 *                                          exports differ from its report (`npm run check:api`)
 *   node scripts/api-report.mjs --update   write the reports (`npm run api:update`)
 *   --root DIR                             another package (the test's fixture); default: this one
 *
 * Reads only local files, so it works offline after `npm ci` and a build.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Extractor, ExtractorConfig, ExtractorLogLevel } from '@microsoft/api-extractor';

const SELF_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({ options: { update: { type: 'boolean', default: false }, root: { type: 'string', default: SELF_ROOT } }, strict: true });
const root = path.resolve(opt.root);
const pkgFile = path.join(root, 'package.json');
const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
const reportDir = path.join(root, 'api');
const fail = (line) => {
  process.stderr.write(`check:api: ${line}\n`);
  process.exitCode = 1;
};

/** `.` → afxdp, `./lab` → afxdp-lab: the report's file name without `.api.md` */
const reportName = (subpath) => [pkg.name, ...subpath.replace(/^\.\/?/, '').split('/').filter(Boolean)].join('-');
const entries = Object.entries(pkg.exports ?? {})
  .filter(([, target]) => typeof target === 'object' && target !== null && typeof target.types === 'string')
  .map(([subpath, target]) => ({ name: subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`, report: reportName(subpath), dts: path.join(root, target.types) }));

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-api-'));
try {
  if (opt.update) fs.mkdirSync(reportDir, { recursive: true });
  for (const e of entries) {
    if (!fs.existsSync(e.dts)) {
      fail(`${path.relative(root, e.dts)} (the types of '${e.name}') is missing: run \`npm run build:ts\` first`);
      continue;
    }
    const config = ExtractorConfig.prepare({
      configObjectFullPath: path.join(root, 'api-extractor.json'), // not read: where relative paths start
      packageJsonFullPath: pkgFile,
      configObject: {
        projectFolder: root,
        mainEntryPointFilePath: e.dts,
        newlineKind: 'lf',
        compiler: {
          overrideTsconfig: {
            compilerOptions: {
              target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2024'], strict: true, skipLibCheck: true,
              // Node's types when the package has them (the fixture of the test does not: faster)
              typeRoots: [path.join(root, 'node_modules', '@types')],
              types: fs.existsSync(path.join(root, 'node_modules', '@types', 'node')) ? ['node'] : [],
            },
            files: [e.dts],
          },
        },
        apiReport: { enabled: true, reportFileName: e.report, reportFolder: reportDir, reportTempFolder: temp },
        docModel: { enabled: false },
        dtsRollup: { enabled: false },
        tsdocMetadata: { enabled: false },
        messages: {
          compilerMessageReporting: { default: { logLevel: 'error' } },
          // the report records a type an entry uses but does not export (users cannot name it)
          extractorMessageReporting: { default: { logLevel: 'none' }, 'ae-forgotten-export': { logLevel: 'none', addToApiReportFile: true } },
          // doc comments here are prose, not TSDoc
          tsdocMessageReporting: { default: { logLevel: 'none' } },
        },
      },
    });
    const errors = [];
    const result = Extractor.invoke(config, {
      localBuild: opt.update,
      messageCallback: (m) => {
        if (m.logLevel === ExtractorLogLevel.Error && m.messageId !== 'console-api-report-changed' && m.messageId !== 'console-api-report-missing') errors.push(m.text);
        m.handled = true; // one line per entry below, not API Extractor's log
      },
    });
    const file = `api/${e.report}.api.md`;
    if (errors.length > 0) fail(`cannot analyse the declarations of '${e.name}': ${errors[0].split('\n')[0]}`);
    else if (opt.update) process.stdout.write(`${result.apiReportChanged ? 'updated' : 'unchanged'} ${file}\n`);
    else if (result.apiReportChanged) {
      fail(`the exports of '${e.name}' differ from ${file}${fs.existsSync(path.join(root, file)) ? '' : ' (no such file)'}: run \`npm run api:update\`, review the diff and commit it`);
    }
  }
  // a report whose entry is gone
  const expected = new Set(entries.map((e) => `${e.report}.api.md`));
  for (const f of fs.existsSync(reportDir) ? fs.readdirSync(reportDir) : []) {
    if (!f.endsWith('.api.md') || expected.has(f)) continue;
    if (opt.update) {
      fs.rmSync(path.join(reportDir, f));
      process.stdout.write(`removed api/${f}\n`);
    } else fail(`api/${f} reports an entry package.json no longer exports: run \`npm run api:update\`, review the diff and commit it`);
  }
} finally {
  fs.rmSync(temp, { recursive: true, force: true });
}
