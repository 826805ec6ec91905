/**
 * @module The sign-in panel, shown once the broker has refused this page's token (or its lack of one): the broker's
 * reason, how to get a development token, and a field to paste one. Signing in keeps the token in sessionStorage and
 * reloads the page, so the new client starts with it; signing out forgets it.
 */
import { useState } from 'preact/hooks'
import { clearSessionToken, saveSessionToken } from './session-token.js'

export function SignIn({ reason, hadToken }: { reason: string; hadToken: boolean }) {
  const [token, setToken] = useState('')
  return (
    <form
      class="sign-in banner banner-error"
      role="alert"
      aria-labelledby="sign-in-title"
      data-testid="sign-in"
      onSubmit={(e) => {
        e.preventDefault()
        if (!token.trim()) return
        saveSessionToken(token)
        location.reload()
      }}
    >
      <h2 id="sign-in-title">{hadToken ? 'The broker refused your token' : 'This broker requires a sign-in token'}</h2>
      <p data-testid="sign-in-reason">{reason}</p>
      <p class="hint">
        Ask for a token, or make one for development with <code>samsa token create --secret-file SECRET --sub NAME …</code> (see the demo's README), then
        open this page with <code>#token=…</code> after its address or paste the token here. It is kept for this tab only.
      </p>
      <label for="sign-in-token">Access token</label>
      <div class="row">
        <input id="sign-in-token" value={token} autoComplete="off" spellcheck={false} onInput={(e) => setToken(e.currentTarget.value)} />
        <button type="submit">Sign in</button>
        {hadToken && (
          <button
            type="button"
            onClick={() => {
              clearSessionToken()
              location.reload()
            }}
          >
            Forget the token
          </button>
        )}
      </div>
    </form>
  )
}
