/**
 * @module Broker URL normalization. A broker URL is the broker's base: `ws://host:port` or `wss://host[:port][/prefix]`;
 * the client connects to `<base>/ws`. Accepted and normalized:
 *   `127.0.0.1:8080`, `localhost:8080` (no scheme)   → `ws://127.0.0.1:8080`, `ws://localhost:8080`
 *   `http://host:8080`, `https://host`              → `ws://host:8080`, `wss://host`
 *   a trailing `/ws` or `/` (`ws://host:8080/ws/`)  → `ws://host:8080`
 * Rejected with a TypeError saying what to write: any other scheme, no host, a bad port, a query or a fragment.
 */
import { describeValue } from './check.js'

const SCHEMES: Readonly<Record<string, string>> = { 'ws:': 'ws:', 'wss:': 'wss:', 'http:': 'ws:', 'https:': 'wss:' }

export function normalizeBrokerUrl(input: string, call = 'createClient(options)', arg = 'options.brokers'): string {
  const fail = (problem: string): never => {
    throw new TypeError(`${call}: ${arg} has ${JSON.stringify(input)}, ${problem}; write the broker's base URL, e.g. ws://127.0.0.1:8080 (the client adds /ws)`)
  }
  const trimmed = input.trim()
  if (trimmed === '') fail('an empty URL')
  // `host:port` without a scheme (URL would read `localhost:` as the scheme).
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `ws://${trimmed}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    return fail('which is not a URL')
  }
  const scheme = SCHEMES[url.protocol]
  if (scheme === undefined) fail(`whose scheme ${url.protocol.slice(0, -1)} is not ws, wss, http or https`)
  if (url.hostname === '') fail('which names no host')
  if (url.search !== '' || url.hash !== '') fail('which has a query or a fragment')
  if (url.username !== '' || url.password !== '') fail('which carries credentials')
  const path = url.pathname.replace(/\/+$/, '').replace(/\/ws$/, '')
  return `${scheme}//${url.host}${path}`
}

/** `brokers` as given to createClient: one URL, a comma-separated list, or an array of URLs; normalized, at least one. */
export function normalizeBrokers(brokers: unknown, call = 'createClient(options)', arg = 'options.brokers'): string[] {
  const expected = 'a broker URL such as "ws://127.0.0.1:8080", a comma-separated list of them, or an array of them'
  let list: unknown[]
  if (typeof brokers === 'string') list = brokers.split(',').map((s) => s.trim()).filter(Boolean)
  else if (Array.isArray(brokers)) list = brokers
  else throw new TypeError(`${call}: ${arg} must be ${expected}, got ${describeValue(brokers)}`)
  if (list.length === 0) throw new TypeError(`${call}: ${arg} must name at least one broker, e.g. "ws://127.0.0.1:8080"`)
  return list.map((b, i) => {
    if (typeof b !== 'string') throw new TypeError(`${call}: ${arg}[${i}] must be a broker URL string such as "ws://127.0.0.1:8080", got ${describeValue(b)}`)
    return normalizeBrokerUrl(b, call, Array.isArray(brokers) ? `${arg}[${i}]` : arg)
  })
}
