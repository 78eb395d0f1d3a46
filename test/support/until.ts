/**
 * Waits until `pred` holds, checking every 20 ms, for conditions that no event announces (state
 * of another process, of Redis). Throws naming `what` after `timeoutMs`.
 */
export async function until(
  pred: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
