/**
 * `using` / `await using` need Symbol.dispose / Symbol.asyncDispose. Node 20.4+ and 22+ define
 * them; on an older Node 20 we install the same registered symbols Node's own polyfill uses,
 * so `[Symbol.asyncDispose]` on our classes works with TypeScript's downlevel `await using`.
 */
const S = Symbol as unknown as { dispose?: symbol; asyncDispose?: symbol };
if (S.dispose === undefined) Object.defineProperty(Symbol, 'dispose', { value: Symbol.for('nodejs.dispose') });
if (S.asyncDispose === undefined) Object.defineProperty(Symbol, 'asyncDispose', { value: Symbol.for('nodejs.asyncDispose') });

export {};
