/**
 * How long a built web file may be cached: a file name esbuild hashed (`<name>-<8 or more base32 characters>.<ext>`)
 * never changes, so a year; anything else (HTML, config.json) is revalidated on every load. The web hosting and the
 * local platform both apply it.
 */
export const HASHED = /-[A-Z0-9]{8,}\.(?:js|css)$/;
export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const REVALIDATE = 'no-cache';

export const cacheControlFor = (file: string): string => (HASHED.test(file) ? IMMUTABLE : REVALIDATE);
