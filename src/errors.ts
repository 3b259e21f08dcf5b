/**
 * One error type for everything afxdp throws on purpose. `message` is one line that says what
 * failed and why; `hint` says what to do. The CLI prints `afxdp: <message> (<hint>)` and never a
 * stack trace unless --debug.
 */
export type AfxdpErrorCode =
  | 'EUSAGE' // bad argument or flag (CLI exit 2)
  | 'ESYS' // a system call failed (errno set)
  | 'EBPF' // a BPF object could not be opened / loaded / attached
  | 'EVERIFIER' // the verifier rejected a program (log attached)
  | 'ENOIFACE' // interface not found
  | 'ENOQUEUE' // queue not present on the interface
  | 'EBUSY' // something else already holds the resource (e.g. another XDP program)
  | 'ECLOSED' // use after close
  | 'ESTATE' // called in the wrong state (e.g. releasing a batch twice)
  | 'ELAB' // the test lab could not be built
  | 'EPERM' // missing privileges / capabilities
  | 'EBROKER' // the broker (afxdp serve) is not reachable, refused, went away or speaks another protocol
  | 'ETOOL' // an external command failed or is missing
  | 'EHANDLER'; // a handler module (open({ handler })) could not be loaded or threw

export class AfxdpError extends Error {
  override readonly name = 'AfxdpError';
  readonly code: AfxdpErrorCode;
  readonly errno: number | undefined;
  readonly hint: string | undefined;
  /** Extra payload, e.g. the verifier log for EVERIFIER. */
  readonly detail: string | undefined;

  constructor(code: AfxdpErrorCode, message: string, opts: { errno?: number; hint?: string; detail?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.errno = opts.errno;
    this.hint = opts.hint;
    this.detail = opts.detail;
  }

  /** The one line the CLI prints. */
  oneLine(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }
}

/**
 * The one refusal of an unknown option name: `<where>: unknown option "x" (did you mean "y"?)`,
 * the known names in the hint. `aliases` maps another face's spelling to this one's (open()'s
 * `iface` is runLatency()'s `ifname`); else the nearest known name by edit distance, if close.
 */
export function unknownOption(where: string, name: string, known: readonly string[], aliases: Readonly<Record<string, string>> = {}): AfxdpError {
  const guess = Object.hasOwn(aliases, name) ? aliases[name]! : nearest(name, known);
  const q = JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name);
  return new AfxdpError('EUSAGE', `${where}: unknown option ${q}${guess === null ? '' : ` (did you mean ${JSON.stringify(guess)}?)`}`, {
    hint: `the options are ${known.join(', ')}`,
  });
}

/** The known name nearest to `name` (case-insensitive Levenshtein) when at most a third of it differs, else null. */
export function nearest(name: string, known: readonly string[]): string | null {
  // a 12-line edit distance rather than a dependency: commander has one for the CLI's flags but does not export it
  const a = name.toLowerCase();
  let best: string | null = null;
  let bestD = Math.max(1, Math.floor(a.length / 3)) + 1;
  for (const k of known) {
    const b = k.toLowerCase();
    if (Math.abs(a.length - b.length) >= bestD) continue;
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const cur = [i];
      for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
    const d = prev[b.length]!;
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

/**
 * How a face spells the CLI's flags: `'--queue': 'queue'` (`--queue 0` reads `queue: 0`), or
 * `['outputs.html', false]` for a flag whose next word is not its value (a path stays as it is).
 */
export type Spelling = Readonly<Record<string, string | readonly [name: string, takesValue: boolean]>>;

/**
 * The lower layers name the CLI's flags in their messages and hints (`use --queue 0..3`); a face
 * with other names (open(), runLatency()) passes what it throws through here so its user reads
 * its own spelling (`use queue: 0..3`). Flags the table does not know stay as they are.
 */
export function respell(e: unknown, spelling: Spelling): unknown {
  if (!(e instanceof AfxdpError)) return e;
  const message = respellText(e.message, spelling);
  const hint = e.hint === undefined ? undefined : respellText(e.hint, spelling);
  if (message === e.message && hint === e.hint) return e;
  const out = new AfxdpError(e.code, message, { errno: e.errno, hint, detail: e.detail, cause: e.cause });
  out.stack = e.stack;
  return out;
}

function respellText(text: string, spelling: Spelling): string {
  return text.replace(/(?<![\w-])--([a-z][a-z-]*)(?: ([\w.]+))?/g, (all: string, flag: string, value: string | undefined) => {
    const entry = Object.hasOwn(spelling, `--${flag}`) ? spelling[`--${flag}`]! : undefined;
    if (entry === undefined) return all;
    const [name, takesValue] = typeof entry === 'string' ? [entry, true] : entry;
    if (value === undefined || !takesValue) return value === undefined ? name : `${name} ${value}`;
    return `${name}: ${/^[\d.]+$/.test(value) || value === 'true' || value === 'false' ? value : `'${value}'`}`;
  });
}

/** Shape of errors thrown by the native addon: `err.errno` and `err.syscall` are set. */
export interface NativeError extends Error {
  errno?: number;
  syscall?: string;
  code?: string;
}

export function isNativeError(e: unknown): e is NativeError {
  return e instanceof Error && typeof (e as NativeError).errno === 'number';
}
