/**
 * @module Authenticator: the port a session and the HTTP app authenticate through. The node adapter gives the broker a
 * TokenVerifier (token-verifier.ts); tests may give any implementation. Invariant: authenticate either resolves to a
 * Principal of kind 'user' or rejects with an AuthenticationFailure, never anything else.
 */
import type { Principal } from '../principal.js'

export interface Authenticator {
  /** Verifies a client token (a compact JWT); `undefined` or '' is refused as `missing`. */
  authenticate(token: string | undefined): Promise<Principal>
}

/** Verifies the short-lived token a cluster peer presents in its hello (peer-token.ts). */
export interface PeerAuthenticator {
  /** Resolves to the peer's Principal (kind 'peer', name `node:<id>`) when `token` proves node `nodeId`; rejects with an AuthenticationFailure otherwise. */
  authenticatePeer(nodeId: number, token: string | undefined): Promise<Principal>
}
