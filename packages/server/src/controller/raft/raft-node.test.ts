import { describe, expect, it } from 'vitest'
import { MemoryRaftStorage, RaftNode, type Message } from './index.js'

const enc = (s: string) => new TextEncoder().encode(s)

function singleNode() {
  const storage = new MemoryRaftStorage({ voters: [1], learners: [] })
  const node = new RaftNode({ id: 1, storage, electionTicks: 10, heartbeatTicks: 1, random: () => 0 })
  return { storage, node }
}

/** Drives a node's Readies into its storage (the persist step of the driver contract). */
function drain(storage: MemoryRaftStorage, node: RaftNode) {
  const applied: string[] = []
  while (node.hasReady()) {
    const rd = node.ready()
    if (rd.snapshot) storage.applySnapshot(rd.snapshot)
    storage.append(rd.entries)
    if (rd.hardState) storage.setHardState(rd.hardState)
    for (const e of rd.committedEntries) if (e.data.length > 0) applied.push(new TextDecoder().decode(e.data))
    node.advance()
  }
  return applied
}

describe('RaftNode contract', () => {
  it('a single voter elects itself on its election timeout and commits proposals on its own', () => {
    const { storage, node } = singleNode()
    for (let i = 0; i < 10; i++) node.tick()
    expect(node.status().role).toBe('leader')
    expect(node.propose(enc('x'))).toBe(true)
    expect(drain(storage, node)).toEqual(['x'])
    expect(storage.hardState()).toEqual({ term: 1, vote: 1, commit: 2 })
  })

  it('refuses a second ready() before advance(), and advance() without ready()', () => {
    const { node } = singleNode()
    node.campaign()
    node.ready()
    expect(() => node.ready()).toThrow(/before advance/)
    node.advance()
    expect(() => node.advance()).toThrow(/without a ready/)
  })

  it('rejects empty proposals (empty entries are leader no-ops) and drops proposals without a leader', () => {
    const storage = new MemoryRaftStorage({ voters: [1, 2, 3], learners: [] })
    const node = new RaftNode({ id: 1, storage, electionTicks: 10, heartbeatTicks: 1, random: () => 0 })
    expect(() => node.propose(new Uint8Array(0))).toThrow(/needs data/)
    expect(node.propose(enc('x'))).toBe(false)
    expect(node.readIndex(enc('r'))).toBe(false)
  })

  it('compacts only up to the applied index, and serves the snapshot afterwards', () => {
    const { storage, node } = singleNode()
    node.campaign()
    node.propose(enc('a'))
    expect(() => node.compact(2, enc('s'))).toThrow(/beyond the applied index/)
    drain(storage, node)
    const snapshot = node.compact(2, enc('s'))
    expect(snapshot.metadata).toMatchObject({ index: 2, term: 1, voters: [1] })
    expect(storage.firstIndex()).toBe(3)
  })

  it('ignores messages from non-members or addressed to another node', () => {
    const storage = new MemoryRaftStorage({ voters: [1, 2, 3], learners: [] })
    const node = new RaftNode({ id: 1, storage, electionTicks: 10, heartbeatTicks: 1, random: () => 0 })
    const vote = (from: number, to: number): Message => ({ type: 'vote', from, to, term: 5, index: 0, logTerm: 0 })
    node.step(vote(9, 1))
    node.step(vote(2, 3))
    expect(node.status().term).toBe(0)
    node.step(vote(2, 1))
    expect(node.status()).toMatchObject({ term: 5, vote: 2 })
  })

  it('validates its configuration', () => {
    const storage = new MemoryRaftStorage({ voters: [1, 2, 3], learners: [] })
    expect(() => new RaftNode({ id: 4, storage, electionTicks: 10, heartbeatTicks: 1, random: () => 0 })).toThrow(/not a voter or learner/)
    expect(() => new RaftNode({ id: 1, storage, electionTicks: 1, heartbeatTicks: 1, random: () => 0 })).toThrow(/heartbeatTicks < electionTicks/)
    const empty = new MemoryRaftStorage({ voters: [], learners: [] })
    expect(() => new RaftNode({ id: 1, storage: empty, electionTicks: 10, heartbeatTicks: 1, random: () => 0 })).toThrow(/at least one voter/)
  })
})
