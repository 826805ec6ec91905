import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ByteReader } from '../bytes/byte-reader.js'
import { ProtocolError } from '../errors.js'
import { ApiKeys, apiKeyName } from './api-keys.js'
import type { Exchange } from './exchange.js'
import { exchangeByApiKey, exchanges } from './exchanges.js'
import { MAX_METADATA_WAIT_MS } from './messages/metadata.js'
import { decodeResponseFrame, encodeRequestFrame, encodeResponseFrame, FRAME_HEADER_BYTES, readFrameHeader } from './frame.js'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const fromHex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'))
const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
/** Reads a testdata/*.hex file: '#' comments and whitespace are ignored. */
const fixture = (path: string) => fromHex(readFileSync(new URL(path, import.meta.url), 'utf8').replace(/#.*$/gm, '').replace(/\s+/g, ''))
const batch = fixture('../records/testdata/two-records.hex')

type AnyExchange = Exchange<unknown, unknown>
type Name = keyof typeof exchanges

/** The values the hand-assembled testdata/<exchange>.{request,response}.hex frames hold; correlation ids follow this order from 1. */
const golden: Record<Name, { request: unknown; response: unknown }> = {
  hello: {
    request: { clientId: 'samsa-test', minVersion: 1, maxVersion: 1 },
    response: { version: 1, brokerId: 1, clusterId: 'c1', maxFrameBytes: 1_048_576, maxBatchBytes: 1_000_000, maxRecordBytes: 100_000, maxSubscriptions: 100 },
  },
  metadata: {
    request: { topics: ['orders', 'logs'] },
    response: {
      brokers: [{ brokerId: 1, url: 'ws://b1:9092' }],
      topics: [
        { name: 'orders', errorCode: 0, partitions: [{ partition: 0, leader: 1, leaderEpoch: 5, logStartOffset: 10, highWatermark: 42, logEndOffset: 44 }] },
        { name: 'logs', errorCode: 3, partitions: [] },
      ],
    },
  },
  createTopic: { request: { name: 'orders', partitions: 3 }, response: { name: 'orders', partitions: 3 } },
  deleteTopic: { request: { name: 'orders' }, response: {} },
  initProducerId: { request: { producerId: -1, producerEpoch: -1 }, response: { producerId: 1000, producerEpoch: 0 } },
  produce: {
    request: { topic: 'orders', partition: 0, acks: -1, timeoutMs: 30_000, batch },
    response: { baseOffset: 42, logAppendTimeMs: 1_700_000_000_000, logStartOffset: 0, duplicate: false },
  },
  fetch: {
    request: { topic: 'orders', partition: 0, offset: 42, maxBytes: 1_048_576, maxWaitMs: 500, minBytes: 1 },
    response: { highWatermark: 44, logStartOffset: 0, records: batch },
  },
  listOffsets: { request: { topic: 'orders', partition: 2, timestamp: -2 }, response: { offset: 0, timestamp: -1, leaderEpoch: 5 } },
  subscribe: {
    request: { topic: 'orders', partition: 0, offset: -1, creditBytes: 1_048_576 },
    response: { subscriptionId: 1, offset: 44, logStartOffset: 0, highWatermark: 44 },
  },
  unsubscribe: { request: { subscriptionId: 1 }, response: {} },
  credit: { request: { subscriptionId: 1, bytes: 65_536 }, response: {} },
  ping: { request: {}, response: {} },
  offsetForLeaderEpoch: { request: { topic: 'orders', partition: 1, replicaId: 2, currentLeaderEpoch: 7, leaderEpoch: 5 }, response: { leaderEpoch: 5, endOffset: 120 } },
  brokerRegistration: {
    request: { brokerId: 2, clusterId: 'c1', advertisedUrl: 'ws://b2:9092', rack: 'rack1', previousBrokerEpoch: -1, incompleteReplicas: [{ topic: 'orders', partition: 1 }] },
    response: { brokerEpoch: 7 },
  },
  brokerHeartbeat: {
    request: { brokerId: 2, brokerEpoch: 7, metadataOffset: 42, wantShutDown: false, incompleteReplicas: [{ topic: 'orders', partition: 3 }] },
    response: { isFenced: true, shouldShutDown: false },
  },
  allocateProducerIds: { request: { brokerId: 2, brokerEpoch: 7 }, response: { firstProducerId: 2000, size: 1000 } },
  alterPartition: {
    request: { brokerId: 2, brokerEpoch: 7, topic: 'orders', partition: 1, leaderEpoch: 3, partitionEpoch: 5, newIsr: [2, 3] },
    response: { leader: 2, leaderEpoch: 3, partitionEpoch: 6, replicas: [2, 3, 1], isr: [2, 3] },
  },
  fetchMetadata: {
    request: { afterOffset: 41, knownLeaderId: 2, maxWaitMs: 500, maxBytes: 65_536 },
    response: { leaderId: 3, term: 4, latestOffset: 43, snapshot: null, entries: [{ offset: 42, data: Uint8Array.of(1, 2, 3) }, { offset: 43, data: Uint8Array.of(9) }] },
  },
  reauthenticate: { request: { token: 'a.b.c' }, response: { expiresAtMs: 1_800_000_000_000 } },
  findCoordinator: { request: { groupId: 'billing' }, response: { brokerId: 2, url: 'ws://b2:9092' } },
  consumerGroupHeartbeat: {
    request: { groupId: 'billing', memberId: 'm1', memberEpoch: 0, instanceId: 'tab-1', rebalanceTimeoutMs: 30_000, subscribedTopicNames: ['orders'], serverAssignor: 'uniform', ownedPartitions: [] },
    response: { memberId: 'm1', memberEpoch: 3, heartbeatIntervalMs: 5_000, assignment: [{ topic: 'orders', partitions: [0, 2] }] },
  },
  offsetCommit: {
    request: { groupId: 'billing', memberId: 'm1', memberEpoch: 3, topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: 42, leaderEpoch: 5, metadata: null }] }] },
    response: { topics: [{ topic: 'orders', partitions: [{ partition: 0, errorCode: 0 }] }] },
  },
  offsetFetch: {
    request: { groupId: 'billing', memberId: '', memberEpoch: -1, topics: null },
    response: { topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: 42, leaderEpoch: 5, metadata: 'host-a', errorCode: 0 }] }] },
  },
  listGroups: { request: {}, response: { groups: [{ groupId: 'billing', state: 'stable', memberCount: 2, groupEpoch: 4 }] } },
  describeGroups: {
    request: { groupId: 'billing' },
    response: {
      groupId: 'billing',
      state: 'stable',
      groupEpoch: 4,
      assignmentEpoch: 4,
      assignor: 'uniform',
      members: [{ memberId: 'm1', instanceId: null, memberEpoch: 4, clientHost: '127.0.0.1', subscribedTopicNames: ['orders'], assignment: [{ topic: 'orders', partitions: [0] }], targetAssignment: [{ topic: 'orders', partitions: [0] }] }],
      offsets: [{ topic: 'orders', partition: 0, committedOffset: 42, committedLeaderEpoch: 5, highWatermark: 50, lag: 8 }],
    },
  },
}

