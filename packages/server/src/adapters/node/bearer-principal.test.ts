import { Hono } from 'hono'
import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { Broker } from '../../broker/broker.js'
import { brokerConfig } from '../../broker/broker-config.js'
import { silentLogger } from '../../clock.js'
import { MemoryLogStorage } from '../../log/memory-log-storage.js'
import { ManualClock } from '../../log/testing/manual-clock.js'
import { noopMetrics } from '../../observability/broker-metrics.js'
import { TokenVerifier } from '../../security/authentication/token-verifier.js'
import { errorResponse } from '../../transport/app.js'
import { bearerPrincipalOf } from './bearer-principal.js'

const secret = new TextEncoder().encode('bearer-test-secret-of-32-bytes-long!')

async function setup(allowAnonymous: boolean) {
  const clock = new ManualClock()
  const refused: string[] = []
  const authenticator = await TokenVerifier.create({ keys: [{ alg: 'HS256', secret }], nowMs: () => clock.nowMs() })
  const broker = await Broker.start(brokerConfig({ authEnabled: true, allowAnonymous }), {
    storage: new MemoryLogStorage(), clock, logger: silentLogger, authenticator, metrics: { ...noopMetrics, authenticationRefused: (_k, r) => void refused.push(r) },
  })
  const principalOf = bearerPrincipalOf(broker, authenticator, allowAnonymous)
  // The app's own error mapping (SASL_AUTHENTICATION_FAILED → 401) under a route that asks for the principal.
  const app = new Hono()
  app.get('/who', async (c) => c.json(await principalOf(c)))
  app.onError((err, c) => errorResponse(c, err))
  const token = await new SignJWT({ sub: 'alice', exp: Math.floor(clock.nowMs() / 1000) + 60 }).setProtectedHeader({ alg: 'HS256' }).sign(secret)
  return { app, token, refused }
}

describe('principalOf for HTTP (Authorization: Bearer)', () => {
  it('a valid Bearer token is its user principal', async () => {
    const { app, token } = await setup(false)
    const r = await app.request('/who', { headers: { authorization: `Bearer ${token}` } })
    expect(r.status).toBe(200)
    expect(await r.json()).toMatchObject({ kind: 'user', name: 'alice' })
  })

  it('no header, another scheme, a bad token, or a token in the query: refused and counted', async () => {
    const { app, token, refused } = await setup(false)
    expect((await app.request('/who')).status).toBe(401)
    expect((await app.request('/who', { headers: { authorization: `Basic ${token}` } })).status).toBe(401)
    expect((await app.request('/who', { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401)
    expect((await app.request(`/who?token=${token}&access_token=${token}`)).status).toBe(401)
    expect(refused).toEqual(['missing', 'missing', 'bad-signature', 'missing'])
  })

  it('no header is anonymous when the broker allows it', async () => {
    const { app } = await setup(true)
    expect(await (await app.request('/who')).json()).toMatchObject({ kind: 'anonymous' })
  })
})
