/**
 * @module Peer tokens: how one node of a cluster proves to another that it holds the cluster secret. A peer presents,
 * in its hello, an HS256 JWT signed with the shared secret: `sub` = `node:<id>`, `aud` = the cluster id, `iss` =
 * PEER_ISSUER, and a lifetime of PEER_TOKEN_TTL_SECONDS (a fresh one per connection, so a token seen on the wire is
 * soon useless). Invariants: the verifier accepts HS256 only, requires the `sub` to name the node id the hello
 * claims, and the `aud` to be this cluster; the principal is kind 'peer', named `node:<id>`.
 */
import { SignJWT, jwtVerify } from 'jose'
import type { Principal } from '../principal.js'
import { AuthenticationFailure } from './authentication-failure.js'
import type { PeerAuthenticator } from './authenticator.js'
import { refusalOf } from './token-verifier.js'
import { MIN_SECRET_BYTES } from './verification-keys.js'

export const PEER_ISSUER = 'samsa-cluster'
export const PEER_TOKEN_TTL_SECONDS = 60
const PEER_CLOCK_SKEW_SECONDS = 30

export const peerName = (nodeId: number) => `node:${nodeId}`

function checkSecret(secret: Uint8Array): void {
  if (secret.byteLength < MIN_SECRET_BYTES) throw new Error(`the cluster secret must be at least ${MIN_SECRET_BYTES} bytes, got ${secret.byteLength}`)
}

/** A fresh peer token for node `nodeId` of cluster `clusterId`. */
export async function signPeerToken(secret: Uint8Array, nodeId: number, clusterId: string, nowMs: number): Promise<string> {
  checkSecret(secret)
  const iat = Math.floor(nowMs / 1000)
  return new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(peerName(nodeId)).setAudience(clusterId).setIssuer(PEER_ISSUER)
    .setIssuedAt(iat).setExpirationTime(iat + PEER_TOKEN_TTL_SECONDS).sign(secret)
}

export class ClusterSecretAuthenticator implements PeerAuthenticator {
  readonly #secret: Uint8Array
  readonly #clusterId: string
  readonly #nowMs: () => number

  constructor(secret: Uint8Array, clusterId: string, nowMs: () => number) {
    checkSecret(secret)
    this.#secret = secret
    this.#clusterId = clusterId
    this.#nowMs = nowMs
  }

  async authenticatePeer(nodeId: number, token: string | undefined): Promise<Principal> {
    if (!token) throw new AuthenticationFailure('missing')
    try {
      await jwtVerify(token, this.#secret, {
        algorithms: ['HS256'], issuer: PEER_ISSUER, audience: this.#clusterId, subject: peerName(nodeId),
        requiredClaims: ['exp'], clockTolerance: PEER_CLOCK_SKEW_SECONDS, currentDate: new Date(this.#nowMs()),
      })
      return Object.freeze({ kind: 'peer', name: peerName(nodeId), claims: Object.freeze({}) })
    } catch (e) {
      const reason = refusalOf(e)
      throw new AuthenticationFailure(reason === 'no-subject' ? 'wrong-peer' : reason)
    }
  }
}
