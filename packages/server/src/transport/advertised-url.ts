/** @module The URL a node is reached at, from its bind host and port: the same on every runtime. */

/** ws://host:port (wss:// with TLS); a wildcard bind address is no address a client can use, so it is advertised as loopback. */
export function defaultAdvertisedUrl(host: string, port: number, secure: boolean): string {
  const wildcard = host === '0.0.0.0' || host === '::' || host === '[::]' || host === ''
  return `${secure ? 'wss' : 'ws'}://${wildcard ? '127.0.0.1' : urlHost(host)}:${port}`
}

/** An IPv6 literal needs brackets in a URL. */
export function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}
