/** What every command gets from main: global flags and the stop signal (first Ctrl-C / SIGTERM). */
export interface CliContext {
  debug: boolean;
  /** aborted on the first SIGINT/SIGTERM: commands finish gracefully and still report */
  signal: AbortSignal;
}