const str = fc.string({ unit: 'binary', maxLength: 24 })
const i8 = fc.integer({ min: -0x80, max: 0x7f })
const u16 = fc.integer({ min: 0, max: 0xffff })
const i16 = fc.integer({ min: -0x8000, max: 0x7fff })
const i32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff })
const u32 = fc.integer({ min: 0, max: 0xffff_ffff })
const i64 = fc.maxSafeInteger()
const bytes = fc.uint8Array({ maxLength: 120 })
const empty = fc.constant({})
const nullableStr = fc.option(fc.string({ unit: 'binary', maxLength: 12 }), { nil: null })
/** Topics unique in a list, partitions unique per topic: the decoder refuses repeats. */
const topicPartitions = fc.uniqueArray(fc.record({ topic: str, partitions: fc.uniqueArray(i32, { maxLength: 4 }) }), { maxLength: 3, selector: (t) => t.topic })

const arbitraries: Record<Name, { request: fc.Arbitrary<unknown>; response: fc.Arbitrary<unknown> }> = {
  hello: {
    request: fc.record({ clientId: str, minVersion: u16, maxVersion: u16, token: str.filter((t) => t !== ''), peer: fc.record({ nodeId: u32, clusterId: str }) }, { requiredKeys: ['clientId', 'minVersion', 'maxVersion'] }),
    response: fc.record({ version: u16, brokerId: i32, clusterId: str, maxFrameBytes: u32, maxBatchBytes: u32, maxRecordBytes: u32, maxSubscriptions: u32 }),
  },
  metadata: {
    // Every topic, some topics, or some topics with a leader watch (one list of epochs per named topic).
    request: fc.oneof(
      fc.record({ topics: fc.option(fc.array(str, { maxLength: 5 }), { nil: null }) }),
      fc.array(fc.tuple(str, fc.array(i32, { maxLength: 4 })), { maxLength: 5 }).chain((named) =>
        fc.integer({ min: 0, max: MAX_METADATA_WAIT_MS }).map((maxWaitMs) => ({ topics: named.map(([t]) => t), wait: { maxWaitMs, leaderEpochs: named.map(([, e]) => e) } })),
      ),
    ),
    // A single node's answer (no replica tail) or a cluster's (every partition with replicas and ISR).
    response: fc.boolean().chain((cluster) =>
      fc.record({
        brokers: fc.array(fc.record({ brokerId: i32, url: str }), { maxLength: 4 }),
        topics: fc.array(
          fc.record({
            name: str,
            errorCode: i16,
            partitions: fc.array(
              cluster
                ? fc.record({ partition: i32, leader: i32, leaderEpoch: i32, logStartOffset: i64, highWatermark: i64, logEndOffset: i64, replicas: fc.array(i32, { maxLength: 4 }), isr: fc.array(i32, { maxLength: 4 }) })
                : fc.record({ partition: i32, leader: i32, leaderEpoch: i32, logStartOffset: i64, highWatermark: i64, logEndOffset: i64 }),
              { maxLength: 4 },
            ),
          }),
          { maxLength: 4 },
        ),
      }),
    ),
  },
  createTopic: {
    request: fc.oneof(
      fc.record({ name: str, partitions: i32 }),
      // replicationFactor −1 is the default: it decodes as absent.
      fc.record({ name: str, partitions: i32, replicationFactor: i16.filter((n) => n !== -1), minInsyncReplicas: i16 }),
      fc.record({ name: str, partitions: i32, configs: fc.dictionary(str, str, { minKeys: 1, maxKeys: 3 }) }),
    ),
    response: fc.record({ name: str, partitions: i32 }),
  },
  deleteTopic: { request: fc.record({ name: str }), response: empty },
  initProducerId: { request: fc.record({ producerId: i64, producerEpoch: i16 }), response: fc.record({ producerId: i64, producerEpoch: i16 }) },
  produce: {
    request: fc.record({ topic: str, partition: i32, acks: i8, timeoutMs: u32, batch: bytes }),
    response: fc.record({ baseOffset: i64, logAppendTimeMs: i64, logStartOffset: i64, duplicate: fc.boolean() }),
  },
  fetch: {
    request: fc.oneof(
      fc.record({ topic: str, partition: i32, offset: i64, maxBytes: u32, maxWaitMs: u32, minBytes: u32 }),
      fc.record({ topic: str, partition: i32, offset: i64, maxBytes: u32, maxWaitMs: u32, minBytes: u32, replicaId: i32, currentLeaderEpoch: i32 }),
    ),
    response: fc.record({ highWatermark: i64, logStartOffset: i64, records: bytes }),
  },
  listOffsets: { request: fc.record({ topic: str, partition: i32, timestamp: i64 }), response: fc.record({ offset: i64, timestamp: i64, leaderEpoch: i32 }) },
  subscribe: {
    request: fc.record({ topic: str, partition: i32, offset: i64, creditBytes: u32 }),
    response: fc.record({ subscriptionId: u32, offset: i64, logStartOffset: i64, highWatermark: i64 }),
  },
  unsubscribe: { request: fc.record({ subscriptionId: u32 }), response: empty },
  credit: { request: fc.record({ subscriptionId: u32, bytes: u32 }), response: empty },
  ping: { request: empty, response: empty },
  offsetForLeaderEpoch: {
    request: fc.record({ topic: str, partition: i32, replicaId: i32, currentLeaderEpoch: i32, leaderEpoch: i32 }),
    response: fc.record({ leaderEpoch: i32, endOffset: fc.oneof(i64, fc.constant(-1)) }),
  },
  brokerRegistration: {
    request: fc.record({ brokerId: i32, clusterId: str, advertisedUrl: str, rack: fc.option(str, { nil: null }), previousBrokerEpoch: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }), incompleteReplicas: fc.array(fc.record({ topic: str, partition: i32 }), { maxLength: 3 }) }),
    response: fc.record({ brokerEpoch: i64 }),
  },
  brokerHeartbeat: {
    request: fc.record({ brokerId: i32, brokerEpoch: i64, metadataOffset: i64, wantShutDown: fc.boolean(), incompleteReplicas: fc.array(fc.record({ topic: str, partition: i32 }), { maxLength: 3 }) }),
    response: fc.record({ isFenced: fc.boolean(), shouldShutDown: fc.boolean() }),
  },
  allocateProducerIds: { request: fc.record({ brokerId: i32, brokerEpoch: i64 }), response: fc.record({ firstProducerId: i64, size: i32 }) },
  alterPartition: {
    request: fc.record({ brokerId: i32, brokerEpoch: i64, topic: str, partition: i32, leaderEpoch: i32, partitionEpoch: i32, newIsr: fc.array(i32, { maxLength: 5 }) }),
    response: fc.record({ leader: i32, leaderEpoch: i32, partitionEpoch: i32, replicas: fc.array(i32, { maxLength: 5 }), isr: fc.array(i32, { maxLength: 5 }) }),
  },
  fetchMetadata: {
    request: fc.record({ afterOffset: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }), knownLeaderId: i32, maxWaitMs: u32, maxBytes: u32 }),
    response: fc.record({
      leaderId: i32,
      term: i64,
      latestOffset: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
      snapshot: fc.option(bytes, { nil: null }),
      entries: fc.array(fc.record({ offset: i64, data: bytes }), { maxLength: 4 }),
    }),
  },
  reauthenticate: { request: fc.record({ token: str }), response: fc.record({ expiresAtMs: fc.oneof(i64, fc.constant(-1)) }) },
  findCoordinator: { request: fc.record({ groupId: str }), response: fc.record({ brokerId: i32, url: str }) },
  consumerGroupHeartbeat: {
    request: fc.record({
      groupId: str,
      memberId: str,
      memberEpoch: i32,
      instanceId: nullableStr,
      rebalanceTimeoutMs: i32,
      subscribedTopicNames: fc.option(fc.array(str, { maxLength: 3 }), { nil: null }),
      serverAssignor: nullableStr,
      ownedPartitions: fc.option(topicPartitions, { nil: null }),
    }),
    response: fc.record({ memberId: str, memberEpoch: i32, heartbeatIntervalMs: i32, assignment: fc.option(topicPartitions, { nil: null }) }),
  },
  offsetCommit: {
    request: fc.record({
      groupId: str,
      memberId: str,
      memberEpoch: i32,
      topics: fc.array(fc.record({ topic: str, partitions: fc.array(fc.record({ partition: i32, offset: i64, leaderEpoch: i32, metadata: nullableStr }), { maxLength: 3 }) }), { maxLength: 3 }),
    }),
    response: fc.record({ topics: fc.array(fc.record({ topic: str, partitions: fc.array(fc.record({ partition: i32, errorCode: i16 }), { maxLength: 3 }) }), { maxLength: 3 }) }),
  },
  offsetFetch: {
    request: fc.record({ groupId: str, memberId: str, memberEpoch: i32, topics: fc.option(topicPartitions, { nil: null }) }),
    response: fc.record({
      topics: fc.array(fc.record({ topic: str, partitions: fc.array(fc.record({ partition: i32, offset: i64, leaderEpoch: i32, metadata: nullableStr, errorCode: i16 }), { maxLength: 3 }) }), { maxLength: 3 }),
    }),
  },
  listGroups: { request: empty, response: fc.record({ groups: fc.array(fc.record({ groupId: str, state: str, memberCount: i32, groupEpoch: i32 }), { maxLength: 3 }) }) },
  describeGroups: {
    request: fc.record({ groupId: str }),
    response: fc.record({
      groupId: str,
      state: str,
      groupEpoch: i32,
      assignmentEpoch: i32,
      assignor: str,
      members: fc.array(
        fc.record({ memberId: str, instanceId: nullableStr, memberEpoch: i32, clientHost: str, subscribedTopicNames: fc.array(str, { maxLength: 3 }), assignment: topicPartitions, targetAssignment: topicPartitions }),
        { maxLength: 3 },
      ),
      offsets: fc.array(fc.record({ topic: str, partition: i32, committedOffset: i64, committedLeaderEpoch: i32, highWatermark: i64, lag: i64 }), { maxLength: 3 }),
    }),
  },
}

