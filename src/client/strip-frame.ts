/** A frame without its `type` and `ref`: the DTO the SDK hands out. */
export function stripFrame<F extends { readonly type: string; readonly ref?: unknown }>(
  frame: F,
): Omit<F, 'type' | 'ref'> {
  const { type: _type, ref: _ref, ...rest } = frame;
  return rest;
}
