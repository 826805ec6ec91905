/**
 * @module The SDK's ONE IndexedDB schema: object stores, key paths and the versioning that lets an application add
 * its own object stores to the same database (exactly-once processing needs app data and offsets in one transaction,
 * and an IndexedDB transaction cannot span databases).
 *
 * Database version = SDK_SCHEMA_VERSION × APP_VERSION_RANGE + appStores.version. Both parts only ever grow, so the
 * combined version grows whenever either does; an upgrade runs the SDK steps for the SDK part and then the app's
 * `upgrade` with the app part of the old version.
 */
import type { DBSchema } from 'idb'
import type { OutboxEntry, PendingRecord, ProducerIdentity } from './stores.js'

/** Bump when the SDK's stores change; add a step to `upgradeSdkSchema`. */
export const SDK_SCHEMA_VERSION = 1
/** App versions live in [0, APP_VERSION_RANGE). */
export const APP_VERSION_RANGE = 1_000_000

export const OFFSETS = 'offsets'
export const OUTBOX = 'outbox'
export const PRODUCERS = 'producers'
export const PENDING = 'pending'
export const SDK_STORES = [OFFSETS, OUTBOX, PRODUCERS, PENDING] as const

/** A row of `offsets`: key [consumerId, topic, partition]. */
export interface OffsetRow {
  readonly consumerId: string
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly leaderEpoch: number
}

export interface SamsaDbSchema extends DBSchema {
  offsets: { key: [string, string, number]; value: OffsetRow }
  /** key [producer, topic, partition, baseSequence]: key order is replay order. */
  outbox: { key: [string, string, number, number]; value: OutboxEntry }
  /** key name */
  producers: { key: string; value: ProducerIdentity }
  /** key [producer, seq]: records sent before the producer had an identity; key order is send order. */
  pending: { key: [string, number]; value: PendingRecord }
}

/** The app's part of the schema: its version and its upgrade step (it creates its own object stores). */
export interface AppStores {
  /** 0 ≤ version < APP_VERSION_RANGE; raise it whenever `upgrade` changes. */
  readonly version: number
  upgrade(db: IDBDatabase, oldVersion: number, tx: IDBTransaction): void
}

export function databaseVersion(app: AppStores | undefined): number {
  const appVersion = app?.version ?? 0
  if (!Number.isInteger(appVersion) || appVersion < 0 || appVersion >= APP_VERSION_RANGE) {
    throw new RangeError(`appStores.version must be an integer in [0, ${APP_VERSION_RANGE}); got ${appVersion}`)
  }
  return SDK_SCHEMA_VERSION * APP_VERSION_RANGE + appVersion
}

export function splitVersion(version: number): { sdk: number; app: number } {
  return { sdk: Math.floor(version / APP_VERSION_RANGE), app: version % APP_VERSION_RANGE }
}

/** Runs inside `upgradeneeded`: brings the SDK's stores from `oldSdkVersion` to SDK_SCHEMA_VERSION. */
export function upgradeSdkSchema(db: IDBDatabase, oldSdkVersion: number): void {
  if (oldSdkVersion < 1) {
    db.createObjectStore(OFFSETS, { keyPath: ['consumerId', 'topic', 'partition'] })
    db.createObjectStore(OUTBOX, { keyPath: ['producer', 'topic', 'partition', 'baseSequence'] })
    db.createObjectStore(PRODUCERS, { keyPath: 'name' })
    db.createObjectStore(PENDING, { keyPath: ['producer', 'seq'] })
  }
}

/** The whole upgrade: SDK steps, then the app's. */
export function upgradeDatabase(db: IDBDatabase, oldVersion: number, tx: IDBTransaction, app: AppStores | undefined): void {
  const old = splitVersion(oldVersion)
  upgradeSdkSchema(db, old.sdk)
  if (app !== undefined && old.app < app.version) app.upgrade(db, old.app, tx)
}

/** Key ranges: every key of a consumer's topic, and every key of a producer. */
export const offsetsOf = (consumerId: string, topic: string): IDBKeyRange => IDBKeyRange.bound([consumerId, topic, -Infinity], [consumerId, topic, Infinity])
// An array sorts after every string and number, so [producer, []] is above every [producer, topic, partition, seq].
export const outboxOf = (producer: string): IDBKeyRange => IDBKeyRange.bound([producer], [producer, []])
export const pendingOf = outboxOf