const names = Object.keys(exchanges) as Name[]
const exchange = (name: Name) => exchanges[name] as AnyExchange

function decodeRequestFrame(ex: AnyExchange, frame: Uint8Array): unknown {
  readFrameHeader(frame)
  return ex.decodeRequest(new ByteReader(frame, FRAME_HEADER_BYTES))
}
function decodeResponseBody(ex: AnyExchange, frame: Uint8Array): unknown {
  const decoded = decodeResponseFrame(frame)
  return decoded.error ?? ex.decodeResponse(decoded.body)
}
function expectOnlyProtocolErrors(run: () => unknown): void {
  try {
    run()
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e
  }
}

describe('the exchange table', () => {
  it('has one exchange per api key, named as in ApiKeys, and none for the one-way PUSH and RAFT_MESSAGE', () => {
    expect(exchangeByApiKey.size).toBe(names.length)
    for (const ex of exchangeByApiKey.values()) expect(kebab(ex.name).replace(/-/g, '_').toUpperCase()).toBe(apiKeyName(ex.apiKey))
    expect(exchangeByApiKey.has(ApiKeys.PUSH)).toBe(false)
    expect(exchangeByApiKey.has(ApiKeys.RAFT_MESSAGE)).toBe(false)
  })

  it('has golden fixtures and arbitraries for every exchange', () => {
    expect(Object.keys(golden).sort()).toEqual([...names].sort())
    expect(Object.keys(arbitraries).sort()).toEqual([...names].sort())
  })
})

