/**
 * Avatar colours: a palette of twelve hues around the wheel (and a grey), each dark enough to
 * carry white text (at least 4.5:1), so two users' colours differ in hue, not in shade; and
 * the pick of one per user id. The pick hashes the whole id (FNV-1a, then a finaliser that
 * spreads ids differing in one character, `local:ann` and `local:amy`), so common names land
 * on different colours far more often than the old `hash * 31 % 8` did.
 */

/** The palette, in the order of the `.avatar-N` classes in avatar.css (a test keeps them equal). */
export const AVATAR_PALETTE: readonly string[] = [
  '#c92a2a', // red
  '#b04a00', // orange
  '#8a6100', // amber
  '#4f7a00', // olive
  '#237032', // green
  '#0b7285', // teal
  '#1864ab', // blue
  '#3b5bdb', // indigo
  '#6741d9', // violet
  '#862e9c', // purple
  '#c2255c', // pink
  '#495057', // grey
];

/** The palette index of a user id: the same for the same id, everywhere. */
export function avatarColour(userId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    h ^= userId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // murmur3's finaliser: every input bit moves every output bit.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % AVATAR_PALETTE.length;
}
