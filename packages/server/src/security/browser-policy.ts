/**
 * @module Browser hygiene rules for the HTTP surface and WebSocket upgrades, pure (headers in, verdict out):
 * the `Origin` allow-list (cross-site WebSocket hijacking and CORS "simple" writes), the `Host` check (DNS
 * rebinding) and the JSON content type of REST writes.
 *
 * Invariants:
 * - A request without an `Origin` header comes from a non-browser client (the SDK in Node, the CLI, a peer) and is
 *   never refused for its origin: browsers send `Origin` on every WebSocket upgrade and every cross-origin write.
 * - With no allow-list the only accepted browser origin is the broker's own: the origin whose host (and port) is the
 *   request's `Host`, which itself passed the Host check. An allow-list adds origins; it never removes the own one,
 *   so the demo the broker serves keeps working. In a cluster the origins of its nodes' base URLs are the cluster's
 *   own and are accepted the same way. `*` on the list accepts every origin (an explicit opt-out).
 * - A `Host` is accepted when it is an IP literal (DNS rebinding needs a name the attacker controls), a configured
 *   name, or absent (HTTP/1.0 clients; browsers always send it). Names compare case-insensitively, ports ignored.
 * - Nothing here reads cookies: no rule grants anything for a credential the browser attaches on its own.
 */
import { ErrorMessages } from '@samsa/shared'

export interface BrowserPolicyConfig {
  /** Extra origins (scheme://host[:port]) browsers may connect and write from; `*` for any. Empty: only the broker's own. */
  readonly allowedOrigins: readonly string[]
  /** Host names (no port) the broker answers to; `*` for any. IP literals are always accepted. */
  readonly allowedHosts: readonly string[]
  /**
   * The base URLs (ws:// or wss://) of the other nodes of this broker's cluster, read at each check: a page one node
   * served (the demo) talks to every partition leader, so the origins of the cluster's own nodes are accepted too.
   */
  readonly clusterUrls?: () => Iterable<string>
}

export type RefusalReason = 'origin' | 'host' | 'content-type'

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: RefusalReason; readonly status: 403 | 415 | 421; readonly message: string }

const OK: Verdict = Object.freeze({ ok: true })

/** The request headers the rules read (lower-case names), any absent one undefined. */
export interface RequestHeaders {
  readonly origin?: string | undefined
  readonly host?: string | undefined
  readonly contentType?: string | undefined
}

