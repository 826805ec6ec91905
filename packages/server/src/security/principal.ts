/**
 * @module Principal: who a connection or HTTP request speaks for, once authenticated. Authentication
 * (security/authentication) produces it; authorization (security/authorization), quotas and the audit log read it.
 * Invariant: a Principal is immutable; a connection that reauthenticates gets a new one.
 */

export type PrincipalKind =
  /** A verified client token. */
  | 'user'
  /** No token, on a broker configured to accept anonymous access. */
  | 'anonymous'
  /** Another node of this cluster, authenticated by the cluster secret (or mutual TLS). */
  | 'peer'

export interface Principal {
  readonly kind: PrincipalKind
  /** The token's `sub` for a user; `anonymous`; `node:<id>` for a peer. Used in ACLs, quotas, metrics and the audit log. */
  readonly name: string
  /** The verified token's claims (empty for anonymous and for peers). */
  readonly claims: Readonly<Record<string, unknown>>
  /** Wall-clock ms at which the credential expires (the token's `exp`); undefined when it does not. */
  readonly expiresAtMs?: number
}

export const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous', name: 'anonymous', claims: Object.freeze({}) })

/**
 * The principal of a connection whose hello named it a cluster peer, until peer authentication gives peers their
 * own (`node:<id>`): another broker of the cluster, allowed everything broker-to-broker.
 */
export const PEER_CONNECTION: Principal = Object.freeze({ kind: 'peer', name: 'peer', claims: Object.freeze({}) })
