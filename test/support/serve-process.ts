import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('./parley-bin.ts', import.meta.url));

/** A `parley` child process run from source with tsx. */
export function spawnParley(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, PARLEY_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A `parley serve` process and the port it listens on. */
export interface ServeProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  /** Resolves with the exit code (or signal name) once the process ends. */
  readonly exited: Promise<number | string>;
  /** What the process wrote to stderr so far (for assertion messages). */
  stderr(): string;
}

/** Starts `parley serve` on 127.0.0.1 and a free port; resolves once it listens. */
export async function startServeProcess(
  args: readonly string[],
  env: Record<string, string>,
): Promise<ServeProcess> {
  const child = spawnParley(['serve', '--host', '127.0.0.1', '--port', '0', ...args], env);
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`parley serve did not start: ${err}`)), 20_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`parley serve exited (${code}): ${err}`));
    });
  });
  return { child, port, url: `ws://127.0.0.1:${port}/ws`, exited, stderr: () => err };
}
