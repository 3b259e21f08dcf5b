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

/** Shape of errors thrown by the native addon: `err.errno` and `err.syscall` are set. */
export interface NativeError extends Error {
  errno?: number;
  syscall?: string;
  code?: string;
}

export function isNativeError(e: unknown): e is NativeError {
  return e instanceof Error && typeof (e as NativeError).errno === 'number';
}
