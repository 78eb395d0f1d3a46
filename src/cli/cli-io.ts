/**
 * What a CLI command may touch of its process: the environment, line output and the stop
 * signals. `runCli` passes the real process; tests pass a recorder.
 */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Writes `line` and a newline to stdout. */
  out(line: string): void;
  /** Writes `line` and a newline to stderr. */
  err(line: string): void;
  /** Calls `listener` when the user asks the command to stop (SIGINT, SIGTERM); returns a disposer. */
  onStop(listener: () => void): () => void;
}

/** The `CliIo` of the running process. */
export function processIo(): CliIo {
  return {
    env: process.env,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    onStop(listener) {
      const handler = () => listener();
      process.on('SIGINT', handler);
      process.on('SIGTERM', handler);
      return () => {
        process.off('SIGINT', handler);
        process.off('SIGTERM', handler);
      };
    },
  };
}