describe.each(names.map((name, i) => [name, i + 1] as const))('%s golden frames', (name, correlationId) => {
  const ex = exchange(name)
  const requestFrame = fixture(`./testdata/${kebab(name)}.request.hex`)
  const responseFrame = fixture(`./testdata/${kebab(name)}.response.hex`)

  it('encodes the request to the fixture byte for byte', () => {
    expect(hex(encodeRequestFrame(ex, 1, correlationId, golden[name].request))).toBe(hex(requestFrame))
  })

  it('decodes the request fixture to its header and value', () => {
    expect(readFrameHeader(requestFrame)).toEqual({ apiKey: ex.apiKey, apiVersion: 1, correlationId })
    expect(decodeRequestFrame(ex, requestFrame)).toEqual(golden[name].request)
  })

  it('encodes the response to the fixture byte for byte', () => {
    expect(hex(encodeResponseFrame(ex, 1, correlationId, golden[name].response))).toBe(hex(responseFrame))
  })

  it('decodes the response fixture to its header and value', () => {
    const decoded = decodeResponseFrame(responseFrame)
    expect(decoded.header).toEqual({ apiKey: ex.apiKey, apiVersion: 1, correlationId })
    expect(decoded.error).toBeNull()
    expect(ex.decodeResponse(decoded.body!)).toEqual(golden[name].response)
  })
})

