/** The most terms one search uses; later words are ignored. */
export const MAX_SEARCH_TERMS = 8;
/** The longest term kept (longer words are cut: a prefix still matches them). */
export const MAX_SEARCH_TERM_CHARS = 64;

/**
 * The terms of a search as every dialect reads them: runs of letters and digits (any script),
 * lowercased, each matching a word or a word's beginning; punctuation and operators are not
 * syntax, so user input can never change the query's shape. At most `MAX_SEARCH_TERMS`.
 */
export function searchTerms(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const terms: string[] = [];
  for (const word of words) {
    const term = word.slice(0, MAX_SEARCH_TERM_CHARS);
    if (!terms.includes(term)) terms.push(term);
    if (terms.length === MAX_SEARCH_TERMS) break;
  }
  return terms;
}

/**
 * Where the terms occur in `text`: [start, end) offsets in UTF-16 code units of each word
 * beginning that matches a term (case-insensitively, ignoring accents), in order, without
 * overlaps. The same for every database, so clients highlight one way.
 */
export function highlightRanges(text: string, terms: readonly string[]): [number, number][] {
  if (terms.length === 0) return [];
  const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
  const wanted = terms.map(fold);
  const ranges: [number, number][] = [];
  for (const match of text.matchAll(/[\p{L}\p{N}\p{M}]+/gu)) {
    const word = fold(match[0]);
    let best = 0;
    for (const term of wanted) if (term.length > best && word.startsWith(term)) best = term.length;
    if (best === 0) continue;
    // Map the folded prefix length back onto the original word.
    const start = match.index;
    let end = start;
    let folded = 0;
    for (const ch of match[0]) {
      if (folded >= best) break;
      folded += fold(ch).length;
      end += ch.length;
    }
    ranges.push([start, end]);
  }
  return ranges;
}
