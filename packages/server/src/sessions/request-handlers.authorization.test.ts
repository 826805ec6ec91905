import { ApiKeys, decodePush, encodeRequestFrame, exchanges, readFrameHeader, SamsaError } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { testBatch } from '../log/testing/batches.js'
import { REFUSAL_AUDIT_LINES } from '../security/authorization/access-control.js'
import { Authorizer } from '../security/authorization/authorizer.js'
import { parseAclFile } from '../security/authorization/acl-file.js'
import { ANONYMOUS } from '../security/principal.js'
import { auditLines, recordingLogger, refusalCountingMetrics, userWith } from '../security/testing/recording.js'
import { sessionHarness } from './testing/session-harness.js'

const errorOf = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => (e instanceof SamsaError ? { name: e.errorName, message: e.message, retriable: e.retriable } : e))

async function authorized() {
  const logger = recordingLogger()
  const metrics = refusalCountingMetrics()
  const h = await sessionHarness({}, { logger, metrics, authorizer: new Authorizer({ enabled: true }) })
  const admin = h.open({ principal: userWith('root', { admin: true }) })
  for (const name of ['chat.a', 'chatroom', 'secret']) await admin.request(exchanges.createTopic, { name, partitions: 1 })
  await admin.request(exchanges.produce, { topic: 'chatroom', partition: 0, acks: 1, timeoutMs: 1000, batch: testBatch({ records: 2 }) })
  logger.lines.length = 0
  const alice = h.open({ principal: userWith('alice', { read: ['chat.*'], write: ['chat.*'] }) })
  const endOffset = (topic: string) => h.broker.partition(topic, 0).logEndOffset
  return { h, logger, metrics, alice, endOffset }
}

