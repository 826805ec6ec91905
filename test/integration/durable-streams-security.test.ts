/**
 * The Durable Streams routes under authentication: the same Bearer tokens and ACLs as the REST admin API and /ws.
 * Without a token a stream request is 401, with a token lacking the grant 403, with the grant it is served; a
 * refused append or create leaves nothing behind.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT, type JWTPayload } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../packages/server/src/adapters/node/index.js'
import { recordingLogger, type LogLine } from '../support/broker-fixture.js'

const secret = new TextEncoder().encode('integration-secret-of-at-least-32-b')
const ISSUER = 'https://idp.test'
const AUDIENCE = 'samsa-it'
const logs: LogLine[] = []
let broker: RunningBroker
let dir: string
let writer: string
let reader: string
let stranger: string

const nowS = () => Math.floor(Date.now() / 1000)
const token = (sub: string, samsa: JWTPayload['samsa']) =>
  new SignJWT({ sub, iss: ISSUER, aud: AUDIENCE, iat: nowS(), exp: nowS() + 600, samsa }).setProtectedHeader({ alg: 'HS256' }).sign(secret)
const url = (path: string) => `${broker.httpUrl}/v1/stream/${path}`
const bearer = (t?: string): Record<string, string> => (t ? { authorization: `Bearer ${t}` } : {})

async function tail(path: string, t: string) {
  const r = await fetch(url(`${path}?offset=-1`), { headers: bearer(t) })
  expect(r.status).toBe(200)
  return await r.text()
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'samsa-ds-authz-'))
  broker = await startBroker({ port: 0, dataDir: dir, logger: recordingLogger(logs), authentication: { keys: [{ alg: 'HS256', secret }], issuer: ISSUER, audience: AUDIENCE } })
  writer = await token('writer', { read: ['notes'], write: ['notes'], create: ['notes'] })
  reader = await token('reader', { read: ['notes'] })
  stranger = await token('stranger', { read: ['other'], write: ['other'], create: ['other', 'secret'] })
  const created = await fetch(url('notes'), { method: 'PUT', headers: { ...bearer(writer), 'content-type': 'text/plain' } })
  expect(created.status).toBe(201)
  const appended = await fetch(url('notes'), { method: 'POST', headers: { ...bearer(writer), 'content-type': 'text/plain' }, body: 'first' })
  expect(appended.status).toBe(204)
})

afterAll(async () => {
  await broker?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('Durable Streams with authentication on', () => {
  it('answers 401 (WWW-Authenticate: Bearer) to a read, an append and a create without a token; nothing appended or created', async () => {
    for (const init of [{}, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'intruder' }, { method: 'PUT', headers: { 'content-type': 'text/plain' } }]) {
      const r = await fetch(url(init.method === 'PUT' ? 'anon' : 'notes?offset=-1'), init)
      expect(r.status).toBe(401)
      expect(r.headers.get('www-authenticate')).toBe('Bearer')
      expect(await r.text()).toContain('SASL_AUTHENTICATION_FAILED')
    }
    const bad = await fetch(url('notes?offset=-1'), { headers: { authorization: 'Bearer not-a-jwt' } })
    expect(bad.status).toBe(401)
    expect(await tail('notes', writer)).toBe('first')
    expect(broker.broker.listTopics().map((t) => t.name)).not.toContain('anon')
  })

  it('answers 403 to a token lacking the grant; nothing appended or created', async () => {
    expect((await fetch(url('notes?offset=-1'), { headers: bearer(stranger) })).status).toBe(403)
    expect((await fetch(url('notes'), { method: 'HEAD', headers: bearer(stranger) })).status).toBe(403)
    const append = await fetch(url('notes'), { method: 'POST', headers: { ...bearer(reader), 'content-type': 'text/plain' }, body: 'not yours' })
    expect(append.status).toBe(403)
    expect(await append.text()).toContain('TOPIC_AUTHORIZATION_FAILED')
    expect((await fetch(url('notes'), { method: 'DELETE', headers: bearer(writer) })).status).toBe(403)
    expect((await fetch(url('fresh'), { method: 'PUT', headers: { ...bearer(reader), 'content-type': 'text/plain' } })).status).toBe(403)
    // A fork copies what it inherits: creating one needs read on its source.
    const fork = await fetch(url('secret'), { method: 'PUT', headers: { ...bearer(stranger), 'content-type': 'text/plain', 'stream-forked-from': '/v1/stream/notes' } })
    expect(fork.status).toBe(403)
    expect(await tail('notes', reader)).toBe('first')
    expect(broker.broker.listTopics().map((t) => t.name).sort()).toEqual(['__durable_streams', 'notes'].sort())
  })

  it('serves a token with the grant: read, long-poll, SSE and append', async () => {
    const appended = await fetch(url('notes'), { method: 'POST', headers: { ...bearer(writer), 'content-type': 'text/plain' }, body: '+second' })
    expect(appended.status).toBe(204)
    expect(await tail('notes', reader)).toBe('first+second')
    const next = appended.headers.get('stream-next-offset')!
    const poll = fetch(url(`notes?offset=${next}&live=long-poll`), { headers: bearer(reader) })
    expect((await fetch(url('notes'), { method: 'POST', headers: { ...bearer(writer), 'content-type': 'text/plain' }, body: '+third' })).status).toBe(204)
    const polled = await poll
    expect(polled.status).toBe(200)
    expect(await polled.text()).toBe('+third')
    const sse = await fetch(url('notes?offset=-1&live=sse'), { headers: bearer(reader) })
    expect(sse.status).toBe(200)
    await sse.body?.cancel()
  })
})
