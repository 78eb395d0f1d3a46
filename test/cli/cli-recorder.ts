import type { CliIo } from '../../src/cli/cli-io.js';

/** A `CliIo` that records what a command prints, for running `runCli` in-process. */
export interface CliRecorder extends CliIo {
  readonly stdout: string[];
  readonly stderr: string[];
}

/** A recorder with `env` as the whole environment. */
export function cliRecorder(env: Record<string, string> = {}): CliRecorder {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    env,
    stdout,
    stderr,
    out: (line) => stdout.push(line),
    err: (line) => stderr.push(line),
    onStop: () => () => {},
  };
}
