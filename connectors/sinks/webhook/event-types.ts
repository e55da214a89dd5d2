/** An endpoint's `types`: exact event types, or prefixes ending in `*` (`com.shop.order*`); null takes every type. */
export function takesType(types: readonly string[] | null | undefined, type: string): boolean {
  return !types || types.some((t) => t === type || (t.endsWith('*') && type.startsWith(t.slice(0, -1))));
}
