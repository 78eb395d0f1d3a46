import '../length-counter.css';

/** How near a text is to the server's length limit: shown from this share of it on. */
const SHOW_FROM = 0.9;

/** Whether `text` (as it would be sent: trimmed) is over `max` (0: no known limit). */
export function overLimit(text: string, max: number): boolean {
  return max > 0 && text.trim().length > max;
}

/**
 * The characters left before the server's limit, shown near it; over it, how many too many
 * (the composer then keeps the text and does not send it). Counted as the server counts:
 * UTF-16 code units of the trimmed text.
 */
export function LengthCounter({ text, max, id }: { text: string; max: number; id: string }) {
  const length = text.trim().length;
  if (max <= 0 || length < max * SHOW_FROM) return null;
  const left = max - length;
  return (
    <span id={id} class={`length-counter${left < 0 ? ' over' : ''}`} aria-live="polite">
      {left < 0 ? `${-left} characters too many (limit ${max})` : `${left} characters left`}
    </span>
  );
}
