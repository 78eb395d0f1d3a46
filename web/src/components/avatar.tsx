/** Colours of avatars (classes avatar-0 … avatar-7 in styles.css), picked by user id. */
const COLOURS = 8;

/** A user's initial on a colour of their own (the same everywhere, for the same user id). */
export function Avatar({ userId, name }: { userId: string; name: string }) {
  let hash = 0;
  for (let i = 0; i < userId.length; i++) hash = (hash * 31 + userId.charCodeAt(i)) | 0;
  return (
    <span class={`avatar avatar-${Math.abs(hash) % COLOURS}`} aria-hidden="true">
      {(name.trim()[0] ?? '?').toUpperCase()}
    </span>
  );
}
