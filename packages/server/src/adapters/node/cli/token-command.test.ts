import { exportJWK, generateKeyPair } from 'jose'
import { describe, expect, it } from 'vitest'
import { TokenVerifier } from '../../../security/authentication/token-verifier.js'
import { createToken, grantsClaim, ttlArg } from './token-command.js'

const NOW = 1_800_000_000_000
const secret = new TextEncoder().encode('token-command-secret-of-32-bytes-ok!')

describe('samsa token create', () => {
  it('signs sub, exp = now + ttl and the grants as the samsa claim; the broker accepts it', async () => {
    const token = await createToken({ sub: 'alice', ttlSeconds: 3_600, read: ['chat.*'], write: ['chat.*'], issuer: 'dev', audience: 'samsa' }, { alg: 'HS256', key: secret }, NOW)
    const p = await (await TokenVerifier.create({ keys: [{ alg: 'HS256', secret }], issuer: 'dev', audience: 'samsa', nowMs: () => NOW })).authenticate(token)
    expect(p).toMatchObject({ kind: 'user', name: 'alice', expiresAtMs: NOW + 3_600_000 })
    expect(p.claims['samsa']).toEqual({ read: ['chat.*'], write: ['chat.*'] })
  })

  it('signs with a private key (EdDSA JWK) that the matching public key verifies', async () => {
    const pair = await generateKeyPair('EdDSA', { extractable: true })
    const token = await createToken({ sub: 'bob', ttlSeconds: 60, admin: true, kid: 'e1' }, { alg: 'EdDSA', key: pair.privateKey }, NOW)
    const v = await TokenVerifier.create({ keys: [{ alg: 'EdDSA', jwk: await exportJWK(pair.publicKey), kid: 'e1' }], nowMs: () => NOW })
    expect((await v.authenticate(token)).claims['samsa']).toEqual({ admin: true })
  })

  it('grants only what is given; durations in s, m, h, d', () => {
    expect(grantsClaim({ sub: 'a', ttlSeconds: 1 })).toBeUndefined()
    expect(grantsClaim({ sub: 'a', ttlSeconds: 1, describe: ['x'], delete: [] })).toEqual({ describe: ['x'] })
    expect(grantsClaim({ sub: 'a', ttlSeconds: 1, read: ['orders'], groupRead: ['billing*'], groupDescribe: [] })).toEqual({ read: ['orders'], groups: { read: ['billing*'] } })
    expect([ttlArg('90'), ttlArg('90s'), ttlArg('15m'), ttlArg('1h'), ttlArg('7d')]).toEqual([90, 90, 900, 3_600, 604_800])
    for (const bad of ['0', '1w', '-1h', 'h', '367d']) expect(() => ttlArg(bad)).toThrow(/duration/)
  })
})
