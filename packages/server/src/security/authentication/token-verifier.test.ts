import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuthenticationFailure } from './authentication-failure.js'
import { TokenVerifier } from './token-verifier.js'

const NOW_MS = 1_800_000_000_000
const now = NOW_MS / 1000
const secret = new TextEncoder().encode('a-test-secret-of-at-least-32-bytes!!')
const otherSecret = new TextEncoder().encode('another-secret-of-at-least-32-bytes!')
let rsa: { publicKey: CryptoKey; privateKey: CryptoKey }
let ec: { publicKey: CryptoKey; privateKey: CryptoKey }
let ed: { publicKey: CryptoKey; privateKey: CryptoKey }
let rsaPem: string

beforeAll(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true })
  ec = await generateKeyPair('ES256', { extractable: true })
  ed = await generateKeyPair('EdDSA', { extractable: true })
  rsaPem = await exportSPKI(rsa.publicKey)
})

const claims = (extra: JWTPayload = {}): JWTPayload => ({ sub: 'alice', iat: now, exp: now + 3600, iss: 'https://idp.example', aud: 'samsa', ...extra })
const sign = (key: CryptoKey | Uint8Array, alg: string, payload: JWTPayload = claims(), kid?: string) =>
  new SignJWT(payload).setProtectedHeader({ alg, ...(kid ? { kid } : {}) }).sign(key)

async function refusal(verifier: TokenVerifier, token: string | undefined): Promise<string> {
  const e = await verifier.authenticate(token).then(() => null, (err: unknown) => err)
  expect(e).toBeInstanceOf(AuthenticationFailure)
  if (!(e instanceof AuthenticationFailure)) throw new Error('not refused')
  expect(e.errorName).toBe('SASL_AUTHENTICATION_FAILED')
  expect(e.retriable).toBe(false)
  return e.reason
}

const hsVerifier = () => TokenVerifier.create({ keys: [{ alg: 'HS256', secret }], issuer: 'https://idp.example', audience: 'samsa', nowMs: () => NOW_MS })