describe('fetch with the replica tail', () => {
  const request = { topic: 'orders', partition: 0, offset: 42, maxBytes: 1_048_576, maxWaitMs: 500, minBytes: 1, replicaId: 2, currentLeaderEpoch: 9 }
  const frame = fixture('./testdata/fetch-replica.request.hex')

  it('encodes a follower fetch to its fixture and decodes it back; a client fetch has no tail', () => {
    expect(hex(encodeRequestFrame(exchanges.fetch, 1, 7, request))).toBe(hex(frame))
    expect(decodeRequestFrame(exchange('fetch'), frame)).toEqual(request)
    expect(decodeRequestFrame(exchange('fetch'), fixture('./testdata/fetch.request.hex'))).not.toHaveProperty('replicaId')
  })

  it('rejects a tail cut short', () => {
    expect(() => decodeRequestFrame(exchange('fetch'), frame.subarray(0, frame.length - 2))).toThrow(ProtocolError)
  })
})

describe('fetchMetadata with a snapshot', () => {
  const frame = fixture('./testdata/fetch-metadata-snapshot.response.hex')
  const response = { leaderId: 0, term: 2, latestOffset: 1200, snapshot: Uint8Array.of(0xca, 0xfe, 0xba, 0xbe), entries: [] }

  it('encodes an answer carrying the image to its fixture and decodes it back', () => {
    expect(hex(encodeResponseFrame(exchanges.fetchMetadata, 1, 7, response))).toBe(hex(frame))
    expect(exchanges.fetchMetadata.decodeResponse(decodeResponseFrame(frame).body!)).toEqual(response)
  })
})

