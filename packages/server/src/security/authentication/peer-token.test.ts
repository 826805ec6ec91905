import { describe, expect, it } from 'vitest'
import { AuthenticationFailure } from './authentication-failure.js'
import { ClusterSecretAuthenticator, signPeerToken } from './peer-token.js'

const secret = new TextEncoder().encode('cluster-secret-of-at-least-32-bytes!')
const NOW = 1_800_000_000_000

async function reason(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => null, (err: unknown) => err)
  if (!(e instanceof AuthenticationFailure)) throw new Error(`expected an AuthenticationFailure, got ${String(e)}`)
  return e.reason
}

describe('peer tokens', () => {
  const gate = new ClusterSecretAuthenticator(secret, 'c1', () => NOW)

  it('a token signed with the cluster secret proves its node id: a peer principal', async () => {
    const p = await gate.authenticatePeer(2, await signPeerToken(secret, 2, 'c1', NOW))
    expect(p).toMatchObject({ kind: 'peer', name: 'node:2' })
  })

  it('refuses no token, another secret, another node id, another cluster, and an old token', async () => {
    const other = new TextEncoder().encode('not-the-cluster-secret-32-bytes-long')
    expect(await reason(gate.authenticatePeer(2, undefined))).toBe('missing')
    expect(await reason(gate.authenticatePeer(2, await signPeerToken(other, 2, 'c1', NOW)))).toBe('bad-signature')
    expect(await reason(gate.authenticatePeer(3, await signPeerToken(secret, 2, 'c1', NOW)))).toBe('wrong-peer')
    expect(await reason(gate.authenticatePeer(2, await signPeerToken(secret, 2, 'c2', NOW)))).toBe('wrong-audience')
    expect(await reason(gate.authenticatePeer(2, await signPeerToken(secret, 2, 'c1', NOW - 120_000)))).toBe('expired')
  })

  it('refuses a short secret', () => {
    expect(() => new ClusterSecretAuthenticator(new Uint8Array(5), 'c1', () => NOW)).toThrow(/at least 32 bytes/)
  })
})
