import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ByteReader } from '../../bytes/byte-reader.js'
import { ProtocolError } from '../../errors.js'
import { ApiKeys } from '../api-keys.js'
import { FRAME_HEADER_BYTES, encodeRequestFrame, readFrameHeader } from '../frame.js'
import { hello } from './hello.js'
import { decodeRaftMessageFrame, encodeRaftMessageFrame, raftMessagesEncodedBytes, type RaftWireEntry, type RaftWireMessage } from './raft-message.js'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const fixture = (path: string) => Uint8Array.from(Buffer.from(readFileSync(new URL(path, import.meta.url), 'utf8').replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex'))
const enc = (s: string) => new TextEncoder().encode(s)

/** The values testdata/raft-message.hex holds, in order. */
const golden: RaftWireMessage[] = [
  { type: 'append', from: 1, to: 2, term: 3, index: 5, logTerm: 2, commit: 4, entries: [{ term: 3, index: 6, data: new Uint8Array(0) }, { term: 3, index: 7, data: enc('abc') }] },
  { type: 'appendResponse', from: 2, to: 1, term: 3, index: 7, reject: true, rejectHint: 6, logTerm: 2 },
  { type: 'vote', from: 3, to: 1, term: 4, index: 7, logTerm: 3 },
  { type: 'preVote', from: 3, to: 2, term: 5, index: 7, logTerm: 3 },
  { type: 'voteResponse', from: 1, to: 3, term: 4, reject: false },
  { type: 'preVoteResponse', from: 2, to: 3, term: 5, reject: true },
  { type: 'heartbeat', from: 1, to: 2, term: 3, commit: 4, context: enc('r1') },
  { type: 'heartbeatResponse', from: 2, to: 1, term: 3 },
  { type: 'snapshot', from: 1, to: 3, term: 3, snapshot: { metadata: { index: 100, term: 2, voters: [1, 2, 3], learners: [4] }, data: enc('img') } },
  { type: 'propose', from: 2, to: 1, term: 3, entries: [{ term: 0, index: 0, data: enc('p') }] },
  { type: 'readIndex', from: 2, to: 1, term: 3, context: enc('q7') },
  { type: 'readIndexResponse', from: 1, to: 2, term: 3, index: 7, context: enc('q7') },
]

const id = fc.integer({ min: 1, max: 0xffff_ffff })
const nat = fc.maxSafeInteger().map(Math.abs)
const data = fc.uint8Array({ maxLength: 40 })
const entry: fc.Arbitrary<RaftWireEntry> = fc.record({ term: nat, index: nat, data })
const env = { from: id, to: id, term: nat }
const message: fc.Arbitrary<RaftWireMessage> = fc.oneof(
  fc.record({ type: fc.constant('append' as const), ...env, index: nat, logTerm: nat, commit: nat, entries: fc.array(entry, { maxLength: 4 }) }),
  fc.record({ type: fc.constant('appendResponse' as const), ...env, index: nat, reject: fc.boolean(), rejectHint: nat, logTerm: nat }),
  fc.record({ type: fc.constantFrom('vote' as const, 'preVote' as const), ...env, index: nat, logTerm: nat }),
  fc.record({ type: fc.constantFrom('voteResponse' as const, 'preVoteResponse' as const), ...env, reject: fc.boolean() }),
  fc.record({ type: fc.constant('heartbeat' as const), ...env, commit: nat, context: data }, { requiredKeys: ['type', 'from', 'to', 'term', 'commit'] }),
  fc.record({ type: fc.constant('heartbeatResponse' as const), ...env, context: data }, { requiredKeys: ['type', 'from', 'to', 'term'] }),
  fc.record({
    type: fc.constant('snapshot' as const),
    ...env,
    snapshot: fc.record({ metadata: fc.record({ index: nat, term: nat, voters: fc.array(id, { maxLength: 5 }), learners: fc.array(id, { maxLength: 3 }) }), data }),
  }),
  fc.record({ type: fc.constant('propose' as const), ...env, entries: fc.array(entry, { maxLength: 4 }) }),
  fc.record({ type: fc.constant('readIndex' as const), ...env, context: data }),
  fc.record({ type: fc.constant('readIndexResponse' as const), ...env, index: nat, context: data }),
)

function expectOnlyProtocolErrors(run: () => unknown): void {
  try {
    run()
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e
  }
}

describe('raftMessage frames', () => {
  const frame = fixture('../testdata/raft-message.hex')

  it('encode one message of each type to the golden frame byte for byte', () => {
    expect(hex(encodeRaftMessageFrame(1, golden))).toBe(hex(frame))
  })

  it('decode the golden frame to its header and messages', () => {
    expect(readFrameHeader(frame)).toEqual({ apiKey: ApiKeys.RAFT_MESSAGE, apiVersion: 1, correlationId: 0 })
    expect(decodeRaftMessageFrame(frame)).toEqual(golden)
  })

  it('decode(encode(x)) = x for any batch of messages, within the size bound', () => {
    fc.assert(fc.property(fc.array(message, { maxLength: 6 }), (messages) => {
      const bytes = encodeRaftMessageFrame(1, messages)
      expect(bytes.length).toBeLessThanOrEqual(raftMessagesEncodedBytes(messages))
      expect(decodeRaftMessageFrame(bytes)).toEqual(messages)
    }), { numRuns: 300 })
  })

  it('decoded bytes are copies that do not pin or alias the frame', () => {
    const bytes = encodeRaftMessageFrame(1, golden)
    const [append] = decodeRaftMessageFrame(bytes) as [Extract<RaftWireMessage, { type: 'append' }>]
    bytes.fill(0)
    expect(append.entries[1]!.data).toEqual(enc('abc'))
    expect(append.entries[1]!.data.buffer.byteLength).toBe(3)
  })

  it('throw nothing but ProtocolError on random, mutated, truncated or extended frames', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), (body) => {
      const f = new Uint8Array(FRAME_HEADER_BYTES + body.length)
      f.set([0, ApiKeys.RAFT_MESSAGE, 0, 1, 0, 0, 0, 0])
      f.set(body, FRAME_HEADER_BYTES)
      expectOnlyProtocolErrors(() => decodeRaftMessageFrame(f))
    }), { numRuns: 500 })
    fc.assert(fc.property(fc.array(message, { minLength: 1, maxLength: 3 }), fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 3 }), fc.nat({ max: 12 }), (messages, mutations, cut) => {
      const f = encodeRaftMessageFrame(1, messages)
      for (const m of mutations) f[FRAME_HEADER_BYTES + (m.at % (f.length - FRAME_HEADER_BYTES))] = m.byte
      expectOnlyProtocolErrors(() => decodeRaftMessageFrame(f.subarray(0, f.length - cut)))
      expectOnlyProtocolErrors(() => decodeRaftMessageFrame(Uint8Array.from([...f, 7])))
    }), { numRuns: 500 })
  })

  it('reject trailing bytes, an unknown type, node id 0, a negative term and another api key', () => {
    expect(() => decodeRaftMessageFrame(Uint8Array.from([...frame, 0]))).toThrow(/trailing/)
    const one = (m: RaftWireMessage) => encodeRaftMessageFrame(1, [m])
    const vote = one({ type: 'voteResponse', from: 1, to: 2, term: 1, reject: false })
    const patched = (at: number, bytes: number[]) => {
      const f = vote.slice()
      f.set(bytes, FRAME_HEADER_BYTES + 4 + at)
      return f
    }
    expect(() => decodeRaftMessageFrame(patched(0, [12]))).toThrow(/unknown raft message type 12/)
    expect(() => decodeRaftMessageFrame(patched(1, [0, 0, 0, 0]))).toThrow(/from node id is 0/)
    expect(() => decodeRaftMessageFrame(patched(9, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toThrow(/term -1 is negative/)
    const other = vote.slice()
    other[1] = ApiKeys.PING
    expect(() => decodeRaftMessageFrame(other)).toThrow(/not a raftMessage frame/)
  })

  it('a count claiming 2^32 − 1 messages or entries throws before allocating', () => {
    const f = encodeRaftMessageFrame(1, [])
    f.set([0xff, 0xff, 0xff, 0xff], FRAME_HEADER_BYTES)
    expect(() => decodeRaftMessageFrame(f)).toThrow(/cannot fit/)
    const a = encodeRaftMessageFrame(1, [{ type: 'append', from: 1, to: 2, term: 1, index: 0, logTerm: 0, commit: 0, entries: [] }])
    a.set([0xff, 0xff, 0xff, 0xff], a.length - 4)
    expect(() => decodeRaftMessageFrame(a)).toThrow(/cannot fit/)
  })
})

describe('hello from a cluster peer', () => {
  const frame = fixture('../testdata/hello-peer.request.hex')
  const request = { clientId: 'samsa-peer', minVersion: 1, maxVersion: 1, token: 'x.y.z', peer: { nodeId: 2, clusterId: 'c1' } }

  it('encodes the peer tail to the golden frame and decodes it back', () => {
    expect(hex(encodeRequestFrame(hello, 1, 1, request))).toBe(hex(frame))
    expect(hello.decodeRequest(new ByteReader(frame, FRAME_HEADER_BYTES))).toEqual(request)
  })

  it('a client hello (no tail) decodes with no peer', () => {
    const plain = encodeRequestFrame(hello, 1, 1, { clientId: 'c', minVersion: 1, maxVersion: 1 })
    expect(hello.decodeRequest(new ByteReader(plain, FRAME_HEADER_BYTES))).toEqual({ clientId: 'c', minVersion: 1, maxVersion: 1 })
  })
})