/** After URL parsing a host name is an IP literal when it is a dotted quad or holds a colon (IPv6). */
function isIpLiteral(name: string): boolean {
  return name.includes(':') || /^\d{1,3}(\.\d{1,3}){3}$/.test(name)
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' }

/** `scheme://host:port` with the scheme's default port made explicit and the host lower-cased; null when it is no http(s) origin. */
export function normalizeOrigin(origin: string): string | null {
  let u: URL
  try {
    u = new URL(origin)
  } catch {
    return null
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null
  if (u.username || u.password || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) return null
  return `${u.protocol}//${u.hostname.toLowerCase()}:${u.port || DEFAULT_PORTS[u.protocol]}`
}

/** The host name of a Host header value (`Example.com:8080` → `example.com`, `[::1]:80` → `::1`); null when malformed. */
export function hostName(host: string): string | null {
  let u: URL
  try {
    u = new URL(`http://${host}`)
  } catch {
    return null
  }
  if (u.username || u.password || u.pathname !== '/' || u.search || u.hash) return null
  const name = u.hostname.toLowerCase()
  return name.startsWith('[') ? name.slice(1, -1) : name
}

/** A list setting from its flag or env text: comma- or space-separated, empty items dropped. */
export function parseList(text: string): string[] {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean)
}

/** Why an allowed-origins entry is unusable, or null. */
export function originEntryProblem(entry: string): string | null {
  if (entry === '*') return null
  return normalizeOrigin(entry) === null ? `"${entry}" is not an origin (scheme://host[:port], http or https, no path)` : null
}

/** Why an allowed-hosts entry is unusable, or null. */
export function hostEntryProblem(entry: string): string | null {
  if (entry === '*') return null
  const name = hostName(entry)
  return name === null || name !== entry.toLowerCase().replace(/^\[|\]$/g, '') ? `"${entry}" is not a host name (no scheme, port or path)` : null
}

export class BrowserPolicy {
  readonly #origins: ReadonlySet<string>
  readonly #anyOrigin: boolean
  readonly #hosts: ReadonlySet<string>
  readonly #anyHost: boolean
  readonly #clusterUrls: () => Iterable<string>

  constructor(config: BrowserPolicyConfig) {
    this.#clusterUrls = config.clusterUrls ?? (() => [])
    this.#anyOrigin = config.allowedOrigins.includes('*')
    this.#origins = new Set(config.allowedOrigins.map(normalizeOrigin).filter((o): o is string => o !== null))
    this.#anyHost = config.allowedHosts.includes('*')
    this.#hosts = new Set(config.allowedHosts.map((h) => hostName(h)).filter((h): h is string => h !== null))
  }

  /** The Host check (HTTP requests and upgrades alike). */
  checkHost(h: RequestHeaders): Verdict {
    if (h.host === undefined || this.#anyHost) return OK
    const name = hostName(h.host)
    if (name !== null && (isIpLiteral(name) || this.#hosts.has(name))) return OK
    return { ok: false, reason: 'host', status: 421, message: ErrorMessages.hostRefused(h.host) }
  }

  /** The Origin check: Host first, then the origin against the broker's own and the allow-list. */
  checkOrigin(h: RequestHeaders): Verdict {
    const host = this.checkHost(h)
    if (!host.ok) return host
    if (h.origin === undefined || this.#anyOrigin) return OK
    const origin = normalizeOrigin(h.origin)
    if (origin !== null && (this.#origins.has(origin) || this.#isOwnOrigin(origin, h.host) || this.#isClusterOrigin(origin))) return OK
    return { ok: false, reason: 'origin', status: 403, message: ErrorMessages.originRefused(h.origin) }
  }

  /**
   * A REST write (POST, PUT, PATCH, DELETE): Host and Origin as above, and a body-carrying write must say
   * `Content-Type: application/json` (a form or text/plain body is what a cross-site page can send without a
   * preflight).
   */
  checkWrite(h: RequestHeaders, hasBody: boolean): Verdict {
    const origin = this.checkOrigin(h)
    if (!origin.ok) return origin
    if (!hasBody) return OK
    const type = (h.contentType ?? '').split(';')[0]!.trim().toLowerCase()
    if (type === 'application/json') return OK
    return { ok: false, reason: 'content-type', status: 415, message: ErrorMessages.writeNeedsJson(h.contentType) }
  }

  #isClusterOrigin(origin: string): boolean {
    for (const url of this.#clusterUrls()) if (normalizeOrigin(url.replace(/^ws/, 'http').replace(/\/+$/, '')) === origin) return true
    return false
  }

  #isOwnOrigin(origin: string, host: string | undefined): boolean {
    if (host === undefined) return false
    const scheme = origin.slice(0, origin.indexOf('//'))
    // The page's origin as the browser would write it had it loaded the page from this Host.
    return normalizeOrigin(`${scheme}//${host}`) === origin
  }
}

/** The host names a broker answers to by default: localhost, the bind host and the advertised URL's host (IP literals always pass). */
export function defaultAllowedHosts(bindHost: string, advertisedUrl: string): string[] {
  const out = new Set<string>(['localhost'])
  const bind = hostName(bindHost.includes(':') && !bindHost.startsWith('[') ? `[${bindHost}]` : bindHost)
  if (bind) out.add(bind)
  try {
    out.add(new URL(advertisedUrl).hostname.toLowerCase().replace(/^\[|\]$/g, ''))
  } catch {
    // The advertised URL was checked by the config schema; nothing to add for a bad one.
  }
  return [...out]
}

/**
 * The Content-Security-Policy of the demo page: its own scripts, styles and files, WebSocket connections to the
 * host it was served from (over ws: or wss:, matching the page), nothing framed, no frames of it elsewhere.
 */
export function demoContentSecurityPolicy(host: string | undefined, secure: boolean): string {
  const connect = host === undefined ? "'self'" : `'self' ${secure ? 'wss' : 'ws'}://${host}`
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${connect}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
}

/** Headers on every page the broker serves (HTML and its files). */
export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
})
