/**
 * afxdp/report — the `afxdp.report/1` document and what reads and writes it: build and check one
 * (buildReport), print it (renderTable), open an output file the way the CLI does
 * (openOutputFile), read saved runs and render or compare them (`afxdp report`), and the
 * calibration file that reports cite (`afxdp calibrate`).
 *
 *   import { readRunFile, compareRuns, renderComparisonHtml } from 'afxdp/report';
 */
export { buildReport, REPORT_SCHEMA, type ReportInput } from '../report/report.js';
export type * from '../report/types.js';
export { renderTable } from '../report/table.js';
export type { OutputOptions } from '../report/outputs.js';
export { openOutput as openOutputFile } from '../report/filebuf.js';
export { readRunFile, renderRunHtml, type RunSource } from '../report/runfile.js';
export { compareRuns, renderComparisonHtml, COMPARE_SCHEMA, type Comparison, type ComparedRun, type ComparedEnv, type ComparedPackets, type Distribution, type EnvField } from '../report/compare.js';
export { calibrationPath, loadCalibration, describeCalibration, CALIBRATION_SCHEMA } from '../report/calibration.js';
