import { avatarColour } from '../avatar-colour.js';
import '../avatar.css';

/** A user's initial on a colour of their own (the same everywhere, for the same user id). */
export function Avatar({ userId, name }: { userId: string; name: string }) {
  return (
    <span class={`avatar avatar-${avatarColour(userId)}`} aria-hidden="true">
      {(name.trim()[0] ?? '?').toUpperCase()}
    </span>
  );
}
