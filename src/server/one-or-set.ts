/**
 * A collection that is usually of one: the item itself, or a Set from the second item on, so
 * that the common case (one connection per user) keeps no Set of one. Items must not be Sets.
 */
export type OneOrSet<T> = T | Set<T>;

/** `items` with `item` added: the item alone, or a Set from the second one on. */
export function withItem<T>(items: OneOrSet<T> | undefined, item: T): OneOrSet<T> {
  if (items === undefined || items === item) return item;
  if (items instanceof Set) return items.add(item);
  return new Set([items, item]);
}

/** `items` without `item`: undefined when none is left, the last one alone when one is. */
export function withoutItem<T>(items: OneOrSet<T> | undefined, item: T): OneOrSet<T> | undefined {
  if (!(items instanceof Set)) return items === item ? undefined : items;
  items.delete(item);
  const [left, more] = items;
  return more === undefined ? left : items;
}

/** The items, to iterate. */
export function itemsOf<T>(items: OneOrSet<T> | undefined): Iterable<T> {
  return items === undefined ? [] : items instanceof Set ? items : [items];
}

/** How many items. */
export function countOf<T>(items: OneOrSet<T> | undefined): number {
  return items === undefined ? 0 : items instanceof Set ? items.size : 1;
}
