/**
 * @module A seeded, deterministic simulation of a Raft group: a manual clock (one tick per step), a lossy,
 * duplicating, reordering network with partitions, crash-restarts that lose unsynced writes, paused
 * processes (SIGSTOP: no ticks, no reads from the socket, no disk) and slow clocks, random proposals, reads
 * and compactions; invariants checked at every Ready, durable write and application;
 * then the network heals and a leader must be elected and a proposal committed everywhere within a bound.
 */
import type { NodeId } from '../../packages/server/src/controller/raft/index.js'
import { describeMessage } from '../../packages/server/src/controller/raft/testing/describe.js'
import { nextSegment } from './fault-schedule.js'
import { Invariants, InvariantViolation } from './invariants.js'
import { SeededRandom } from './seeded-random.js'
import { SimNetwork, healthyLinks } from './sim-network.js'
import { SimNode } from './sim-node.js'

export interface SimulationOptions {
  readonly seed: number
  readonly voters: number
  readonly learners: number
  /** Ticks of faults before the network heals. */
  readonly chaosTicks: number
  /** After healing, a proposal must be applied on every node within this many ticks. */
  readonly livenessBoundTicks: number
  /** Receives a line per event (for replaying a failing seed). */
  readonly trace?: (line: string) => void
}

export interface SimulationResult {
  readonly ticks: number
  readonly proposals: number
  readonly committed: number
  readonly elections: number
  readonly maxTerm: number
  readonly crashes: number
  readonly compactions: number
  readonly readsServed: number
  readonly messagesSent: number
  readonly recoveryTicks: number
}

const ELECTION_TICKS = 10
const HEARTBEAT_TICKS_MAX = 3

