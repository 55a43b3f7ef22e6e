/**
 * How long a built web file may be cached. A file whose name carries its content hash never changes, so a year:
 * the citizen pages' scripts and styles (esbuild: `<name>-<8 upper-case base32 characters>.<ext>`) and everything
 * Vite writes under `console/assets/`. Anything else (HTML, config.json) is revalidated on every load. The web hosting
 * and the local platform both apply it.
 */
export const HASHED = /(?:^|[/\\])console[/\\]assets[/\\]|-[A-Z0-9]{8}\.(?:js|css)$/;
export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const REVALIDATE = 'no-cache';

export const cacheControlFor = (file: string): string => (HASHED.test(file) ? IMMUTABLE : REVALIDATE);

/**
 * The console is a single-page app: a route such as `/console/alarms/01J…` has no file; it is answered with the
 * console's page, which then shows the route. Written once, plainly, because it runs in two places: as a CloudFront
 * Function in the cloud (its source is embedded there) and in the local platform's static server.
 */
export function consoleFallback(uri: string): string {
  if (uri !== '/console' && uri.indexOf('/console/') !== 0) return uri;
  return uri.slice(uri.lastIndexOf('/') + 1).indexOf('.') === -1 ? '/console/index.html' : uri;
}