describe.each(names)('%s round trips', (name) => {
  const ex = exchange(name)

  it('decodeRequest(encodeRequest(x)) = x for any request', () => {
    fc.assert(fc.property(arbitraries[name].request, u32, (request, correlationId) => {
      const frame = encodeRequestFrame(ex, 1, correlationId, request)
      expect(readFrameHeader(frame)).toEqual({ apiKey: ex.apiKey, apiVersion: 1, correlationId })
      expect(decodeRequestFrame(ex, frame)).toEqual(request)
    }), { numRuns: 200 })
  })

  it('decodeResponse(encodeResponse(x)) = x for any response', () => {
    fc.assert(fc.property(arbitraries[name].response, u32, (response, correlationId) => {
      const frame = encodeResponseFrame(ex, 1, correlationId, response)
      expect(decodeResponseFrame(frame).header.correlationId).toBe(correlationId)
      expect(decodeResponseBody(ex, frame)).toEqual(response)
    }), { numRuns: 200 })
  })
})

describe.each(names)('%s decoders on hostile bytes', (name) => {
  const ex = exchange(name)
  const mutation = fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) })
  const hostile = (frame: Uint8Array, mutations: { at: number; byte: number }[], cut: number, extra: Uint8Array): Uint8Array => {
    const out = frame.slice()
    for (const m of mutations) if (out.length > 0) out[m.at % out.length] = m.byte
    const kept = out.subarray(0, out.length - (cut % (out.length + 1)))
    const result = new Uint8Array(kept.length + extra.length)
    result.set(kept)
    result.set(extra, kept.length)
    return result
  }

  it('throw nothing but ProtocolError on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (body) => {
      expectOnlyProtocolErrors(() => ex.decodeRequest(new ByteReader(body)))
      expectOnlyProtocolErrors(() => ex.decodeResponse(new ByteReader(body)))
      expectOnlyProtocolErrors(() => decodeResponseBody(ex, body))
    }), { numRuns: 500 })
  })

  it('throw nothing but ProtocolError on mutated, truncated or extended valid frames', () => {
    const edits = [fc.array(mutation, { maxLength: 3 }), fc.nat({ max: 8 }).chain((n) => fc.oneof(fc.constant(0), fc.constant(n))), fc.uint8Array({ maxLength: 3 })] as const
    fc.assert(fc.property(arbitraries[name].request, arbitraries[name].response, ...edits, (request, response, mutations, cut, extra) => {
      const req = hostile(encodeRequestFrame(ex, 1, 1, request), mutations, cut, extra)
      const res = hostile(encodeResponseFrame(ex, 1, 1, response), mutations, cut, extra)
      expectOnlyProtocolErrors(() => decodeRequestFrame(ex, req))
      expectOnlyProtocolErrors(() => decodeResponseBody(ex, res))
    }), { numRuns: 500 })
  })

  it('reject trailing bytes after a request or a response', () => {
    const withTrailer = (frame: Uint8Array) => Uint8Array.from([...frame, 0])
    if (name !== 'produce') expect(() => decodeRequestFrame(ex, withTrailer(encodeRequestFrame(ex, 1, 1, golden[name].request)))).toThrow(ProtocolError)
    if (name !== 'fetch') expect(() => decodeResponseBody(ex, withTrailer(encodeResponseFrame(ex, 1, 1, golden[name].response)))).toThrow(ProtocolError)
  })
})

