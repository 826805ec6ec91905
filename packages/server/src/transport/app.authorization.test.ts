import { SamsaError } from '@samsa/shared'
import type { Context } from 'hono'
import { describe, expect, it } from 'vitest'
import { Broker } from '../broker/broker.js'
import { brokerConfig } from '../broker/broker-config.js'
import { MemoryLogStorage } from '../log/memory-log-storage.js'
import { ManualClock } from '../log/testing/manual-clock.js'
import { Authorizer } from '../security/authorization/authorizer.js'
import type { Principal } from '../security/principal.js'
import { auditLines, recordingLogger, refusalCountingMetrics, userWith } from '../security/testing/recording.js'
import { createApp } from './app.js'

/** Stands in for authentication: `Bearer <name>` of a known principal, else SASL_AUTHENTICATION_FAILED (as principalOf throws). */
const principals = new Map<string, Principal>([
  ['root', userWith('root', { admin: true })],
  ['alice', userWith('alice', { read: ['chat.*'], create: ['chat.*'], delete: ['chat.alice'] })],
  ['bob', userWith('bob', {})],
])
async function principalOf(c: Context): Promise<Principal> {
  const p = principals.get((c.req.header('authorization') ?? '').replace(/^Bearer /, ''))
  if (!p) throw new SamsaError('SASL_AUTHENTICATION_FAILED', 'no valid bearer token')
  return p
}

async function app(opts: { enabled: boolean; protectMetrics?: boolean }) {
  const logger = recordingLogger()
  const metrics = refusalCountingMetrics()
  const broker = await Broker.start(brokerConfig(), { storage: new MemoryLogStorage(), clock: new ManualClock(), logger, metrics, authorizer: new Authorizer({ enabled: opts.enabled }) })
  const none = async () => null
  const a = createApp({ broker, metricsText: async () => ({ contentType: 'text/plain', body: 'samsa_x 1\n' }), staticAsset: none, sdkFile: none, principalOf, protectMetrics: opts.protectMetrics ?? false })
  const call = (method: string, path: string, who?: string, body?: object) =>
    a.request(path, { method, headers: { ...(who ? { authorization: `Bearer ${who}` } : {}), 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) })
  return { broker, logger, metrics, call }
}

describe('REST admin authorization (auth on)', () => {
  it('401 without a valid token, 403 without the right, the topic unchanged; allowed with it; audited and counted', async () => {
    const { broker, logger, metrics, call } = await app({ enabled: true })
    await call('POST', '/v1/topics', 'root', { name: 'secret' })
    const noToken = await call('POST', '/v1/topics', undefined, { name: 'chat.x' })
    expect(noToken.status).toBe(401)
    expect(noToken.headers.get('www-authenticate')).toBe('Bearer')
    expect((await noToken.json()).error).toMatchObject({ name: 'SASL_AUTHENTICATION_FAILED', retriable: false })
    const refused = await call('POST', '/v1/topics', 'bob', { name: 'chat.x' })
    expect(refused.status).toBe(403)
    expect((await refused.json()).error).toMatchObject({ name: 'TOPIC_AUTHORIZATION_FAILED', message: 'principal "bob" may not create topic "chat.x"', retriable: false })
    expect((await call('DELETE', '/v1/topics/secret')).status).toBe(401)
    expect((await call('DELETE', '/v1/topics/secret', 'alice')).status).toBe(403)
    expect(broker.listTopics().map((t) => t.name)).toEqual(['secret'])

    expect((await call('POST', '/v1/topics', 'alice', { name: 'chat.alice', partitions: 2 })).status).toBe(201)
    expect((await call('GET', '/v1/topics', 'alice')).status).toBe(200)
    expect(await (await call('GET', '/v1/topics', 'alice')).json()).toEqual({ topics: [{ name: 'chat.alice', partitions: 2 }] })
    expect((await call('GET', '/v1/topics')).status).toBe(401)
    expect((await call('GET', '/v1/topics/secret', 'alice')).status).toBe(403)
    expect((await call('GET', '/v1/topics/chat.alice', 'alice')).status).toBe(200)
    expect((await call('DELETE', '/v1/topics/chat.alice', 'alice')).status).toBe(204)
    expect(broker.listTopics().map((t) => t.name)).toEqual(['secret'])

    expect([metrics.refusals.get('create'), metrics.refusals.get('delete'), metrics.refusals.get('describe')]).toEqual([1, 1, 1])
    expect(auditLines(logger.lines).map((l) => [l.action, l.outcome, l.principal, l.resource, l.via])).toEqual([
      ['topic.create', 'allowed', 'root', 'secret', 'http'],
      ['topic.create', 'refused', 'bob', 'chat.x', 'http'],
      ['topic.delete', 'refused', 'alice', 'secret', 'http'],
      ['topic.create', 'allowed', 'alice', 'chat.alice', 'http'],
      ['authorize', 'refused', 'alice', 'secret', 'http'],
      ['topic.delete', 'allowed', 'alice', 'chat.alice', 'http'],
    ])
  })

  it('/metrics needs admin when protected (403 CLUSTER_AUTHORIZATION_FAILED), and is open when not', async () => {
    const open = await app({ enabled: true })
    expect((await open.call('GET', '/metrics')).status).toBe(200)
    const closed = await app({ enabled: true, protectMetrics: true })
    expect((await closed.call('GET', '/metrics')).status).toBe(401)
    const refused = await closed.call('GET', '/metrics', 'alice')
    expect(refused.status).toBe(403)
    expect((await refused.json()).error).toMatchObject({ name: 'CLUSTER_AUTHORIZATION_FAILED', message: 'principal "alice" may not read /metrics: it needs the admin right' })
    expect(await (await closed.call('GET', '/metrics', 'root')).text()).toBe('samsa_x 1\n')
    expect(closed.metrics.refusals.get('admin')).toBe(1)
  })

  it('with authorization off, a principal without grants may do everything (today\'s behaviour)', async () => {
    const { call } = await app({ enabled: false, protectMetrics: true })
    expect((await call('POST', '/v1/topics', 'bob', { name: 't' })).status).toBe(201)
    expect((await call('GET', '/v1/topics/t', 'bob')).status).toBe(200)
    expect((await call('GET', '/metrics', 'bob')).status).toBe(200)
    expect((await call('DELETE', '/v1/topics/t', 'bob')).status).toBe(204)
  })
})
