/**
 * Avatar colours: a palette of dark colours that each carry white text (at least 4.5:1), and
 * the pick of one per user id. The pick hashes the whole id (FNV-1a, then a finaliser that
 * spreads ids differing in one character, `local:ann` and `local:amy`), so common names land
 * on different colours far more often than the old `hash * 31 % 8` did.
 */

/** The palette, in the order of the `.avatar-N` classes in avatar.css (a test keeps them equal). */
export const AVATAR_PALETTE: readonly string[] = [
  '#3b5bdb',
  '#0b7285',
  '#237032',
  '#c2255c',
  '#862e9c',
  '#5f3dc4',
  '#c92a2a',
  '#495057',
  '#1864ab',
  '#a61e4d',
  '#087f5b',
  '#9c3d0b',
  '#364fc7',
  '#6741d9',
  '#7a5c00',
  '#2b6b73',
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
