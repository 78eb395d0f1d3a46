// Repeated errors of one source, logged once per interval with how many were left out: ioredis
// reports "Stream isn't writeable" for every command while Redis is down, many times a second.

/** Logs an error of a source (`what`); `suppressed` counts those of it not logged since the last. */
export type ErrorLog = (err: unknown, what: string, suppressed: number) => void;

/**
 * Wraps `log` so that each source (`what`) is logged at most once per `intervalMs`: the first
 * error at once, then the first after each interval has passed, with the number left out.
 */
export function throttleErrors(
  log: ErrorLog,
  intervalMs: number,
  now: () => number = Date.now,
): (err: unknown, what: string) => void {
  const sources = new Map<string, { loggedAt: number; suppressed: number }>();
  return (err, what) => {
    const t = now();
    const source = sources.get(what);
    if (source !== undefined && t - source.loggedAt < intervalMs) {
      source.suppressed += 1;
      return;
    }
    log(err, what, source?.suppressed ?? 0);
    sources.set(what, { loggedAt: t, suppressed: 0 });
  };
}
