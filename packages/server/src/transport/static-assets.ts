/**
 * @module The static-assets port of the HTTP surface: the built demo app (index.html plus the files under app/),
 * served at `/` and `/app/*` by whatever runtime adapter supplies the files (Node reads packages/server/demo; an
 * edge adapter can serve the same files from its own asset store). Pure: only path checks and content types.
 */

/** One file of the app as the adapter hands it over. */
export interface StaticAsset {
  readonly body: Uint8Array<ArrayBuffer> | string
  readonly contentType: string
}

/**
 * Looks up a file of the built app by its path relative to the app's root, e.g. `'index.html'` or
 * `'app/main.js'`; null when there is no such file. Paths reaching it have passed `assetPath` (no `..`, no
 * empty or hidden segments, only `[A-Za-z0-9._-]` characters).
 */
export type StaticAssets = (path: string) => Promise<StaticAsset | null>

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/
const MAX_SEGMENTS = 8

/**
 * The asset path for a request path under `/app/` (`/app/main-3F2A.js` → `app/main-3F2A.js`), or null when it is
 * not one the app can have: every segment is 1–128 characters of `[A-Za-z0-9._-]` that do not start with a dot
 * (so no `..`, no hidden files, no encoded separators), at most 8 segments.
 */
export function assetPath(requestPath: string): string | null {
  if (!requestPath.startsWith('/app/')) return null
  const segments = requestPath.slice(1).split('/')
  if (segments.length > MAX_SEGMENTS || !segments.every((s) => SEGMENT.test(s))) return null
  return segments.join('/')
}

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
  json: 'application/json; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  ico: 'image/x-icon',
  webmanifest: 'application/manifest+json',
  txt: 'text/plain; charset=utf-8',
}

/** The Content-Type for a file name by its extension; application/octet-stream for any other. */
export function contentTypeFor(path: string): string {
  const dot = path.lastIndexOf('.')
  return (dot >= 0 && CONTENT_TYPES[path.slice(dot + 1).toLowerCase()]) || 'application/octet-stream'
}
