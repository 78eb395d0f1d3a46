import type { FilterAction } from '../store/moderation-store.js';

/** What a word filter made of a text. */
export interface FilterVerdict {
  /** `accept`: no filtered word; `mask`: some, all masked in `text`; `reject`: a rejected word. */
  readonly action: 'accept' | FilterAction;
  /** The text to store: the input, with masked words as `*`s (one per character). */
  readonly text: string;
  /** How many filtered words were found. */
  readonly matches: number;
  /**
   * The work done, in elementary steps (a character read, a character of a word looked up):
   * at most about three per character of the input, whatever the input and the lists.
   */
  readonly steps: number;
}

// A word is a run of letters, marks, digits and connector punctuation (`_`), in any script.
const WORD_CHAR = /[\p{L}\p{M}\p{N}\p{Pc}]/u;

/** The longest filtered word, in characters. */
export const MAX_FILTER_WORD = 100;

/**
 * The key a word is looked up by: NFKC-normalized (full-width and compatibility forms become
 * plain ones) and case-folded (upper then lower case, so `ß` and `SS` meet).
 */
export function foldWord(word: string): string {
  return word.normalize('NFKC').toUpperCase().toLowerCase();
}

/** Why `word` cannot be a filtered word, or undefined when it can: one word, 1–100 characters. */
export function filterWordProblem(word: string): string | undefined {
  const chars = [...word];
  if (chars.length === 0 || chars.length > MAX_FILTER_WORD) {
    return `a filtered word has 1–${MAX_FILTER_WORD} characters`;
  }
  if (!chars.every((c) => WORD_CHAR.test(c))) {
    return `"${word.slice(0, 40)}" is not one word (letters, marks, digits and _ only)`;
  }
  return undefined;
}

/**
 * A set of filtered words, matched whole-word, case-insensitively and in any script, in time
 * linear in the text: one pass splits the text into words (no backtracking of any kind), and
 * each word is looked up once in a hash map of the folded filtered words. A word both
 * rejected and masked by two lists is rejected.
 */
export class WordFilter {
  readonly #actions = new Map<string, FilterAction>();

  constructor(lists: readonly { readonly words: readonly string[]; readonly action: FilterAction }[]) {
    for (const list of lists) {
      for (const word of list.words) {
        const key = foldWord(word);
        if (this.#actions.get(key) !== 'reject') this.#actions.set(key, list.action);
      }
    }
  }

  /** True when there is no word to filter. */
  get empty(): boolean {
    return this.#actions.size === 0;
  }

  /** The text filtered: accepted as it is, masked, or rejected. */
  apply(text: string): FilterVerdict {
    let steps = 0;
    let matches = 0;
    let rejected = false;
    const parts: string[] = [];
    let copied = 0; // text before this index is in `parts`
    let start = -1; // where the current word began, or -1
    const endWord = (end: number) => {
      const word = text.slice(start, end);
      steps += word.length;
      const action = this.#actions.get(foldWord(word));
      if (action !== undefined) {
        matches++;
        if (action === 'reject') rejected = true;
        else {
          parts.push(text.slice(copied, start), '*'.repeat(countCodePoints(word)));
          copied = end;
        }
      }
      start = -1;
    };
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i) ?? 0;
      const width = cp > 0xffff ? 2 : 1;
      steps++;
      if (isWordChar(cp)) {
        if (start < 0) start = i;
      } else if (start >= 0) endWord(i);
      i += width;
    }
    if (start >= 0) endWord(text.length);
    if (rejected) return { action: 'reject', text, matches, steps };
    if (matches === 0) return { action: 'accept', text, matches, steps };
    parts.push(text.slice(copied));
    return { action: 'mask', text: parts.join(''), matches, steps };
  }
}

function isWordChar(cp: number): boolean {
  // ASCII without the regex: most text is.
  if (cp < 0x80) {
    return (
      (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) || cp === 0x5f
    );
  }
  return WORD_CHAR.test(String.fromCodePoint(cp));
}

function countCodePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++;
  }
  return n;
}
