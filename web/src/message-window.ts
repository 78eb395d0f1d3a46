/**
 * Which messages of a long channel are in the DOM: a window of at most `WINDOW_SIZE`
 * consecutive messages around what the reader looks at, the rest stood in for by two spacers
 * whose heights are the measured (or, never drawn, the average) heights of what they replace.
 * The window is held by the seq of its last message, so messages loaded before it (paging
 * back) or after it move no one's place; `undefined` means "ending at the latest".
 */

/** Messages in the DOM at most. */
export const WINDOW_SIZE = 100;
/** The window moves once the reader is this many messages from its edge. */
export const WINDOW_MARGIN = 20;

/** The window's `[start, end)` indices in `count` messages whose first has seq `firstSeq`. */
export function windowRange(
  count: number,
  firstSeq: number,
  endSeq: number | undefined,
): { readonly start: number; readonly end: number } {
  const end = endSeq === undefined ? count : Math.min(count, Math.max(0, endSeq - firstSeq + 1));
  const full = Math.min(count, WINDOW_SIZE);
  const fixedEnd = Math.max(end, full);
  return { start: Math.max(0, fixedEnd - WINDOW_SIZE), end: fixedEnd };
}

/**
 * Where the window should end so that the visible messages (indices `first`…`last`) sit well
 * inside it, or null when it may stay. Returns an end index (`count`: the latest).
 */
export function nextWindowEnd(
  count: number,
  range: { readonly start: number; readonly end: number },
  first: number,
  last: number,
): number | null {
  const nearTop = range.start > 0 && first - range.start < WINDOW_MARGIN;
  const nearBottom = range.end < count && range.end - 1 - last < WINDOW_MARGIN;
  if (!nearTop && !nearBottom) return null;
  // Centre the window on what is visible.
  const middle = Math.floor((first + last) / 2);
  const end = Math.min(count, Math.max(Math.min(count, WINDOW_SIZE), middle + WINDOW_SIZE / 2));
  return end === range.end ? null : end;
}

/** The height of messages `[from, to)`: measured ones as measured, the others at the average. */
export function spacerHeight(
  seqs: readonly number[],
  from: number,
  to: number,
  heights: ReadonlyMap<number, number>,
): number {
  let sum = 0;
  let measured = 0;
  for (const h of heights.values()) {
    sum += h;
    measured++;
  }
  const average = measured === 0 ? 48 : sum / measured;
  let total = 0;
  for (let i = from; i < to; i++) total += heights.get(seqs[i] as number) ?? average;
  return Math.round(total);
}
