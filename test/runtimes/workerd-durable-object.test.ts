/**
 * What only the Durable Object has (workerd): hibernation and the alarm.
 * Session state survives the object's hibernation. Two
 * connections to a topic's object stay open and idle until workerd evicts it and starts it again (its log says "broker object
 * started" once more: its alarm woke it); then the connection that only said hello carries on — its next
 * request is answered on the session rebuilt from its attachment, the replayed hello's answer not sent again — and the
 * one that had subscribed is closed with 1013, so its SDK subscribes again from its positions. Records written before
 * are read back. Takes about half a minute: eviction is workerd's, after the object is idle for a while.
 * Retention runs on the object's alarm: with no request arriving, the oldest segments past retention.bytes go.
 * A new instance opens a partition from its recovery point (written on the alarm), verifying none of the log before it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { CloseCodes, exchanges } from '@samsa/shared'
import { createClient } from '@samsa/client-browser'
import { RawConnection } from '../support/raw-connection.js'
import { until } from '../support/until.js'
import { launchBroker, type LaunchedBroker } from './launchers.js'

/** How many times the object of `topic` logged its start. */
function topicStarts(output: string, topic: string): number {
  return output.split('\n').filter((l) => l.includes('"msg":"broker object started"') && l.includes(`"topic":"${topic}"`)).length
}

describe('workerd: hibernation and wake', () => {
  let dataDir: string
  let broker: LaunchedBroker

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'samsa-workerd-hibernation-'))
    // The object's alarm no sooner than 20 s ahead: the object idles long enough for workerd to evict it, then wakes.
    broker = await launchBroker('workerd', dataDir, ['--min-alarm-interval-ms', '20000'])
  })

  afterAll(async () => {
    broker?.kill()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('keeps an idle connection\'s session across an eviction and closes a subscriber\'s with 1013', { timeout: 150_000 }, async () => {
    const client = createClient({ brokers: [broker.url], clientId: 'hibernation', WebSocket: WebSocket as never })
    await client.admin.createTopic('sleepy', { partitions: 1 })
    await client.producer({ acks: 'all' }).send('sleepy', [{ value: 'before' }])
    await client.close()

    // Both on the topic's object (its URL in metadata): the one workerd evicts and starts again.
    const idle = await RawConnection.open(`${broker.url}/t/sleepy`)
    const subscriber = await RawConnection.open(`${broker.url}/t/sleepy`)
    const sub = await subscriber.request(exchanges.subscribe, { topic: 'sleepy', partition: 0, offset: 1, creditBytes: 1 << 20 })
    expect(sub.ok).toBe(true)
    const startsBefore = topicStarts(broker.output(), 'sleepy')
    await until(() => topicStarts(broker.output(), 'sleepy') > startsBefore, { timeoutMs: 120_000, what: 'workerd to evict the idle object and start it again' })

    expect((await subscriber.waitClosed(10_000)).code).toBe(CloseCodes.TRY_AGAIN_LATER)
    const metadata = await idle.request(exchanges.metadata, { topics: ['sleepy'] })
    expect(metadata.ok && metadata.value.topics.map((t) => [t.name, t.partitions[0]?.logEndOffset])).toEqual([['sleepy', 1]])
    idle.close()
  })
})

describe('workerd: retention on the alarm', () => {
  it('deletes the oldest segments past retention.bytes with no request arriving', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'samsa-workerd-retention-'))
    const broker = await launchBroker('workerd', dir, ['--segment-bytes', '1024', '--retention-bytes', '2048', '--retention-check-interval-ms', '1000', '--min-alarm-interval-ms', '1000'])
    try {
      const conn = await RawConnection.open(broker.url)
      expect((await conn.request(exchanges.createTopic, { name: 'old', partitions: 1 })).ok).toBe(true)
      const client = createClient({ brokers: [broker.url], clientId: 'retention', WebSocket: WebSocket as never })
      const producer = client.producer({ acks: 'all' })
      for (let i = 0; i < 8; i++) await producer.send('old', [{ value: `${i}:${'x'.repeat(600)}` }]) // one segment each
      await client.close()
      await until(() => /"msg":"retention deleted segments"/.test(broker.output()), { timeoutMs: 30_000, what: 'retention to run on the alarm' })
      // Offsets in metadata are the leader's: asked of the topic's object.
      const atTopic = await RawConnection.open(`${broker.url}/t/old`)
      const metadata = await atTopic.request(exchanges.metadata, { topics: ['old'] })
      atTopic.close()
      const partition = metadata.ok ? metadata.value.topics[0]?.partitions[0] : undefined
      expect(partition?.logEndOffset).toBe(8)
      expect(partition?.logStartOffset).toBeGreaterThan(0)
      conn.close()
    } finally {
      broker.kill()
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('workerd: the recovery point', () => {
  it('a fresh workerd opens the partition from its recovery point, verifying nothing written before it', { timeout: 90_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'samsa-workerd-recovery-'))
    const flags = ['--recovery-point-interval-ms', '1000', '--min-alarm-interval-ms', '1000']
    let broker = await launchBroker('workerd', dir, flags)
    try {
      const client = createClient({ brokers: [broker.url], clientId: 'recovery', WebSocket: WebSocket as never })
      await client.admin.createTopic('kept', { partitions: 1 })
      for (let i = 0; i < 20; i++) await client.producer({ acks: 'all' }).send('kept', [{ value: `r${i}` }])
      await client.close()
      // Each new workerd is a cold object on the same storage; the point is written on the alarm some time after the
      // last produce, so a start may come before it: start again until one opens from it (bounded).
      const opened = await until(async () => {
        await broker.stop()
        broker = await launchBroker('workerd', dir, flags)
        // The host starts the catalog object; the topic's object starts on its first request.
        expect((await fetch(`${broker.httpUrl}/t/kept/healthz`)).status).toBe(200)
        const line = broker.output().split('\n').find((l) => l.includes('"msg":"partition log recovered"') && l.includes('topics/kept/0'))
        const recovered = line === undefined ? null : (JSON.parse(line) as { resumedFrom: number | null; verifiedBytes: number })
        return recovered?.resumedFrom === 20 ? recovered : null
      }, { timeoutMs: 60_000, what: 'a start from the recovery point at offset 20' })
      expect(opened.verifiedBytes).toBe(0)
    } finally {
      broker.kill()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
