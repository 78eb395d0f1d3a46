import type { ChildProcess } from 'node:child_process';

/** How many lines a ProcessLog keeps, and how much of each. */
const KEEP_LINES = 200;
const LINE_CHARS = 300;

const LEVELS: Readonly<Record<number, string>> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** One kept line: its text without the time (to merge repeats), when it came first, how often. */
interface Line {
  readonly key: string;
  readonly time: string;
  count: number;
}

/**
 * The last lines a child process wrote (stdout and stderr), for the messages of failing chaos
 * checks. pino's JSON lines are shortened to `time level msg: err.message`, and a line that
 * repeats the one before (a flood while Redis is down) is counted on it. Lines matching
 * `quiet` (noise the test provokes on purpose) are counted, not kept.
 */
export class ProcessLog {
  readonly name: string;
  readonly #lines: Line[] = [];
  readonly #quiet: RegExp | undefined;
  #quieted = 0;

  constructor(name: string, child: ChildProcess, quiet?: RegExp) {
    this.name = name;
    this.#quiet = quiet;
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      stream?.on('data', (d: Buffer) => {
        const parts = (partial + d.toString()).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) this.#add(line);
      });
      stream?.on('end', () => {
        if (partial !== '') this.#add(partial);
      });
    }
  }

  /** The last `n` kept lines, each prefixed with the process's name. */
  tail(n = 40): string {
    const lines = this.#lines
      .slice(-n)
      .map((l) => `  [${this.name}] ${l.time}${l.key}${l.count > 1 ? ` (×${l.count})` : ''}`);
    const quieted = this.#quieted > 0 ? [`  [${this.name}] (${this.#quieted} expected lines not shown)`] : [];
    return [...lines, ...quieted].join('\n') || `  [${this.name}] (nothing written)`;
  }

  #add(raw: string): void {
    if (raw.trim() === '') return;
    if (this.#quiet?.test(raw) === true) {
      this.#quieted++;
      return;
    }
    const { key: full, time } = shorten(raw);
    const key = full.length > LINE_CHARS ? `${full.slice(0, LINE_CHARS)}…` : full;
    const last = this.#lines.at(-1);
    if (last?.key === key) {
      last.count++;
      return;
    }
    this.#lines.push({ key, time, count: 1 });
    if (this.#lines.length > KEEP_LINES) this.#lines.shift();
  }
}

function shorten(raw: string): { key: string; time: string } {
  if (!raw.startsWith('{')) return { key: raw, time: '' };
  try {
    const entry = JSON.parse(raw) as {
      level?: number;
      time?: number;
      msg?: string;
      err?: { message?: string };
    };
    const time = typeof entry.time === 'number' ? `${new Date(entry.time).toISOString().slice(11, 23)} ` : '';
    const level = LEVELS[entry.level ?? 0] ?? String(entry.level);
    const err = entry.err?.message === undefined ? '' : `: ${entry.err.message}`;
    return { key: `${level} ${entry.msg ?? ''}${err}`, time };
  } catch {
    return { key: raw, time: '' };
  }
}
