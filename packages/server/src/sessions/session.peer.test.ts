import { ApiKeys, decodeResponseFrame, encodeRaftMessageFrame, encodeRequestFrame, exchanges, readFrameHeader, type RaftWireMessage } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { Broker } from '../broker/broker.js'
import { brokerConfig } from '../broker/broker-config.js'
import { silentLogger } from '../clock.js'
import { MemoryLogStorage } from '../log/memory-log-storage.js'
import { ManualClock } from '../log/testing/manual-clock.js'
import { Session, type PeerGate } from './session.js'
import { RecordingSocket } from './testing/session-harness.js'

const vote: RaftWireMessage = { type: 'vote', from: 2, to: 1, term: 3, index: 0, logTerm: 0 }
const forged: RaftWireMessage = { type: 'vote', from: 3, to: 1, term: 3, index: 0, logTerm: 0 }

async function setup(withGate = true) {
  const broker = await Broker.start(brokerConfig({ brokerId: 1, clusterId: 'c1' }), { storage: new MemoryLogStorage(), clock: new ManualClock(), logger: silentLogger })
  const received: [number, readonly RaftWireMessage[]][] = []
  const gate: PeerGate = { isPeer: (id) => id === 2 || id === 3, onRaftMessages: (from, ms) => void received.push([from, ms]) }
  const socket = new RecordingSocket()
  const session = new Session(broker, socket, withGate ? gate : undefined)
  const hello = (peer?: { nodeId: number; clusterId: string }) => {
    session.onFrame(encodeRequestFrame(exchanges.hello, 1, 1, { clientId: 'x', minVersion: 1, maxVersion: 1, ...(peer ? { peer } : {}) }))
    return decodeResponseFrame(socket.sent.at(-1)!)
  }
  return { session, socket, received, hello }
}

describe('broker-to-broker raftMessage frames', () => {
  it('are refused before hello and from an ordinary client, reaching no controller', async () => {
    const { session, socket, received, hello } = await setup()
    session.onFrame(encodeRaftMessageFrame(1, [vote]))
    expect(decodeResponseFrame(socket.sent.at(-1)!).error?.errorName).toBe('HELLO_REQUIRED')
    expect(hello().error).toBeNull()
    session.onFrame(encodeRaftMessageFrame(1, [vote]))
    const refused = decodeResponseFrame(socket.sent.at(-1)!)
    expect(refused.header).toEqual({ apiKey: ApiKeys.RAFT_MESSAGE, apiVersion: 1, correlationId: 0 })
    expect(refused.error?.errorName).toBe('CLUSTER_AUTHORIZATION_FAILED')
    expect(received).toEqual([])
    expect(session.closed).toBe(false)
  })

  it('a peer hello must name this cluster id and a voter other than this node', async () => {
    expect((await setup()).hello({ nodeId: 2, clusterId: 'other' }).error?.errorName).toBe('INCONSISTENT_CLUSTER_ID')
    expect((await setup()).hello({ nodeId: 9, clusterId: 'c1' }).error?.errorName).toBe('CLUSTER_AUTHORIZATION_FAILED')
    expect((await setup(false)).hello({ nodeId: 2, clusterId: 'c1' }).error?.errorName).toBe('CLUSTER_AUTHORIZATION_FAILED')
  })

  it("from a peer reach the controller unanswered, keeping only the peer's own messages", async () => {
    const { session, socket, received, hello } = await setup()
    expect(hello({ nodeId: 2, clusterId: 'c1' }).error).toBeNull()
    const framesBefore = socket.sent.length
    session.onFrame(encodeRaftMessageFrame(1, [vote, forged]))
    expect(received).toEqual([[2, [vote]]])
    expect(socket.sent.length).toBe(framesBefore)
  })

  it('a malformed frame from a peer is answered with INVALID_REQUEST and the connection stays', async () => {
    const { session, socket, received, hello } = await setup()
    hello({ nodeId: 2, clusterId: 'c1' })
    const frame = encodeRaftMessageFrame(1, [vote])
    session.onFrame(frame.subarray(0, frame.length - 3))
    const r = decodeResponseFrame(socket.sent.at(-1)!)
    expect(readFrameHeader(socket.sent.at(-1)!).apiKey).toBe(ApiKeys.RAFT_MESSAGE)
    expect(r.error?.errorName).toBe('INVALID_REQUEST')
    expect(received).toEqual([])
    expect(session.closed).toBe(false)
  })
})
