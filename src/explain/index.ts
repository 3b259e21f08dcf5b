/** The verifier explainer: parse a verifier log, classify the rejection, say why and how to fix it. */
export { explainLog, renderExplanation, oneLineExplanation, EXPLAIN_SCHEMA, type Explanation, type ExplainOptions } from './explain.js';
export { CLASSES, classById, type VerifierClass } from './classes.js';
export { parseVerifierLog, type ParsedLog } from './log.js';
export { decodeCtxAccess, ctxLayout } from './ctx.js';
export { PROG_TYPES, inferProgType, progTypeFromKernel, type ProgType } from './progtype.js';
export { helperById, type Helper } from './helpers.js';
