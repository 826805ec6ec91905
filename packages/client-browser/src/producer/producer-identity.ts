/**
 * @module A durable producer's identity: the (producer id, epoch) its batches carry, resumed from its identity slot
 * (`${id}#n`, held with a Web Lock: storage/identity-lock.ts) or assigned by the broker. Invariants: initProducerId is
 * asked only when the slot has no usable stored identity (none yet, or forgotten after a fencing: producer id −1); a
 * stored identity is resumed as it is, because a new epoch would fence the slot's own outbox; an assigned identity is
 * stored before any batch carries it.
 */
import type { Logger } from '../ports.js'
import type { ClientStorage, ProducerIdentity as StoredIdentity } from '../storage/stores.js'

export interface ProducerIdentity {
  /** −1 when not idempotent (acks 'none'). */
  readonly producerId: number
  readonly producerEpoch: number
}

/** Without an identity (acks 'none', or not idempotent): batches carry no producer id and no sequence. */
export const NO_IDENTITY: ProducerIdentity = Object.freeze({ producerId: -1, producerEpoch: -1 })

/** The stored identity can still write (it was never fenced). */
export const isUsable = (stored: StoredIdentity | null): stored is StoredIdentity => stored !== null && stored.producerId >= 0

export interface IdentityDeps {
  readonly storage: ClientStorage
  readonly logger: Logger
  /** Asks the broker for a new producer id (retrying until it answers). */
  readonly initProducerId: () => Promise<ProducerIdentity>
}

/** The slot's identity with its next sequences: `stored` when usable, else a new one from the broker, stored first. */
export async function resumeOrAssignIdentity(slot: string, stored: StoredIdentity | null, deps: IdentityDeps): Promise<StoredIdentity> {
  const { storage, logger } = deps
  if (isUsable(stored)) {
    logger.info({ slot, producerId: stored.producerId, producerEpoch: stored.producerEpoch }, 'producer identity resumed')
    return stored
  }
  const res = await deps.initProducerId()
  const assigned: StoredIdentity = { name: slot, producerId: res.producerId, producerEpoch: res.producerEpoch, nextSequences: {} }
  await storage.producers.put(assigned)
  logger.info({ slot, producerId: res.producerId, producerEpoch: res.producerEpoch }, 'producer id assigned')
  return assigned
}
