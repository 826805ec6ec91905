/**
 * @module The edge's topic catalog (docs/edge.md, "Cloudflare"): a namespace's topics, each placed on a Durable Object
 * of its own that leads all its partitions as a broker of its own id. `EdgeCatalogPort` is the Broker's cluster port
 * on every object of a namespace: on the catalog object it reads the catalog's SQLite tables (CatalogStore); on a
 * topic object a copy fetched from the catalog (refreshed in the background). Metadata is then answered from it as
 * in a cluster: each partition of topic T led by T's broker id, whose advertised URL (`<catalog URL>/t/<T>`) the
 * Worker routes to T's object, so the SDK follows it with a socket per topic object; a request for T at another
 * object answers NOT_LEADER_OR_FOLLOWER (partition-serving.ts).
 * Invariants: broker id 0 is the catalog's; a topic's broker id is assigned once per name and never reused for
 * another name (a topic created again gets its old id: the same object); leaders never move, so leader epochs
 * stay 0; producer-id blocks come from the catalog alone, so ids are unique across the namespace's objects.
 */
import { ErrorMessages, SamsaError, parseTopicConfigs, type CreateTopicRequest, type MetadataWait } from '@samsa/shared'
import type { BrokerClusterPort } from '../../broker/cluster-port.js'
import { MetadataWaits } from '../../cluster/metadata-waits.js'
import type { Clock } from '../../clock.js'
import type { MetadataImage, TopicImage, BrokerRegistration } from '../../controller/metadata/index.js'
import type { SqlDatabase } from './sql-log-storage.js'

export const CATALOG_BROKER_ID = 0
const PRODUCER_ID_BLOCK = 1000

/** One topic of the catalog. */
export interface CatalogTopic {
  readonly name: string
  readonly partitions: number
  readonly brokerId: number
  readonly configs: Readonly<Record<string, string>>
}

/** The catalog as the objects exchange it: the catalog's advertised URL and every topic. */
export interface CatalogView {
  readonly catalogUrl: string
  readonly topics: readonly CatalogTopic[]
}

/** The advertised URL of a topic's object. */
export function topicObjectUrl(catalogUrl: string, topic: string): string {
  return `${catalogUrl}/t/${topic}`
}

/** The metadata image of a catalog: the catalog and one broker per topic object, each topic led by its object. */
export function catalogImage(view: CatalogView): MetadataImage {
  const brokers = new Map<number, BrokerRegistration>([[CATALOG_BROKER_ID, broker(CATALOG_BROKER_ID, view.catalogUrl)]])
  const topics = new Map<string, TopicImage>()
  for (const t of view.topics) {
    brokers.set(t.brokerId, broker(t.brokerId, topicObjectUrl(view.catalogUrl, t.name)))
    const partition = { leader: t.brokerId, leaderEpoch: 0, replicas: [t.brokerId], isr: [t.brokerId], partitionEpoch: 0 }
    topics.set(t.name, {
      name: t.name,
      topicId: null,
      createdAtOffset: 0,
      replicationFactor: 1,
      config: { minInsyncReplicas: 1, retentionMs: null, retentionBytes: null, segmentBytes: null },
      cleanup: parseTopicConfigs(t.configs),
      partitions: Array.from({ length: t.partitions }, () => partition),
    })
  }
  return { offset: 0, brokers, topics, nextProducerId: 0, nextBrokerEpoch: 1 }
}

function broker(brokerId: number, advertisedUrl: string): BrokerRegistration {
  return { brokerId, brokerEpoch: 1, advertisedUrl, rack: null, fenced: false, registeredAtOffset: 0 }
}

/** The catalog object's tables: topics, the broker id of every name ever created, and the counters. */
export class CatalogStore {
  readonly #sql: Pick<SqlDatabase, 'exec'>
  readonly #transaction: <T>(fn: () => T) => T

  constructor(sql: Pick<SqlDatabase, 'exec'>, transactionSync: <T>(fn: () => T) => T) {
    this.#sql = sql
    this.#transaction = transactionSync
    sql.exec('CREATE TABLE IF NOT EXISTS samsa_catalog_topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL, broker_id INTEGER NOT NULL, configs TEXT NOT NULL)')
    sql.exec('CREATE TABLE IF NOT EXISTS samsa_catalog_ids (name TEXT PRIMARY KEY, broker_id INTEGER NOT NULL)')
    sql.exec('CREATE TABLE IF NOT EXISTS samsa_catalog_counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL)')
  }