export function runSimulation(opts: SimulationOptions): SimulationResult {
  const random = new SeededRandom(opts.seed)
  const trace = opts.trace
  const voters = Array.from({ length: opts.voters }, (_, i) => i + 1)
  const learners = Array.from({ length: opts.learners }, (_, i) => opts.voters + i + 1)
  const ids = [...voters, ...learners]
  const network = new SimNetwork(random.fork())
  const checker = new Invariants()
  let marker: { data: string; index?: number } | undefined
  const onApplied = (_id: NodeId, data: string, index: number) => {
    if (marker && data === marker.data) marker.index = index
  }
  // Small appends and windows make replication split across messages (old-term entries travel without the
  // new leader's no-op: the figure-8 situation).
  const maxAppendBytes = random.pick([1, 8, 32, 256])
  const maxInflightAppends = random.int(1, 8)
  const heartbeatTicks = random.int(1, HEARTBEAT_TICKS_MAX)
  const nodes = ids.map(
    (id) =>
      new SimNode(
        { id, membership: { voters, learners }, electionTicks: ELECTION_TICKS, heartbeatTicks, maxAppendBytes, maxInflightAppends },
        network,
        checker,
        onApplied,
      ),
  )
  for (const n of nodes) n.start(random.fork())
  const byId = new Map(nodes.map((n) => [n.id, n]))
  const downUntil = new Map<NodeId, number>()
  const pausedUntil = new Map<NodeId, number>()
  let slowClock: NodeId | undefined
  const paused = (id: NodeId) => (pausedUntil.get(id) ?? 0) > now
  const running = (n: SimNode) => n.alive && !paused(n.id)
  let now = 0
  let proposals = 0
  let reads = 0
  let crashes = 0
  let compactions = 0
  const leader = () => {
    let best: { id: NodeId; term: number } | undefined
    for (const n of nodes) {
      const s = n.node?.status()
      if (s?.role === 'leader' && (!best || s.term > best.term)) best = { id: n.id, term: s.term }
    }
    return best?.id
  }

  const deliver = () => {
    for (const m of network.takeDue(now)) {
      const to = byId.get(m.to)!
      if (!to.alive) continue
      if (paused(to.id)) {
        network.hold(m, pausedUntil.get(to.id)! + random.int(0, 3))
        continue
      }
      trace?.(`t=${now} ${describeMessage(m)}`)
      to.step(m, now)
    }
  }

  const step = (chaos: boolean, syncChance: number) => {
    deliver()
    // A slow clock ticks every other step.
    for (const n of nodes) if (running(n) && (n.id !== slowClock || now % 2 === 0)) n.tick(now)
    if (random.chance(0.3)) {
      const n = random.pick(nodes)
      if (running(n)) {
        const data = `s${opts.seed}-p${++proposals}`
        const ok = n.propose(data, now)
        trace?.(`t=${now} propose ${data} on ${n.id}: ${ok ? 'accepted' : 'dropped'}`)
      }
    }
    if (random.chance(0.2)) {
      const n = random.pick(nodes)
      if (running(n)) n.readIndex(`s${opts.seed}-r${++reads}`, now)
    }
    for (const n of nodes) {
      if (running(n) && random.chance(0.03) && n.maybeCompact(12)) {
        compactions++
        trace?.(`t=${now} ${n.id} compacted at ${n.appliedIndex}`)
      }
    }
    if (chaos) {
      for (const n of nodes) {
        if (n.alive && random.chance(0.004)) {
          crashes++
          const lost = n.unsyncedCount
          n.crash(random)
          downUntil.set(n.id, now + random.int(5, 40))
          trace?.(`t=${now} crash ${n.id} (${lost} unsynced writes, some lost)`)
        } else if (running(n) && random.chance(0.003)) {
          pausedUntil.set(n.id, now + random.int(5, 60))
          trace?.(`t=${now} pause ${n.id} until t=${pausedUntil.get(n.id)}`)
        }
      }
    }
    for (const n of nodes) {
      if (!n.alive && now >= (downUntil.get(n.id) ?? 0)) {
        n.start(random.fork())
        trace?.(`t=${now} restart ${n.id} at term ${n.node!.status().term} commit ${n.node!.status().commit}`)
      }
    }
    for (const n of nodes) if (running(n) && random.chance(syncChance)) n.sync(now)
    now++
  }

  // Faults.
  let segmentEnd = 0
  while (now < opts.chaosTicks) {
    if (now >= segmentEnd) {
      const seg = nextSegment(random, ids, leader())
      network.conditions = seg.links
      network.canTalk = seg.canTalk
      slowClock = random.chance(0.3) ? random.pick(ids) : undefined
      segmentEnd = now + random.int(2, 8) * ELECTION_TICKS
      trace?.(`t=${now} network: ${seg.describe}, drop ${seg.links.dropRate.toFixed(2)}, dup ${seg.links.duplicateRate.toFixed(2)}, delay ≤ ${seg.links.maxDelayTicks}${slowClock ? `; slow clock on ${slowClock}` : ''}`)
    }
    step(true, 0.7)
  }

  // Healing: every node up, every link healthy, every Ready synced at once. Then liveness.
  network.conditions = healthyLinks
  network.canTalk = () => true
  for (const n of nodes) downUntil.set(n.id, 0)
  pausedUntil.clear()
  slowClock = undefined
  trace?.(`t=${now} network healed`)
  const healedAt = now
  let proposedAt = -1
  let markers = 0
  while (true) {
    if (now - healedAt > opts.livenessBoundTicks) {
      const states = nodes.map((n) => {
        const s = n.node?.status()
        return s ? `${n.id}:${s.role}@${s.term} commit ${s.commit} applied ${n.appliedIndex}` : `${n.id}:down`
      })
      throw new InvariantViolation(`liveness: no proposal applied on every node within ${opts.livenessBoundTicks} ticks of healing (${states.join('; ')})`)
    }
    const idx = marker?.index
    if (idx !== undefined && nodes.every((n) => n.alive && n.appliedIndex >= idx)) break
    const l = leader()
    // (Re)propose a marker on the leader when none is pending or the last one has not committed in a while.
    if (l !== undefined && idx === undefined && (proposedAt < 0 || now - proposedAt > 4 * ELECTION_TICKS)) {
      marker = { data: `s${opts.seed}-marker${++markers}` }
      proposedAt = now
      byId.get(l)!.propose(marker.data, now)
      trace?.(`t=${now} propose ${marker.data} on leader ${l}`)
    }
    step(false, 1)
  }

  return {
    ticks: now,
    proposals,
    committed: checker.maxCommitted,
    elections: checker.elections,
    maxTerm: checker.maxTerm,
    crashes,
    compactions,
    readsServed: checker.readsServed,
    messagesSent: network.sent,
    recoveryTicks: now - healedAt,
  }
}
