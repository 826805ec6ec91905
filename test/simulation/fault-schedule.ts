/**
 * @module The faults a simulated run goes through: segments of a few election timeouts, each with its own
 * link conditions (loss, duplication, delay and so reordering) and partition shape.
 */
import type { NodeId } from '../../packages/server/src/controller/raft/index.js'
import type { SeededRandom } from './seeded-random.js'
import { healthyLinks, type LinkConditions } from './sim-network.js'

export type PartitionKind = 'none' | 'majority-minority' | 'isolate-leader' | 'ring' | 'bridge' | 'one-way'

export interface FaultSegment {
  readonly kind: PartitionKind
  readonly links: LinkConditions
  readonly canTalk: (a: NodeId, b: NodeId) => boolean
  readonly describe: string
}

const everyone = () => true

function groups(of: NodeId[][]): (a: NodeId, b: NodeId) => boolean {
  const group = new Map<NodeId, number>()
  of.forEach((g, i) => g.forEach((id) => group.set(id, i)))
  return (a, b) => group.get(a) === group.get(b)
}

/** Picks the next segment. `leader` is the current leader, if any (the isolate-leader fault cuts it off). */
export function nextSegment(random: SeededRandom, ids: readonly NodeId[], leader: NodeId | undefined): FaultSegment {
  const links: LinkConditions = random.chance(0.35)
    ? healthyLinks
    : {
        dropRate: random.next() * 0.3,
        duplicateRate: random.next() * 0.1,
        minDelayTicks: 1,
        maxDelayTicks: random.int(1, 8),
      }
  const kind = random.pick<PartitionKind>(['none', 'none', 'majority-minority', 'isolate-leader', 'ring', 'bridge', 'one-way'])
  const shuffled = random.shuffle([...ids])
  switch (kind) {
    case 'none':
      return { kind, links, canTalk: everyone, describe: 'connected' }
    case 'majority-minority': {
      const cut = random.int(1, Math.floor((ids.length - 1) / 2))
      const minority = shuffled.slice(0, cut)
      return { kind, links, canTalk: groups([minority, shuffled.slice(cut)]), describe: `minority ${minority.join(',')} cut off` }
    }
    case 'isolate-leader': {
      const alone = leader ?? shuffled[0]!
      return { kind, links, canTalk: groups([[alone], ids.filter((id) => id !== alone)]), describe: `${alone} isolated` }
    }
    case 'ring': {
      // Each node reaches only its two neighbours in a random cycle.
      const pos = new Map(shuffled.map((id, i) => [id, i]))
      const n = shuffled.length
      const canTalk = (a: NodeId, b: NodeId) => {
        const d = Math.abs(pos.get(a)! - pos.get(b)!)
        return d <= 1 || d === n - 1
      }
      return { kind, links, canTalk, describe: `ring ${shuffled.join('-')}` }
    }
    case 'bridge': {
      // One node reaches everyone; the others form two groups that cannot reach each other.
      const [bridge, ...rest] = shuffled
      const half = Math.ceil(rest.length / 2)
      const left = new Set(rest.slice(0, half))
      const canTalk = (a: NodeId, b: NodeId) => a === bridge || b === bridge || left.has(a) === left.has(b)
      return { kind, links, canTalk, describe: `bridge ${bridge} between ${[...left].join(',')} and ${rest.slice(half).join(',')}` }
    }
    case 'one-way': {
      // One node's outgoing messages are lost, its incoming ones arrive.
      const mute = shuffled[0]!
      return { kind, links, canTalk: (a) => a !== mute, describe: `${mute} cannot send` }
    }
  }
}