describe('TokenVerifier', () => {
  it('accepts a good HS256 token: a user principal named by sub, with its claims and expiry', async () => {
    const p = await (await hsVerifier()).authenticate(await sign(secret, 'HS256', claims({ samsa: { read: ['chat.*'] } })))
    expect(p).toMatchObject({ kind: 'user', name: 'alice', expiresAtMs: (now + 3600) * 1000 })
    expect(p.claims['samsa']).toEqual({ read: ['chat.*'] })
  })

  it('accepts RS256 (PEM), ES256 (JWK) and EdDSA (JWK) tokens, each with its own key only', async () => {
    const v = await TokenVerifier.create({
      keys: [{ alg: 'RS256', pem: rsaPem }, { alg: 'ES256', jwk: await exportJWK(ec.publicKey) }, { alg: 'EdDSA', jwk: await exportJWK(ed.publicKey) }],
      nowMs: () => NOW_MS,
    })
    for (const [key, alg] of [[rsa.privateKey, 'RS256'], [ec.privateKey, 'ES256'], [ed.privateKey, 'EdDSA']] as const) {
      expect((await v.authenticate(await sign(key, alg))).name).toBe('alice')
    }
    expect(await refusal(v, await sign(ec.privateKey, 'ES256', claims(), undefined).then((t) => t.replace(/\.[^.]+$/, '.' + 'A'.repeat(86))))).toBe('bad-signature')
  })

  it('refuses a missing token', async () => {
    const v = await hsVerifier()
    expect(await refusal(v, undefined)).toBe('missing')
    expect(await refusal(v, '')).toBe('missing')
    expect(await refusal(v, 'not.a.jwt')).toBe('malformed')
  })

  it('refuses an expired token, beyond the clock skew only', async () => {
    const v = await hsVerifier()
    expect(await refusal(v, await sign(secret, 'HS256', claims({ exp: now - 31 })))).toBe('expired')
    expect((await v.authenticate(await sign(secret, 'HS256', claims({ exp: now - 29 })))).name).toBe('alice')
  })

  it('refuses a not-yet-valid token (nbf), beyond the clock skew only', async () => {
    const v = await hsVerifier()
    expect(await refusal(v, await sign(secret, 'HS256', claims({ nbf: now + 31 })))).toBe('not-yet-valid')
    expect((await v.authenticate(await sign(secret, 'HS256', claims({ nbf: now + 29 })))).name).toBe('alice')
  })

  it('refuses a wrong issuer and a wrong audience', async () => {
    const v = await hsVerifier()
    expect(await refusal(v, await sign(secret, 'HS256', claims({ iss: 'https://evil.example' })))).toBe('wrong-issuer')
    expect(await refusal(v, await sign(secret, 'HS256', claims({ aud: 'other-app' })))).toBe('wrong-audience')
  })

  it('refuses a bad signature (another secret)', async () => {
    expect(await refusal(await hsVerifier(), await sign(otherSecret, 'HS256'))).toBe('bad-signature')
  })

  it('refuses alg none', async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`
    expect(await refusal(await hsVerifier(), unsigned)).toBe('algorithm-not-allowed')
  })

  it('refuses an HS256 token whose secret is the RS256 public key (RS/HS confusion)', async () => {
    const v = await TokenVerifier.create({ keys: [{ alg: 'RS256', pem: rsaPem }], nowMs: () => NOW_MS })
    const forged = await sign(new TextEncoder().encode(rsaPem), 'HS256')
    expect(await refusal(v, forged)).toBe('algorithm-not-allowed')
  })

  it('refuses a token naming an unknown kid', async () => {
    const v = await TokenVerifier.create({ keys: [{ alg: 'RS256', pem: rsaPem, kid: 'k1' }], nowMs: () => NOW_MS })
    expect((await v.authenticate(await sign(rsa.privateKey, 'RS256', claims(), 'k1'))).name).toBe('alice')
    expect(await refusal(v, await sign(rsa.privateKey, 'RS256', claims(), 'k2'))).toBe('unknown-key')
    const jwks = await TokenVerifier.create({ jwks: { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256' }] }, nowMs: () => NOW_MS })
    expect((await jwks.authenticate(await sign(rsa.privateKey, 'RS256', claims(), 'k1'))).name).toBe('alice')
    expect(await refusal(jwks, await sign(rsa.privateKey, 'RS256', claims(), 'k2'))).toBe('unknown-key')
  })

  it('refuses a token without sub or exp', async () => {
    const v = await hsVerifier()
    const { sub: _s, ...noSub } = claims()
    const { exp: _e, ...noExp } = claims()
    expect(await refusal(v, await sign(secret, 'HS256', noSub))).toBe('no-subject')
    expect(await refusal(v, await sign(secret, 'HS256', noExp))).toBe('no-expiry')
  })

  it('refuses bad configuration: a short HS256 secret, a private JWK, a skew above 60 s, no key at all', async () => {
    await expect(TokenVerifier.create({ keys: [{ alg: 'HS256', secret: new Uint8Array(8) }], nowMs: () => 0 })).rejects.toThrow(/at least 32 bytes/)
    await expect(TokenVerifier.create({ keys: [{ alg: 'ES256', jwk: await exportJWK(ec.privateKey) }], nowMs: () => 0 })).rejects.toThrow(/public JWK/)
    await expect(TokenVerifier.create({ keys: [{ alg: 'HS256', secret }], clockSkewSeconds: 61, nowMs: () => 0 })).rejects.toThrow(/clock skew/)
    await expect(TokenVerifier.create({ nowMs: () => 0 })).rejects.toThrow(/at least one key/)
  })

  describe('JWKS URL', () => {
    let fetches = 0
    let body = ''
    const server = createServer((_req, res) => {
      fetches++
      res.setHeader('content-type', 'application/json')
      res.end(body)
    })
    beforeAll(async () => {
      body = JSON.stringify({ keys: [{ ...(await exportJWK(ec.publicKey)), kid: 'e1', alg: 'ES256' }] })
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    })
    afterAll(() => new Promise<void>((r) => server.close(() => r())))

    it('fetches the key set once and serves later tokens from its cache', async () => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`
      const v = await TokenVerifier.create({ jwksUrl: url, nowMs: () => NOW_MS })
      for (let i = 0; i < 3; i++) expect((await v.authenticate(await sign(ec.privateKey, 'ES256', claims(), 'e1'))).name).toBe('alice')
      expect(fetches).toBe(1)
      expect(await refusal(v, await sign(secret, 'HS256'))).toBe('algorithm-not-allowed')
    })

    it('a JWKS URL that cannot be fetched refuses with keys-unavailable, not as a bad token', async () => {
      const down = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`)
      await new Promise<void>((r) => server.close(() => r()))
      server.listen(0, '127.0.0.1')
      const v = await TokenVerifier.create({ jwksUrl: down.href, nowMs: () => NOW_MS })
      expect(await refusal(v, await sign(ec.privateKey, 'ES256', claims(), 'e1'))).toBe('keys-unavailable')
    })
  })
})