  topics(): CatalogTopic[] {
    return this.#sql.exec('SELECT name, partitions, broker_id, configs FROM samsa_catalog_topics ORDER BY name').toArray().map((r) => ({
      name: String(r.name),
      partitions: Number(r.partitions),
      brokerId: Number(r.broker_id),
      configs: parseConfigs(String(r.configs)),
    }))
  }

  /** Records a new topic under the broker id its name has (a new one for a new name); TOPIC_ALREADY_EXISTS. */
  add(name: string, partitions: number, configs: Readonly<Record<string, string>>): CatalogTopic {
    return this.#transaction(() => {
      if (this.#sql.exec('SELECT 1 FROM samsa_catalog_topics WHERE name = ?', name).toArray().length > 0) throw new SamsaError('TOPIC_ALREADY_EXISTS', ErrorMessages.topicExists(name))
      const known = this.#sql.exec('SELECT broker_id FROM samsa_catalog_ids WHERE name = ?', name).toArray()[0]
      const brokerId = known ? Number(known.broker_id) : this.#next('brokerId', 1, CATALOG_BROKER_ID + 1)
      if (!known) this.#sql.exec('INSERT INTO samsa_catalog_ids (name, broker_id) VALUES (?, ?)', name, brokerId)
      this.#sql.exec('INSERT INTO samsa_catalog_topics (name, partitions, broker_id, configs) VALUES (?, ?, ?, ?)', name, partitions, brokerId, JSON.stringify(configs))
      return { name, partitions, brokerId, configs }
    })
  }

  remove(name: string): void {
    this.#sql.exec('DELETE FROM samsa_catalog_topics WHERE name = ?', name)
  }

  allocateProducerIds(): { firstProducerId: number; size: number } {
    return this.#transaction(() => ({ firstProducerId: this.#next('producerId', PRODUCER_ID_BLOCK, 0), size: PRODUCER_ID_BLOCK }))
  }

  /** The counter's value (`first` when new), advanced by `step`. */
  #next(key: string, step: number, first: number): number {
    const row = this.#sql.exec('SELECT value FROM samsa_catalog_counters WHERE key = ?', key).toArray()[0]
    const value = row ? Number(row.value) : first
    this.#sql.exec('INSERT OR REPLACE INTO samsa_catalog_counters (key, value) VALUES (?, ?)', key, value + step)
    return value
  }
}

function parseConfigs(json: string): Record<string, string> {
  const parsed: unknown = JSON.parse(json)
  const out: Record<string, string> = {}
  if (typeof parsed === 'object' && parsed !== null) for (const [k, v] of Object.entries(parsed)) out[k] = String(v)
  return out
}

/** Where a port gets its catalog and sends topic changes: the catalog's own tables, or the catalog object over fetch. */
export interface CatalogSource {
  /** The catalog as last known (a topic object's copy may be behind; `refresh` brings it up to date). */
  view(): CatalogView
  refresh(): Promise<void>
  createTopic(name: string, partitions: number, configs: Readonly<Record<string, string>>): Promise<CatalogTopic>
  deleteTopic(name: string): Promise<void>
  allocateProducerIds(): Promise<{ firstProducerId: number; size: number }>
}

/** The Broker's cluster port on an edge object (see the module comment). */
export class EdgeCatalogPort implements BrokerClusterPort {
  /** A client learns only the objects of the topics it asks about (and the one it asks). */
  readonly metadataBrokers = 'leaders'
  readonly #source: CatalogSource
  readonly #waits: MetadataWaits
  #image: MetadataImage
  #imageOf: CatalogView

  constructor(source: CatalogSource, clock: Clock) {
    this.#source = source
    this.#imageOf = source.view()
    this.#image = catalogImage(this.#imageOf)
    this.#waits = new MetadataWaits(() => this.image(), clock)
  }

  image(): MetadataImage {
    const view = this.#source.view()
    if (view !== this.#imageOf) {
      this.#imageOf = view
      this.#image = catalogImage(view)
      this.#waits.imageChanged(this.#image)
    }
    return this.#image
  }

  /** Leaders never move at the edge: a wait ends when the catalog (asked again first) names what the client does not know. */
  async waitForMetadata(topics: readonly string[], wait: MetadataWait, onCancel: (cancel: () => void) => () => void): Promise<void> {
    await this.#source.refresh().catch(() => {})
    this.image()
    return this.#waits.wait(topics, wait, onCancel)
  }

  async createTopic(req: CreateTopicRequest): Promise<{ name: string; partitions: number }> {
    if (req.replicationFactor !== undefined && req.replicationFactor !== -1 && req.replicationFactor !== 1) {
      throw new SamsaError('INVALID_REPLICATION_FACTOR', `a Durable Object's storage is replicated by the platform; replication factor ${req.replicationFactor} is not available at the edge`, { liveBrokers: 1 })
    }
    const t = await this.#source.createTopic(req.name, req.partitions, req.configs ?? {})
    this.image()
    return { name: t.name, partitions: t.partitions }
  }

  async deleteTopic(name: string): Promise<void> {
    await this.#source.deleteTopic(name)
    this.image()
  }

  allocateProducerIds(): Promise<{ firstProducerId: number; size: number }> {
    return this.#source.allocateProducerIds()
  }

  brokerRegistration(): never {
    throw notController()
  }

  brokerHeartbeat(): never {
    throw notController()
  }

  allocateProducerIdsFor(): never {
    throw notController()
  }

  alterPartitionFor(): never {
    throw notController()
  }

  fetchMetadata(): never {
    throw notController()
  }
}

function notController(): SamsaError {
  return new SamsaError('NOT_CONTROLLER', 'a Durable Object broker has no controller quorum: the platform replicates its storage')
}
