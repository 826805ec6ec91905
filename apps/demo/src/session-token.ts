/**
 * @module The page's sign-in token for a broker with authentication: taken from the URL fragment (`#token=JWT`, which
 * browsers never send to a server, so it never reaches an access log; a query `?token=` is never read) or from the
 * sign-in form, kept in sessionStorage (this tab only, gone when it closes), and removed from the address bar at once
 * so it is neither bookmarked nor shared by copying the URL. No token: the page connects anonymously.
 */

const KEY = 'samsa-demo-token'

/** The token of a fragment such as `#token=eyJ…` (other fragment parameters are ignored); null when there is none. */
export function tokenFromFragment(hash: string): string | null {
  const token = new URLSearchParams(hash.replace(/^#/, '')).get('token')?.trim()
  return token ? token : null
}

/** Moves a `#token=` fragment into sessionStorage (and out of the address bar); returns the token this tab uses. */
export function takeSessionToken(): string | null {
  const fromUrl = tokenFromFragment(location.hash)
  if (fromUrl !== null) {
    saveSessionToken(fromUrl)
    history.replaceState(history.state, '', location.pathname + location.search)
  }
  return sessionStorage.getItem(KEY)
}

export function saveSessionToken(token: string): void {
  sessionStorage.setItem(KEY, token.trim())
}

export function clearSessionToken(): void {
  sessionStorage.removeItem(KEY)
}
