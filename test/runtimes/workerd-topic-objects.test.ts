/**
 * One Durable Object per topic (docs/edge.md, "Cloudflare"): the catalog object answers metadata naming, for each
 * topic, a leader of its own whose advertised URL the Worker routes to that topic's object. One SDK client produces to
 * and consumes two topics, each over its own socket to its object (the objects log their start with their topic and
 * broker id); a request for a topic at another object answers NOT_LEADER_OR_FOLLOWER; a new workerd on the persisted
 * storage serves both topics' records again. A deleted topic's partitions go from its object, and the name created
 * again keeps its broker id (its object). A Durable Stream asked at the catalog's URL is served by its topic's object.
 * Sends right after a topic's creation are written once each, in order, and so is a resend after the topic object's
 * socket is cut.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { exchanges } from '@samsa/shared'
import { createClient, type SamsaClient } from '@samsa/client-browser'
import { RawConnection } from '../support/raw-connection.js'
import { startTcpProxy } from '../support/tcp-proxy.js'
import { until } from '../support/until.js'
import { launchBroker, type LaunchedBroker } from './launchers.js'

interface ObjectStart {
  readonly role: string
  readonly brokerId: number
  readonly topic?: string
}

function objectStarts(output: string): ObjectStart[] {
  return output.split('\n').filter((l) => l.includes('"msg":"broker object started"')).map((l) => JSON.parse(l) as ObjectStart)
}

async function readTexts(client: SamsaClient, topic: string, count: number): Promise<string[]> {
  const sub = client.consumer().subscribe(topic, { from: 'earliest' })
  const out: string[] = []
  const timer = setTimeout(() => sub.close(), 10_000)
  try {
    for await (const r of sub) {
      out.push(r.text())
      if (out.length >= count) break
    }
  } finally {
    clearTimeout(timer)
    sub.close()
  }
  return out
}

describe('workerd: one Durable Object per topic', () => {
  let dataDir: string
  let broker: LaunchedBroker

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'samsa-workerd-topics-'))
    broker = await launchBroker('workerd', dataDir)
  })

  afterAll(async () => {
    broker?.kill()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('routes two topics to two objects over one SDK client, and keeps both across a restart', { timeout: 90_000 }, async () => {
    const client = createClient({ brokers: [broker.url], clientId: 'topic-objects', WebSocket: WebSocket as never })
    await client.admin.createTopic('alpha', { partitions: 2 })
    await client.admin.createTopic('beta', { partitions: 1 })
    const producer = client.producer({ acks: 'all' })
    await producer.send('alpha', [{ value: 'a0', partition: 0 }, { value: 'a1', partition: 1 }])
    await producer.send('beta', [{ value: 'b0' }, { value: 'b1' }])
    expect((await readTexts(client, 'alpha', 2)).sort()).toEqual(['a0', 'a1'])
    expect(await readTexts(client, 'beta', 2)).toEqual(['b0', 'b1'])
    await client.close()

    // Each topic's object started under its own broker id; the catalog (broker 0) holds no partition.
    const starts = objectStarts(broker.output())
    const alpha = starts.find((s) => s.topic === 'alpha')
    const beta = starts.find((s) => s.topic === 'beta')
    expect(alpha?.role).toBe('topic')
    expect(beta?.role).toBe('topic')
    expect(new Set([0, alpha?.brokerId, beta?.brokerId]).size).toBe(3)

    // The catalog's metadata names each topic's leader at its object's URL.
    const catalog = await RawConnection.open(broker.url)
    const metadata = await catalog.request(exchanges.metadata, { topics: ['alpha', 'beta'] })
    if (!metadata.ok) throw metadata.error
    const urlOf = (id: number | undefined) => metadata.value.brokers.find((b) => b.brokerId === id)?.url
    expect(metadata.value.topics.map((t) => [t.name, t.partitions.map((p) => p.leader)])).toEqual([['alpha', [alpha!.brokerId, alpha!.brokerId]], ['beta', [beta!.brokerId]]])
    expect(urlOf(alpha?.brokerId)).toBe(`${broker.url}/t/alpha`)
    expect(urlOf(beta?.brokerId)).toBe(`${broker.url}/t/beta`)
    // An answer lists only the brokers it names (and the one asked): a client connects only to the objects it uses.
    const onlyAlpha = await catalog.request(exchanges.metadata, { topics: ['alpha'] })
    expect(onlyAlpha.ok && onlyAlpha.value.brokers.map((b) => b.brokerId).sort((a, b) => a - b)).toEqual([0, alpha!.brokerId])

    // A partition asked of another object: NOT_LEADER_OR_FOLLOWER, naming its leader.
    const atCatalog = await catalog.request(exchanges.listOffsets, { topic: 'alpha', partition: 0, timestamp: -1 })
    expect(atCatalog.ok ? 'answered' : atCatalog.error.errorName).toBe('NOT_LEADER_OR_FOLLOWER')
    const alphaObject = await RawConnection.open(`${broker.url}/t/alpha`)
    // A topic object reads the catalog again at most once a second: until then a topic created after its last read is
    // unknown to it (UNKNOWN_TOPIC_OR_PARTITION, which the SDK retries as metadata propagating in a cluster).
    const wrong = await until(async () => {
      const r = await alphaObject.request(exchanges.listOffsets, { topic: 'beta', partition: 0, timestamp: -1 })
      return r.ok || r.error.errorName !== 'UNKNOWN_TOPIC_OR_PARTITION' ? r : null
    }, { timeoutMs: 5_000, what: 'alpha\'s object to learn of beta from the catalog' })
    expect(wrong.ok ? 'answered' : [wrong.error.errorName, wrong.error.details.leaderId]).toEqual(['NOT_LEADER_OR_FOLLOWER', beta!.brokerId])
    const right = await alphaObject.request(exchanges.listOffsets, { topic: 'alpha', partition: 1, timestamp: -1 })
    expect(right.ok && right.value.offset).toBe(1)
    catalog.close()
    alphaObject.close()

    await broker.stop()
    broker = await launchBroker('workerd', dataDir)
    const again = createClient({ brokers: [broker.url], clientId: 'topic-objects-again', WebSocket: WebSocket as never })
    try {
      expect((await readTexts(again, 'alpha', 2)).sort()).toEqual(['a0', 'a1'])
      expect(await readTexts(again, 'beta', 2)).toEqual(['b0', 'b1'])
      const [meta] = await again.producer({ acks: 'all' }).send('beta', [{ value: 'b2' }])
      expect(meta!.offset).toBe(2)
    } finally {
      await again.close()
    }
  })

  it('takes many concurrent sends right after the topic is created, each written once in order', { timeout: 60_000 }, async () => {
    // The topic's object must never answer for its own topic from a catalog answer older than its placement.
    const client = createClient({ brokers: [broker.url], clientId: 'topic-objects-burst', WebSocket: WebSocket as never })
    try {
      await client.admin.createTopic('burst', { partitions: 1 })
      const producer = client.producer({ acks: 'all' })
      const value = 'x'.repeat(1024)
      const sends = Array.from({ length: 12 }, (_, i) => producer.send('burst', Array.from({ length: 128 }, (_, j) => ({ value: `${i * 128 + j}:${value}` }))))
      const metas = (await Promise.all(sends)).flat()
      expect(metas.map((m) => m.offset)).toEqual(Array.from({ length: 12 * 128 }, (_, i) => i))
    } finally {
      await client.close()
    }
  })

  it('writes an idempotent resend once after the topic object\'s socket is cut', { timeout: 60_000 }, async () => {
    // A namespace first reached through the proxy advertises the proxy, so the SDK's socket to the topic's object
    // goes through it too (the conformance case cuts only the bootstrap socket on workerd).
    const proxy = await startTcpProxy(Number(new URL(broker.url).port))
    const direct = await RawConnection.open(`${broker.url}/ns/cut/t/once`).catch(() => null)
    expect(direct).toBeNull() // no such topic yet: its object refuses to start
    const client = createClient({ brokers: [`${proxy.url}/ns/cut`], clientId: 'topic-objects-cut', WebSocket: WebSocket as never, reconnectBackoff: { baseMs: 20, capMs: 200 } })
    try {
      await client.admin.createTopic('once', { partitions: 1 })
      const producer = client.producer({ acks: 'all' })
      await producer.send('once', [{ value: 'warm-up' }])
      expect(proxy.open()).toBe(2) // the bootstrap socket (the catalog) and the topic object's
      const topicObject = await RawConnection.open(`${broker.url}/ns/cut/t/once`)
      const logEnd = async () => {
        const r = await topicObject.request(exchanges.listOffsets, { topic: 'once', partition: 0, timestamp: -1 })
        return r.ok ? r.value.offset : -1
      }
      proxy.dropReplies(true)
      const sent = producer.send('once', [{ value: 'exactly-once' }])
      await until(async () => (await logEnd()) === 2, { timeoutMs: 10_000, what: 'the topic object to append the batch whose answer is dropped' })
      proxy.cut()
      proxy.dropReplies(false)
      const [meta] = await sent
      expect(meta!.offset).toBe(1)
      const [after] = await producer.send('once', [{ value: 'after' }])
      expect(after!.offset).toBe(2)
      expect(await logEnd()).toBe(3)
      topicObject.close()
    } finally {
      await client.close()
      await proxy.close()
    }
  })

  it('deletes a topic from its object, and a topic created again under the name is empty, in the same object', { timeout: 60_000 }, async () => {
    const client = createClient({ brokers: [broker.url], clientId: 'topic-objects-delete', WebSocket: WebSocket as never })
    try {
      await client.admin.createTopic('gone', { partitions: 1 })
      await client.producer({ acks: 'all' }).send('gone', [{ value: 'old' }])
      await client.admin.deleteTopic('gone')
      expect(await client.admin.listTopics()).not.toContain('gone')
      await client.admin.createTopic('gone', { partitions: 1 })
      const [meta] = await client.producer({ acks: 'all' }).send('gone', [{ value: 'new' }])
      expect(meta!.offset).toBe(0)
      expect(await readTexts(client, 'gone', 1)).toEqual(['new'])
      const ids = new Set(objectStarts(broker.output()).filter((s) => s.topic === 'gone').map((s) => s.brokerId))
      expect(ids.size).toBe(1)
    } finally {
      await client.close()
    }
  })

  it('serves a Durable Stream at the catalog\'s URL from the stream topic\'s object, closure included', { timeout: 60_000 }, async () => {
    const stream = `${broker.httpUrl}/v1/stream/notes`
    const text = { 'content-type': 'text/plain' }
    expect((await fetch(stream, { method: 'PUT', headers: text })).status).toBe(201)
    expect((await fetch(stream, { method: 'POST', headers: text, body: 'one' })).status).toBe(204)
    expect((await fetch(stream, { method: 'POST', headers: { ...text, 'stream-closed': 'true' }, body: 'two' })).status).toBeLessThan(300)
    const read = await fetch(`${stream}?offset=-1`)
    expect([read.status, await read.text(), read.headers.get('stream-closed')]).toEqual([200, 'onetwo', 'true'])
    expect((await fetch(stream, { method: 'POST', headers: text, body: 'late' })).status).toBe(409)
    // The stream's topic has an object of its own, as any topic.
    expect(objectStarts(broker.output()).some((s) => s.topic === 'notes')).toBe(true)
  })
})
