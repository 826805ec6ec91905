/**
 * @module The simulated network: every message is delayed by a number of ticks, may be dropped or duplicated,
 * and messages due in the same tick are delivered in random order (reordering). A partition is a predicate
 * on links, checked when a message is delivered (messages in flight across a new cut are lost).
 */
import type { Message, NodeId } from '../../packages/server/src/controller/raft/index.js'
import type { SeededRandom } from './seeded-random.js'

export interface LinkConditions {
  readonly dropRate: number
  readonly duplicateRate: number
  readonly minDelayTicks: number
  readonly maxDelayTicks: number
}

export const healthyLinks: LinkConditions = { dropRate: 0, duplicateRate: 0, minDelayTicks: 1, maxDelayTicks: 2 }

interface InFlight {
  readonly deliverAt: number
  readonly message: Message
}

export class SimNetwork {
  readonly #random: SeededRandom
  #inFlight: InFlight[] = []
  conditions: LinkConditions = healthyLinks
  /** Whether a can send to b; everything connected by default. */
  canTalk: (a: NodeId, b: NodeId) => boolean = () => true
  sent = 0
  delivered = 0

  constructor(random: SeededRandom) {
    this.#random = random
  }

  send(message: Message, nowTicks: number): void {
    const c = this.conditions
    this.sent++
    if (this.#random.chance(c.dropRate)) return
    const copies = this.#random.chance(c.duplicateRate) ? 2 : 1
    for (let i = 0; i < copies; i++) {
      // A structured clone per copy: messages must survive serialization, and no node may share another's objects.
      this.#inFlight.push({ deliverAt: nowTicks + this.#random.int(c.minDelayTicks, c.maxDelayTicks), message: structuredClone(message) })
    }
  }

  /** Puts a message back on the wire for a later tick (its receiver is paused and not reading its socket). */
  hold(message: Message, deliverAt: number): void {
    this.#inFlight.push({ deliverAt, message })
    this.delivered--
  }

  /** The messages due at `nowTicks` whose link is up, in random order. */
  takeDue(nowTicks: number): Message[] {
    const due: Message[] = []
    const later: InFlight[] = []
    for (const f of this.#inFlight) {
      if (f.deliverAt > nowTicks) later.push(f)
      else if (this.canTalk(f.message.from, f.message.to)) due.push(f.message)
    }
    this.#inFlight = later
    this.delivered += due.length
    return this.#random.shuffle(due)
  }
}
