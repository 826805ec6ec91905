/** @module ClientStorage in memory: for Node, tests, and browsers without IndexedDB. Nothing survives the process; no `atomic`. */
import type { ClientStorage, OffsetStore, OutboxEntry, OutboxStore, PendingRecord, PendingRecordStore, ProducerIdentity, ProducerIdentityStore, StoredPosition } from './stores.js'

/** Batches are kept as added (no one changes them: OutboxEntry.batch) and copied on the way out. */
const copyEntry = (e: OutboxEntry): OutboxEntry => ({ ...e, batch: e.batch.slice() })
const copyPending = (r: PendingRecord): PendingRecord => ({
  ...r,
  key: r.key?.slice() ?? null,
  value: r.value?.slice() ?? null,
  headers: r.headers.map((h) => ({ key: h.key, value: h.value?.slice() ?? null })),
})
const copyIdentity = (i: ProducerIdentity): ProducerIdentity => ({ ...i, nextSequences: { ...i.nextSequences } })

/** True when storing `next` over `current` would move the position backwards (a lower offset). */
export function positionIsBehind(next: StoredPosition, current: StoredPosition): boolean {
  return next.offset < current.offset
}

export function memoryStorage(): ClientStorage {
  const positions = new Map<string, Map<number, StoredPosition>>()
  const outbox = new Map<string, OutboxEntry>()
  const identities = new Map<string, ProducerIdentity>()
  const pendingRecords = new Map<string, PendingRecord>()
  const posKey = (consumerId: string, topic: string) => JSON.stringify([consumerId, topic])
  const pendingKey = (producer: string, seq: number) => JSON.stringify([producer, seq])
  const boxKey = (producer: string, topic: string, partition: number, baseSequence: number) => JSON.stringify([producer, topic, partition, baseSequence])

  const offsets: OffsetStore = {
    async get(consumerId, topic, partition) {
      return positions.get(posKey(consumerId, topic))?.get(partition) ?? null
    },
    async put(consumerId, topic, partition, position, opts) {
      const key = posKey(consumerId, topic)
      let byPartition = positions.get(key)
      if (byPartition === undefined) positions.set(key, (byPartition = new Map()))
      const current = byPartition.get(partition)
      if (current !== undefined && !opts?.force && positionIsBehind(position, current)) return
      byPartition.set(partition, { offset: position.offset, leaderEpoch: position.leaderEpoch })
    },
    async list(consumerId, topic) {
      return new Map([...(positions.get(posKey(consumerId, topic)) ?? [])].sort(([a], [b]) => a - b))
    },
    async delete(consumerId, topic) {
      positions.delete(posKey(consumerId, topic))
    },
  }

  const outboxStore: OutboxStore = {
    async add(entry, identity, removePending = []) {
      outbox.set(boxKey(entry.producer, entry.topic, entry.partition, entry.baseSequence), { ...entry })
      identities.set(identity.name, copyIdentity(identity))
      for (const seq of removePending) pendingRecords.delete(pendingKey(entry.producer, seq))
    },
    async remove(producer, topic, partition, baseSequence) {
      outbox.delete(boxKey(producer, topic, partition, baseSequence))
    },
    async list(producer) {
      return [...outbox.values()]
        .filter((e) => e.producer === producer)
        .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition || a.baseSequence - b.baseSequence))
        .map(copyEntry)
    },
  }

  const pending: PendingRecordStore = {
    async add(records) {
      for (const r of records) pendingRecords.set(pendingKey(r.producer, r.seq), copyPending(r))
    },
    async list(producer) {
      return [...pendingRecords.values()]
        .filter((r) => r.producer === producer)
        .sort((a, b) => a.seq - b.seq)
        .map(copyPending)
    },
    async remove(producer, seqs) {
      for (const seq of seqs) pendingRecords.delete(pendingKey(producer, seq))
    },
  }

  const producers: ProducerIdentityStore = {
    async get(name) {
      const i = identities.get(name)
      return i === undefined ? null : copyIdentity(i)
    },
    async put(identity) {
      identities.set(identity.name, copyIdentity(identity))
    },
  }

  return { offsets, outbox: outboxStore, pending, producers, async close() {} }
}
