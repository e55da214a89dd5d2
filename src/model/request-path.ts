/** A logged request URI without its query string (`/orders?x=1` -> `/orders`); '/' when nothing is left. */
export function pathWithoutQuery(uri: string): string {
  const q = uri.indexOf('?');
  const path = q === -1 ? uri : uri.slice(0, q);
  return path === '' ? '/' : path;
}
