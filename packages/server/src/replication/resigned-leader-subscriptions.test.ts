/**
 * Subscriptions across a leader change: a broker that stops leading a partition ends its subscriptions on it with
 * NOT_LEADER_OR_FOLLOWER (retriable), so the consumer re-subscribes at the new leader instead of waiting on a replica
 * that no longer serves it; and the new leader, whose high watermark trails its log end until the followers fetch
 * again, accepts a position between the two and delivers once the records are committed.
 */
import { ApiKeys, MIN_PROTOCOL_VERSION, decodePush, decodeResponseFrame, encodeRequestFrame, exchanges, readFrameHeader, type Push } from '@samsa/shared'
import { afterEach, describe, expect, it } from 'vitest'
import { testBatch } from '../log/testing/batches.js'
import { Session } from '../sessions/session.js'
import type { SessionSocket } from '../sessions/session-socket.js'
import { InProcessCluster } from './testing/in-process-cluster.js'

const T = 'orders'
let cluster: InProcessCluster | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
})

/** A client session on a broker that records the pushes and the responses (by correlation id) it receives. */
function clientSession(c: InProcessCluster, id: number) {
  const pushes: Push[] = []
  const responses = new Map<number, ReturnType<typeof decodeResponseFrame>>()
  const socket: SessionSocket = {
    send(frame) {
      const h = readFrameHeader(frame)
      if (h.apiKey === ApiKeys.PUSH) pushes.push(decodePush(frame))
      else responses.set(h.correlationId, decodeResponseFrame(frame))
    },
    close() {},
    bufferedAmount: () => 0,
    pauseReading() {},
    resumeReading() {},
  }
  const session = new Session(c.node(id).broker, socket, { isPeer: () => false, onRaftMessages: () => {} })
  session.onFrame(encodeRequestFrame(exchanges.hello, MIN_PROTOCOL_VERSION, 1, { clientId: 'consumer', minVersion: 1, maxVersion: 1 }))
  return { session, pushes, responses }
}

const settle = async () => {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r))
}

describe('subscriptions across a leader change', () => {
  it('a controlled shutdown that moves leadership away ends the partition’s subscriptions with NOT_LEADER_OR_FOLLOWER naming the new leader', async () => {
    const c = (cluster = await InProcessCluster.start([1, 2, 3], { fetcher: { maxWaitMs: 100, retryBackoffMs: 10 } }))
    await c.createTopic(T, 1, 3, 1)
    const leader = c.partition(T, 0).leader
    const { session, pushes } = clientSession(c, leader)
    await c.node(leader).broker.produce({ topic: T, partition: 0, acks: 1, timeoutMs: 10_000, batch: testBatch({ tag: 'a', records: 1 }) })
    session.onFrame(encodeRequestFrame(exchanges.subscribe, 1, 2, { topic: T, partition: 0, offset: 0, creditBytes: 1 << 20 }))
    await settle()
    expect(pushes.map((p) => p.kind)).toContain('records')
    expect(session.subscriptions.size).toBe(1)

    await c.shutDown(leader)
    await settle()
    expect(c.partition(T, 0).leader).not.toBe(leader)
    const ended = pushes.find((p) => p.kind === 'ended')
    expect(ended).toMatchObject({ kind: 'ended', error: { errorName: 'NOT_LEADER_OR_FOLLOWER', retriable: true, details: { leaderId: c.partition(T, 0).leader, leaderEpoch: c.partition(T, 0).leaderEpoch } } })
    expect(session.subscriptions.size).toBe(0)
  })

  it('a position between the high watermark and the log end is accepted and its records are delivered once committed', async () => {
    const c = (cluster = await InProcessCluster.start([1, 2, 3], { fetcher: { maxWaitMs: 100, retryBackoffMs: 10 } }))
    await c.createTopic(T, 1, 3, 1)
    const leader = c.partition(T, 0).leader
    const followers = c.partition(T, 0).replicas.filter((r) => r !== leader)
    const log = c.node(leader).broker.localReplica(T, 0)
    for (const f of followers) c.net.setDown(f, true)
    await c.node(leader).broker.produce({ topic: T, partition: 0, acks: 1, timeoutMs: 10_000, batch: testBatch({ tag: 'a', records: 3 }) })
    expect(log.logEndOffset).toBe(3)
    expect(log.highWatermark).toBe(0)
    const { session, pushes, responses } = clientSession(c, leader)
    const subscribe = (correlationId: number, offset: number) =>
      session.onFrame(encodeRequestFrame(exchanges.subscribe, 1, correlationId, { topic: T, partition: 0, offset, creditBytes: 1 << 20 }))
    subscribe(2, 2)
    subscribe(3, 4) // past the log end: out of range
    await settle()
    expect(session.subscriptions.size).toBe(1)
    expect(exchanges.subscribe.decodeResponse(responses.get(2)!.body!)).toMatchObject({ offset: 2, highWatermark: 0 })
    expect(responses.get(3)!.error).toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE', details: { logStartOffset: 0, logEndOffset: 3 } })
    expect(pushes).toEqual([])
    for (const f of followers) c.net.setDown(f, false)
    for (let round = 0; round < 100 && log.highWatermark < 3; round++) {
      c.clock.advance(50)
      await settle()
    }
    expect(log.highWatermark).toBe(3)
    await settle()
    const delivered = pushes.filter((p) => p.kind === 'records')
    expect(delivered.length).toBeGreaterThan(0)
  })
})