describe('optional cluster tails (old frames stay valid)', () => {
  it('a createTopic with replicationFactor and minInsyncReplicas encodes to its fixture and decodes back', () => {
    const frame = fixture('./testdata/create-topic-replicated.request.hex')
    const request = { name: 'orders', partitions: 6, replicationFactor: 3, minInsyncReplicas: 2 }
    expect(hex(encodeRequestFrame(exchanges.createTopic, 1, 3, request))).toBe(hex(frame))
    expect(decodeRequestFrame(exchange('createTopic'), frame)).toEqual(request)
  })

  it('a createTopic with configs and no replication factor sends the default (−1) before them', () => {
    const request = { name: 'offsets', partitions: 1, configs: { 'cleanup.policy': 'compact' } }
    const frame = encodeRequestFrame(exchanges.createTopic, 1, 3, request)
    expect(decodeRequestFrame(exchange('createTopic'), frame)).toEqual(request)
  })

  it('a metadata request with a leader watch round-trips; old requests decode without one', () => {
    const request = { topics: ['orders', 'logs'], wait: { maxWaitMs: 10_000, leaderEpochs: [[3, 4], []] } }
    const frame = encodeRequestFrame(exchanges.metadata, 1, 5, request)
    expect(decodeRequestFrame(exchange('metadata'), frame)).toEqual(request)
    const plain = encodeRequestFrame(exchanges.metadata, 1, 5, { topics: ['orders'] })
    expect(decodeRequestFrame(exchange('metadata'), plain)).toEqual({ topics: ['orders'] })
  })

  it('a leader watch waiting longer than MAX_METADATA_WAIT_MS, or for every topic, is refused', () => {
    const tooLong = encodeRequestFrame(exchanges.metadata, 1, 5, { topics: ['orders'], wait: { maxWaitMs: MAX_METADATA_WAIT_MS + 1, leaderEpochs: [[0]] } })
    expect(() => decodeRequestFrame(exchange('metadata'), tooLong)).toThrow(/maxWaitMs 30001 is outside \[0, 30000\]/)
    expect(() => encodeRequestFrame(exchanges.metadata, 1, 5, { topics: null, wait: { maxWaitMs: 1, leaderEpochs: [] } })).toThrow(RangeError)
    // A tail naming more epochs than the frame holds fails on its count before allocating.
    expect(() => exchanges.metadata.decodeRequest(new ByteReader(fromHex('00000001000161000003e8ffffffff')))).toThrow(/^array of \d+ elements cannot fit in \d+ bytes$/)
  })

  it('a cluster metadata response carries replicas and ISR per partition in a tail after the topics', () => {
    const frame = fixture('./testdata/metadata-replicas.response.hex')
    const response = {
      brokers: [{ brokerId: 1, url: 'ws://b1:9092' }, { brokerId: 2, url: 'ws://b2:9092' }],
      topics: [{
        name: 'orders',
        errorCode: 0,
        partitions: [
          { partition: 0, leader: 1, leaderEpoch: 3, logStartOffset: 0, highWatermark: 5, logEndOffset: 6, replicas: [1, 2], isr: [1] },
          { partition: 1, leader: -1, leaderEpoch: 4, logStartOffset: 0, highWatermark: 0, logEndOffset: 0, replicas: [2, 1], isr: [2] },
        ],
      }],
    }
    expect(hex(encodeResponseFrame(exchanges.metadata, 1, 2, response))).toBe(hex(frame))
    expect(decodeResponseBody(exchange('metadata'), frame)).toEqual(response)
  })
})