describe('authorization of every request (auth on)', () => {
  it('a produce outside the grants (chat.* writing chatroom) is refused with a typed, non-retriable TOPIC_AUTHORIZATION_FAILED naming operation and topic; nothing is appended; counted and audited; the connection stays open', async () => {
    const { alice, metrics, logger, endOffset } = await authorized()
    const before = endOffset('chatroom')
    expect(await errorOf(alice.request(exchanges.produce, { topic: 'chatroom', partition: 0, acks: 1, timeoutMs: 1000, batch: testBatch() }))).toEqual({
      name: 'TOPIC_AUTHORIZATION_FAILED', retriable: false, message: 'principal "alice" may not write topic "chatroom"',
    })
    expect(endOffset('chatroom')).toBe(before)
    expect(metrics.refusals.get('write')).toBe(1)
    expect(auditLines(logger.lines)).toEqual([expect.objectContaining({ action: 'authorize', outcome: 'refused', principal: 'alice', principalKind: 'user', resource: 'chatroom', via: 'ws' })])
    expect(alice.socket.closed).toBeNull()
    // The same connection goes on serving what it may do.
    expect(await alice.request(exchanges.produce, { topic: 'chat.a', partition: 0, acks: 1, timeoutMs: 1000, batch: testBatch() })).toMatchObject({ baseOffset: 0 })
    expect(await alice.request(exchanges.ping, {})).toEqual({})
    // acks=0: refused the same way, with no reply (as any failed acks=0 produce), and counted.
    const sent = alice.socket.sent.length
    alice.session.onFrame(encodeRequestFrame(exchanges.produce, alice.session.version, 9_999, { topic: 'chatroom', partition: 0, acks: 0, timeoutMs: 1000, batch: testBatch() }))
    expect(await alice.request(exchanges.ping, {})).toEqual({})
    expect(alice.socket.sent.length).toBe(sent + 1)
    expect(endOffset('chatroom')).toBe(before)
    expect(metrics.refusals.get('write')).toBe(2)
  })

  it('fetch, subscribe, listOffsets and a consumer offsetForLeaderEpoch need read', async () => {
    const { alice, metrics } = await authorized()
    const refusedRead = { name: 'TOPIC_AUTHORIZATION_FAILED', retriable: false, message: 'principal "alice" may not read topic "chatroom"' }
    expect(await errorOf(alice.request(exchanges.fetch, { topic: 'chatroom', partition: 0, offset: 0, maxBytes: 1000, maxWaitMs: 0, minBytes: 0 }))).toEqual(refusedRead)
    expect(await errorOf(alice.request(exchanges.subscribe, { topic: 'chatroom', partition: 0, offset: 0, creditBytes: 1000 }))).toEqual(refusedRead)
    expect(await errorOf(alice.request(exchanges.listOffsets, { topic: 'chatroom', partition: 0, timestamp: -1 }))).toEqual(refusedRead)
    expect(await errorOf(alice.request(exchanges.offsetForLeaderEpoch, { topic: 'chatroom', partition: 0, replicaId: -1, currentLeaderEpoch: -1, leaderEpoch: 0 }))).toEqual(refusedRead)
    expect(metrics.refusals.get('read')).toBe(4)
    expect(alice.session.subscriptions.size).toBe(0)
    // Allowed ones are served.
    expect(await alice.request(exchanges.fetch, { topic: 'chat.a', partition: 0, offset: 0, maxBytes: 1000, maxWaitMs: 0, minBytes: 0 })).toMatchObject({ highWatermark: 0 })
    expect(await alice.request(exchanges.listOffsets, { topic: 'chat.a', partition: 0, timestamp: -1 })).toMatchObject({ offset: 0 })
    expect(await alice.request(exchanges.subscribe, { topic: 'chat.a', partition: 0, offset: 0, creditBytes: 1000 })).toMatchObject({ subscriptionId: expect.any(Number) })
  })

  it('metadata lists only the topics the principal may describe, and answers a named one it may not with TOPIC_AUTHORIZATION_FAILED whether or not it exists', async () => {
    const { alice } = await authorized()
    expect((await alice.request(exchanges.metadata, { topics: null })).topics.map((t) => t.name)).toEqual(['chat.a'])
    const named = await alice.request(exchanges.metadata, { topics: ['secret', 'chat.a', 'nope', 'chat.none', 'secret'] })
    expect(named.topics.map((t) => [t.name, t.errorCode, t.partitions.length])).toEqual([['secret', 29, 0], ['chat.a', 0, 1], ['nope', 29, 0], ['chat.none', 3, 0]])
  })

  it('createTopic needs create and deleteTopic delete (refused whether or not the topic exists); both are audited, allowed or refused', async () => {
    const { h, alice, metrics, logger } = await authorized()
    expect(await errorOf(alice.request(exchanges.createTopic, { name: 'chat.new', partitions: 1 }))).toMatchObject({ name: 'TOPIC_AUTHORIZATION_FAILED', message: 'principal "alice" may not create topic "chat.new"' })
    expect(await errorOf(alice.request(exchanges.deleteTopic, { name: 'chat.a' }))).toMatchObject({ name: 'TOPIC_AUTHORIZATION_FAILED', message: 'principal "alice" may not delete topic "chat.a"' })
    expect(await errorOf(alice.request(exchanges.deleteTopic, { name: 'never-was' }))).toMatchObject({ name: 'TOPIC_AUTHORIZATION_FAILED' })
    expect(h.broker.listTopics().map((t) => t.name)).toEqual(['chat.a', 'chatroom', 'secret'])
    expect([metrics.refusals.get('create'), metrics.refusals.get('delete')]).toEqual([1, 2])
    const creator = h.open({ principal: userWith('carol', { create: ['tmp.*'], delete: ['tmp.*'] }) })
    await creator.request(exchanges.createTopic, { name: 'tmp.1', partitions: 2 })
    await creator.request(exchanges.deleteTopic, { name: 'tmp.1' })
    expect(auditLines(logger.lines).map((l) => [l.action, l.outcome, l.principal, l.resource])).toEqual([
      ['topic.create', 'refused', 'alice', 'chat.new'],
      ['topic.delete', 'refused', 'alice', 'chat.a'],
      ['topic.delete', 'refused', 'alice', 'never-was'],
      ['topic.create', 'allowed', 'carol', 'tmp.1'],
      ['topic.delete', 'allowed', 'carol', 'tmp.1'],
    ])
  })

  it('a flood of refused requests is counted whole but audited at most REFUSAL_AUDIT_LINES lines a window, then one line says how many were not', async () => {
    const { h, alice, metrics, logger, endOffset } = await authorized()
    const n = REFUSAL_AUDIT_LINES.maxLines * 3
    for (let i = 0; i < n; i++) expect(await errorOf(alice.request(exchanges.produce, { topic: 'secret', partition: 0, acks: 1, timeoutMs: 1000, batch: testBatch() }))).toMatchObject({ name: 'TOPIC_AUTHORIZATION_FAILED' })
    expect(metrics.refusals.get('write')).toBe(n)
    expect(auditLines(logger.lines)).toHaveLength(REFUSAL_AUDIT_LINES.maxLines)
    expect(endOffset('secret')).toBe(0)
    h.clock.advance(REFUSAL_AUDIT_LINES.windowMs)
    await errorOf(alice.request(exchanges.produce, { topic: 'secret', partition: 0, acks: 1, timeoutMs: 1000, batch: testBatch() }))
    const summary = logger.lines.find((l) => l.fields.suppressed !== undefined)
    expect(summary).toMatchObject({ level: 'warn', fields: { suppressed: n - REFUSAL_AUDIT_LINES.maxLines }, msg: expect.stringMatching(/not logged.*samsa_authorization_refusals_total/) })
    expect(auditLines(logger.lines)).toHaveLength(REFUSAL_AUDIT_LINES.maxLines + 1)
  })

  it('a subscription ends with TOPIC_AUTHORIZATION_FAILED once its connection may no longer read the topic: a reloaded ACL file, or a new principal', async () => {
    let acls = parseAclFile(JSON.stringify({ principals: { dave: { allow: [{ operation: 'read', pattern: 'feed.*' }] } } }))
    const authorizer = new Authorizer({ enabled: true, acls: () => acls })
    const h = await sessionHarness({}, { authorizer })
    const root = h.open({ principal: userWith('root', { admin: true }) })
    for (const name of ['feed.a', 'feed.b']) await root.request(exchanges.createTopic, { name, partitions: 1 })
    const dave = h.open({ principal: userWith('dave') })
    const a = await dave.request(exchanges.subscribe, { topic: 'feed.a', partition: 0, offset: 0, creditBytes: 1000 })
    const ended = () => dave.socket.sent.filter((f) => readFrameHeader(f).apiKey === ApiKeys.PUSH).map(decodePush).filter((p) => p.kind === 'ended')
    // Another reload that still allows it changes nothing.
    authorizer.changed()
    expect(ended()).toEqual([])
    acls = parseAclFile(JSON.stringify({ principals: { dave: { allow: [{ operation: 'read', pattern: 'feed.b' }] } } }))
    authorizer.changed()
    expect(ended().map((p) => [p.subscriptionId, p.kind === 'ended' && p.error.errorName, p.kind === 'ended' && p.error.message])).toEqual([[a.subscriptionId, 'TOPIC_AUTHORIZATION_FAILED', 'principal "dave" may not read topic "feed.a"']])
    expect(dave.session.subscriptions.size).toBe(0)
    // A new principal on the connection (reauthentication) is checked the same way.
    await dave.request(exchanges.subscribe, { topic: 'feed.b', partition: 0, offset: 0, creditBytes: 1000 })
    dave.session.principal = userWith('eve')
    dave.session.subscriptions.recheckAuthorization()
    expect(dave.session.subscriptions.size).toBe(0)
    expect(dave.socket.closed).toBeNull()
  })

  it('anonymous (allowed in, but without an ACL entry) may do nothing; a cluster peer connection may do everything', async () => {
    const { h, endOffset } = await authorized()
    const anon = h.open({ principal: ANONYMOUS })
    expect(await errorOf(anon.request(exchanges.produce, { topic: 'chat.a', partition: 0, acks: 1, timeoutMs: 1000, batch: testBatch() }))).toMatchObject({ name: 'TOPIC_AUTHORIZATION_FAILED', message: 'principal "anonymous" may not write topic "chat.a"' })
    expect((await anon.request(exchanges.metadata, { topics: null })).topics).toEqual([])
    expect(endOffset('chat.a')).toBe(0)
  })

  it('with authorization off (the default) every request is served as before, and topic changes are still audited', async () => {
    const logger = recordingLogger()
    const h = await sessionHarness({}, { logger })
    const c = h.open()
    await c.request(exchanges.createTopic, { name: 'x', partitions: 1 })
    expect(await c.request(exchanges.produce, { topic: 'x', partition: 0, acks: 1, timeoutMs: 1000, batch: testBatch() })).toMatchObject({ baseOffset: 0 })
    expect((await c.request(exchanges.metadata, { topics: null })).topics.map((t) => t.name)).toEqual(['x'])
    expect(auditLines(logger.lines)).toEqual([expect.objectContaining({ action: 'topic.create', outcome: 'allowed', principal: 'anonymous', resource: 'x' })])
  })
})
