/**
 * @module SessionAuthentication: who a connection speaks for, from its hello to its close. Decides the principal of a
 * hello (a client's token, a peer's cluster-secret token, or ANONYMOUS where the broker allows it), enforces the
 * credential's expiry on the live connection (the session is closed with TOKEN_EXPIRED at `expiresAtMs`), and checks
 * a reauthenticate. Invariants: with auth off every client is ANONYMOUS and any token is ignored; with auth on a
 * client is ANONYMOUS only with allowAnonymous and no token; a reauthenticate never changes the subject; every refusal
 * is counted (metric by reason) and audited, and never logs the token.
 */
import { CloseCodes, type HelloRequest } from '@samsa/shared'
import type { Broker } from '../broker/broker.js'
import type { Timer } from '../clock.js'
import { audit, type AuditAction } from '../security/audit-log.js'
import { AuthenticationFailure } from '../security/authentication/authentication-failure.js'
import { peerName } from '../security/authentication/peer-token.js'
import { ANONYMOUS, type Principal } from '../security/principal.js'

/** The credential was not refused but could not be checked (the broker's keys are unavailable): the client should retry. */
export function brokerCouldNotCheck(e: unknown): boolean {
  return e instanceof AuthenticationFailure && e.reason === 'keys-unavailable'
}

/** setTimeout's largest delay; a later expiry is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1

export class SessionAuthentication {
  readonly #broker: Broker
  readonly #remoteAddress: string | undefined
  readonly #close: (code: number, reason: string) => void
  #expiryTimer: Timer | null = null
  #expiresAtMs: number | undefined
  #closed = false

  constructor(broker: Broker, remoteAddress: string | undefined, close: (code: number, reason: string) => void) {
    this.#broker = broker
    this.#remoteAddress = remoteAddress
    this.#close = close
  }

  /**
   * The principal of a hello: synchronous when nothing needs verifying (auth off, anonymous, a peer without a cluster
   * secret), a promise otherwise. Rejects (or throws) an AuthenticationFailure, already counted and audited.
   */
  helloPrincipal(req: HelloRequest): Principal | Promise<Principal> {
    if (req.peer) {
      const { nodeId } = req.peer
      const peers = this.#broker.peerAuthenticator
      if (!peers) return Object.freeze({ kind: 'peer', name: peerName(nodeId), claims: Object.freeze({}) })
      return peers.authenticatePeer(nodeId, req.token).catch((e: unknown) => this.#refused('peer.authenticate', 'peer', e, peerName(nodeId)))
    }
    const users = this.#broker.authenticator
    if (!users) return ANONYMOUS
    if (req.token === undefined && this.#broker.limits.allowAnonymous) return ANONYMOUS
    return users.authenticate(req.token).catch((e: unknown) => this.#refused('authenticate', 'user', e))
  }

  /** The hello deadline passed before the connection authenticated: with auth on, a refusal like any other (reason `no-hello`). */
  neverAuthenticated(): void {
    if (!this.#broker.authenticator) return
    this.#refusedNow('authenticate', 'user', new AuthenticationFailure('no-hello'))
  }

  /** A fresh token for `current`'s subject; resolves to the new principal, or rejects with an AuthenticationFailure (counted, audited). */
  async reauthenticate(current: Principal, token: string): Promise<Principal> {
    const users = this.#broker.authenticator
    if (!users) return current
    try {
      const next = await users.authenticate(token)
      if (current.kind !== 'user' || next.name !== current.name) throw new AuthenticationFailure('subject-changed')
      return next
    } catch (e) {
      return this.#refused('reauthenticate', 'user', e, current.name)
    }
  }

  /** Enforces `principal`'s expiry from now on (replacing any earlier one): the session is closed with TOKEN_EXPIRED when it passes. */
  enforceExpiry(principal: Principal): void {
    if (this.#expiryTimer) this.#broker.clock.clearTimeout(this.#expiryTimer)
    this.#expiryTimer = null
    this.#expiresAtMs = principal.expiresAtMs
    this.#arm()
  }

  #arm(): void {
    const at = this.#expiresAtMs
    if (this.#closed || at === undefined) return
    const leftMs = at - this.#broker.clock.nowMs()
    if (leftMs <= 0) return this.#close(CloseCodes.TOKEN_EXPIRED, 'the token expired; reconnect with a fresh one (or send reauthenticate before exp)')
    this.#expiryTimer = this.#broker.clock.setTimeout(() => {
      this.#expiryTimer = null
      this.#arm()
    }, Math.min(leftMs, MAX_TIMER_MS))
  }

  close(): void {
    this.#closed = true
    if (this.#expiryTimer) this.#broker.clock.clearTimeout(this.#expiryTimer)
    this.#expiryTimer = null
  }

  #refused(action: AuditAction, kind: 'user' | 'peer', e: unknown, who?: string): never {
    if (!(e instanceof AuthenticationFailure)) throw e
    this.#refusedNow(action, kind, e, who)
    throw e
  }

  #refusedNow(action: AuditAction, kind: 'user' | 'peer', e: AuthenticationFailure, who?: string): void {
    this.#broker.metrics.authenticationRefused(kind, e.reason)
    audit(this.#broker.logger, {
      action, outcome: 'refused', reason: e.reason, via: 'ws',
      ...(who !== undefined ? { resource: who } : {}),
      ...(this.#remoteAddress !== undefined ? { remoteAddress: this.#remoteAddress } : {}),
    })
  }
}