describe('count fields claiming more elements than the frame holds', () => {
  /** Rejected by a count check itself (by default ByteReader.array's: the count against the bytes left), before any element is read or allocated. */
  const quick = (run: () => unknown, countCheck = /^array of \d+ elements cannot fit in \d+ bytes$/) => {
    expect(run).toThrow(ProtocolError)
    expect(run).toThrow(countCheck)
  }

  it('a metadata response claiming 2^32 − 1 brokers, topics or partitions throws before allocating', () => {
    quick(() => exchanges.metadata.decodeResponse(new ByteReader(fromHex('ffffffff'))))
    quick(() => exchanges.metadata.decodeResponse(new ByteReader(fromHex('00000000 ffffffff'.replace(' ', '')))))
    quick(() => exchanges.metadata.decodeResponse(new ByteReader(fromHex('00000000000000010001610000ffffffff'))))
  })

  it('a metadata request claiming 2^31 − 1 topics throws before allocating', () => {
    quick(() => exchanges.metadata.decodeRequest(new ByteReader(fromHex('7fffffff0000'))), /^2147483647 topics named; at most \d+ per request$/)
  })

  it('a metadata request with a topic count below −1 is rejected', () => {
    expect(() => exchanges.metadata.decodeRequest(new ByteReader(fromHex('fffffffe')))).toThrow(ProtocolError)
  })
})

describe('the client side of an exchange', () => {
  it('is the same codec as the exchange: the request encoder and response decoder the broker side is built on', async () => {
    const index: Record<string, unknown> = await import('../index.js')
    const sides = Object.keys(index).filter((k) => k.endsWith('ClientSide'))
    expect(sides.length).toBeGreaterThan(0)
    for (const key of sides) {
      const name = key.slice(0, -'ClientSide'.length)
      const exchange: AnyExchange | undefined = Object.entries(exchanges).find(([n]) => n === name)?.[1]
      expect(exchange, `${key} names no exchange`).toBeDefined()
      const inPlace = exchange!.frameInPlace ? { frameInPlace: exchange!.frameInPlace } : {}
      expect(index[key]).toEqual({ apiKey: exchange!.apiKey, name: exchange!.name, encodeRequest: exchange!.encodeRequest, decodeResponse: exchange!.decodeResponse, ...inPlace })
    }
  })
})
