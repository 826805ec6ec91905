import { ApiKeys, SamsaError, exchanges } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { handleRequest, type HandledExchange, type RequestHandlers } from './request-handlers.js'
import { sessionHarness } from './testing/session-harness.js'
import { testBatch } from '../log/testing/batches.js'

describe('request handlers', () => {
  it('are checked by the compiler against exchanges: a missing handler or a wrong response type does not compile', () => {
    const ok = { ping: () => ({}) } satisfies Pick<RequestHandlers, 'ping'>
    // @ts-expect-error every exchange but hello needs a handler
    const missing: RequestHandlers = { ping: () => ({}) }
    // @ts-expect-error createTopic answers { name, partitions }
    const wrong: Pick<RequestHandlers, 'createTopic'> = { createTopic: () => ({ name: 'x' }) }
    const handled: HandledExchange[] = ['metadata', 'ping']
    expect([ok, missing, wrong, handled]).toHaveLength(4)
  })

  it('answer every exchange but hello, and refuse hello, push and unknown api keys with UNKNOWN_API_KEY', async () => {
    const h = await sessionHarness()
    const { request, session } = h.open()
    expect(await request(exchanges.ping, {})).toEqual({})
    const handlers = { ping: () => ({}) } as unknown as RequestHandlers
    for (const apiKey of [ApiKeys.HELLO, ApiKeys.PUSH, 999]) {
      const thrown = (() => {
        try {
          return handleRequest(handlers, session, apiKey, {})
        } catch (e) {
          return e
        }
      })()
      expect(thrown).toBeInstanceOf(SamsaError)
      expect((thrown as SamsaError).errorName).toBe('UNKNOWN_API_KEY')
    }
    expect(handleRequest(handlers, session, ApiKeys.PING, {})).toEqual({})
  })

  it('refuse broker-to-broker exchanges from an ordinary client (CLUSTER_AUTHORIZATION_FAILED), and replication factors above 1 on a single node', async () => {
    const h = await sessionHarness()
    const { request } = h.open()
    const errorOf = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => (e instanceof SamsaError ? e.errorName : e))
    expect(await errorOf(request(exchanges.brokerRegistration, { brokerId: 9, clusterId: 'samsa-local', advertisedUrl: 'ws://x:1', rack: null, previousBrokerEpoch: -1, incompleteReplicas: [] }))).toBe('CLUSTER_AUTHORIZATION_FAILED')
    expect(await errorOf(request(exchanges.brokerHeartbeat, { brokerId: 9, brokerEpoch: 1, metadataOffset: 0, wantShutDown: false, incompleteReplicas: [] }))).toBe('CLUSTER_AUTHORIZATION_FAILED')
    expect(await errorOf(request(exchanges.allocateProducerIds, { brokerId: 9, brokerEpoch: 1 }))).toBe('CLUSTER_AUTHORIZATION_FAILED')
    expect(await errorOf(request(exchanges.createTopic, { name: 'r3', partitions: 1, replicationFactor: 3 }))).toBe('INVALID_REPLICATION_FACTOR')
    expect(await request(exchanges.createTopic, { name: 'r1', partitions: 1, replicationFactor: 1, minInsyncReplicas: -1 })).toEqual({ name: 'r1', partitions: 1 })
    expect(await request(exchanges.metadata, { topics: ['r1'] })).toMatchObject({ topics: [{ name: 'r1', partitions: [{ leader: expect.any(Number) }] }] })
    expect((await request(exchanges.metadata, { topics: ['r1'] })).topics[0]!.partitions[0]!.replicas).toBeUndefined()
  })

  it('answer offsetForLeaderEpoch to an ordinary client asking as a consumer (replicaId −1, KIP-320), but not for a replica', async () => {
    const h = await sessionHarness()
    const { request } = h.open()
    const errorOf = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => (e instanceof SamsaError ? e.errorName : e))
    await request(exchanges.createTopic, { name: 'e', partitions: 1 })
    await request(exchanges.produce, { topic: 'e', partition: 0, acks: 1, timeoutMs: 1000, batch: testBatch({ tag: 'a', records: 3 }) })
    // A single node leads at epoch 0: epoch 0 ends at the log end; an older epoch is unknown.
    expect(await request(exchanges.offsetForLeaderEpoch, { topic: 'e', partition: 0, replicaId: -1, currentLeaderEpoch: 0, leaderEpoch: 0 })).toEqual({ leaderEpoch: 0, endOffset: 3 })
    expect(await request(exchanges.offsetForLeaderEpoch, { topic: 'e', partition: 0, replicaId: -1, currentLeaderEpoch: -1, leaderEpoch: 5 })).toEqual({ leaderEpoch: 0, endOffset: 3 })
    expect(await errorOf(request(exchanges.offsetForLeaderEpoch, { topic: 'e', partition: 0, replicaId: 2, currentLeaderEpoch: 0, leaderEpoch: 0 }))).toBe('CLUSTER_AUTHORIZATION_FAILED')
    expect(await errorOf(request(exchanges.offsetForLeaderEpoch, { topic: 'nope', partition: 0, replicaId: -1, currentLeaderEpoch: -1, leaderEpoch: 0 }))).toBe('UNKNOWN_TOPIC_OR_PARTITION')
  })
})
