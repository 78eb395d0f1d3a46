import { highlight, segments } from '../text.js';

/** Message text as text nodes, with safe links and mentions; never as markup. */
export function RichText({ text, me }: { text: string; me: string }) {
  return (
    <>
      {segments(text, me).map((s, i) =>
        s.kind === 'link' ? (
          <a key={i} href={s.href} target="_blank" rel="noopener noreferrer nofollow ugc">
            {s.text}
          </a>
        ) : s.kind === 'mention' ? (
          <span key={i} class={s.me ? 'mention mention-me' : 'mention'}>
            {s.text}
          </span>
        ) : (
          s.text
        ),
      )}
    </>
  );
}

/** Text with `[start, end)` ranges marked (search results). */
export function Highlighted({
  text,
  ranges,
}: {
  text: string;
  ranges: readonly (readonly [number, number])[];
}) {
  return (
    <>
      {highlight(text, ranges).map((part, i) => (part.marked ? <mark key={i}>{part.text}</mark> : part.text))}
    </>
  );
}
