import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A `parley` child process run from source, with its output split into lines. */
export class ParleyProcess {
  readonly child: ChildProcess;
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  /** Resolves with the exit code (or the signal's name) once the process ended and its output was read. */
  readonly exited: Promise<number | string>;
  readonly #events = new EventEmitter();

  constructor(args: readonly string[], env: Record<string, string>) {
    // A clean environment, so PARLEY_URL and friends of the developer's shell do not leak in.
    const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/parley.ts', ...args], {
      cwd: ROOT,
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = once(this.child, 'close').then(([code, signal]) => (code ?? signal) as number | string);
    this.#split(this.child.stdout, this.stdout, 'stdout');
    this.#split(this.child.stderr, this.stderr, 'stderr');
  }

  /** Waits until stdout holds at least `count` lines; returns them all. */
  async stdoutLines(count: number, timeoutMs = 15_000): Promise<string[]> {
    const signal = AbortSignal.timeout(timeoutMs);
    while (this.stdout.length < count) {
      try {
        await once(this.#events, 'stdout', { signal });
      } catch (err) {
        assert.fail(
          `wanted ${count} lines, got ${JSON.stringify(this.stdout)}; stderr: ${this.stderr.join('\n')} (${err})`,
        );
      }
    }
    return this.stdout;
  }

  /** Waits for a stderr line containing `text`. */
  async stderrLine(text: string, timeoutMs = 15_000): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    while (!this.stderr.some((line) => line.includes(text))) await once(this.#events, 'stderr', { signal });
  }

  #split(stream: NodeJS.ReadableStream | null, lines: string[], event: string): void {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts);
      this.#events.emit(event);
    });
  }
}

/** Runs `parley args…` to its end; resolves with its exit code and output lines. */
export async function runParley(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ readonly code: number | string; readonly stdout: string[]; readonly stderr: string[] }> {
  const parley = new ParleyProcess(args, env);
  const code = await parley.exited;
  return { code, stdout: parley.stdout, stderr: parley.stderr };
}
