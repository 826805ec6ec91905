/**
 * @module The client's credential on one connection: the token sent in hello, and its in-band refresh. With a token
 * function, a fresh token is fetched for every hello and, before the current one expires (its `exp`, read from the
 * payload without verifying: the broker verifies), sent with `reauthenticate`; should that fail, the broker closes
 * the connection with TOKEN_EXPIRED at expiry and the reconnect's hello fetches a fresh token. A fixed string is
 * sent as it is and never refreshed. Invariants: at most one refresh timer, none while not connected; a token never
 * reaches a log line.
 */
import type { Clock, Logger, TimerHandle } from '../ports.js'

/** A JWT, or a function that returns a fresh one (called for every hello and before each expiry). */
export type TokenOption = string | (() => Promise<string>)

/** How long before its expiry a token is refreshed: a fifth of its remaining life, within 1 s … 60 s. */
export function refreshLeadMs(remainingMs: number): number {
  return Math.min(60_000, Math.max(1_000, remainingMs / 5))
}

/** The `exp` of a compact JWT, in ms, read without verifying; undefined when there is none or it is not a JWT. */
export function tokenExpiresAtMs(token: string): number | undefined {
  const payload = token.split('.')[1]
  if (payload === undefined || payload === '') return undefined
  try {
    const b64 = payload.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (payload.length % 4)) % 4)
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes))
    if (typeof claims !== 'object' || claims === null || !('exp' in claims) || typeof claims.exp !== 'number') return undefined
    return claims.exp * 1000
  } catch {
    return undefined
  }
}

export interface TokenKeeperDeps {
  readonly clock: Clock
  readonly log: Logger
  /** Sends reauthenticate on the live connection; resolves with the new expiry (ms; -1 for none). */
  readonly reauthenticate: (token: string) => Promise<number>
}

export class TokenKeeper {
  readonly #option: TokenOption | undefined
  readonly #deps: TokenKeeperDeps
  #timer: TimerHandle | null = null
  /** Bumped on every start/stop: a refresh that finishes for an older session does nothing. */
  #generation = 0

  constructor(option: TokenOption | undefined, deps: TokenKeeperDeps) {
    this.#option = option
    this.#deps = deps
  }

  /** The token for a hello: none, the fixed string, or a fresh one from the function. */
  forHello(): string | Promise<string> | undefined {
    return typeof this.#option === 'function' ? this.#option() : this.#option
  }

  /** A hello succeeded with `token`: with a token function, a refresh is scheduled before its expiry. */
  started(token: string | undefined): void {
    this.stopped()
    if (token !== undefined) this.#schedule(tokenExpiresAtMs(token))
  }

  /** The connection is gone or closing: no refresh. */
  stopped(): void {
    this.#generation++
    if (this.#timer !== null) this.#deps.clock.clearTimeout(this.#timer)
    this.#timer = null
  }

  #schedule(expiresAtMs: number | undefined): void {
    if (typeof this.#option !== 'function' || expiresAtMs === undefined || expiresAtMs < 0) return
    const remaining = expiresAtMs - this.#deps.clock.now()
    const generation = this.#generation
    this.#timer = this.#deps.clock.setTimeout(() => {
      this.#timer = null
      if (generation === this.#generation) void this.#refresh(expiresAtMs, generation)
    }, Math.max(0, remaining - refreshLeadMs(remaining)))
  }

  async #refresh(currentExpiresAtMs: number, generation: number): Promise<void> {
    const source = this.#option
    if (typeof source !== 'function') return
    try {
      const token = await source()
      const expiresAtMs = await this.#deps.reauthenticate(token)
      if (generation !== this.#generation) return
      this.#deps.log.debug({ expiresAtMs }, 'token refreshed')
      this.#schedule(expiresAtMs > 0 ? expiresAtMs : tokenExpiresAtMs(token))
    } catch (error) {
      if (generation !== this.#generation) return
      const left = currentExpiresAtMs - this.#deps.clock.now()
      this.#deps.log.warn({ error: error instanceof Error ? error.message : String(error), msLeft: left }, 'token refresh failed; retrying, else the broker closes at expiry and the client reconnects')
      // Once more halfway to the expiry, while there is time for it.
      if (left > 2_000) {
        this.#timer = this.#deps.clock.setTimeout(() => {
          this.#timer = null
          if (generation === this.#generation) void this.#refresh(currentExpiresAtMs, generation)
        }, left / 2)
      }
    }
  }
}
