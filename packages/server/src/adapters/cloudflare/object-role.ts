/**
 * @module What a broker object is in its namespace (docs/edge.md, "Cloudflare"): the catalog object or a topic's
 * object, as the Worker's headers said (persisted, so a wake by a message or an alarm knows it too), the topic the
 * catalog placed on it, where its catalog comes from (its own tables, or the catalog object's over the internal
 * API), and its answers to the internal API.
 * Invariants: the role, namespace and placed topic are read from the object's storage, never from a request alone;
 * an object reaches another only through the SAMSA_BROKER binding, telling it what the Worker would.
 */
import { SamsaError } from '@samsa/shared'
import type { Broker } from '../../broker/broker.js'
import type { Logger } from '../../clock.js'
import { LocalCatalog, RemoteCatalog, catalogTopic, internalAnswer, internalRequest, internalResult } from './catalog-sources.js'
import { CatalogStore, topicObjectUrl, type CatalogSource, type CatalogTopic } from './edge-catalog.js'
import { PEER_CALL_PATH, answerPeerCall } from './edge-peers.js'
import { ADVERTISED_URL_HEADER, NAMESPACE_HEADER, ROLE_HEADER, TOPIC_HEADER, catalogObjectName, topicObjectName } from './object-names.js'
import type { SqlDatabase } from './sql-log-storage.js'
import type { DurableObjectNamespaceBinding } from './workers-types.js'

/** The catalog's tables and source, on the catalog object only. */
export interface OwnCatalog {
  readonly store: CatalogStore
  readonly source: CatalogSource
}

export class ObjectRole {
  readonly #sql: Pick<SqlDatabase, 'exec'>
  readonly #transaction: <T>(fn: () => T) => T
  readonly #binding: DurableObjectNamespaceBinding | undefined

  constructor(sql: Pick<SqlDatabase, 'exec'>, transactionSync: <T>(fn: () => T) => T, binding: DurableObjectNamespaceBinding | undefined) {
    this.#sql = sql
    this.#transaction = transactionSync
    this.#binding = binding
    sql.exec('CREATE TABLE IF NOT EXISTS samsa_object (key TEXT PRIMARY KEY, value TEXT NOT NULL)')
  }

  /** Records what the Worker (or another object) says this object is: its role, namespace and topic. */
  remember(req: Request): void {
    for (const [key, header] of [['role', ROLE_HEADER], ['namespace', NAMESPACE_HEADER], ['topicName', TOPIC_HEADER]] as const) {
      const value = req.headers.get(header)
      if (value !== null && this.value(key) !== value) this.set(key, value)
    }
  }

  value(key: string): string | null {
    const row = this.#sql.exec('SELECT value FROM samsa_object WHERE key = ?', key).toArray()[0]
    return row ? String(row.value) : null
  }

  set(key: string, value: string): void {
    this.#sql.exec('INSERT OR REPLACE INTO samsa_object (key, value) VALUES (?, ?)', key, value)
  }

  get isCatalog(): boolean {
    return this.value('role') !== 'topic'
  }

  get namespace(): string {
    return this.value('namespace') ?? 'default'
  }

  /** The topic the catalog placed on this object (a topic object's), or null. */
  placedTopic(): CatalogTopic | null {
    const json = this.value('placedTopic')
    return json === null ? null : catalogTopic(JSON.parse(json))
  }

  placeTopic(topic: CatalogTopic): void {
    this.set('placedTopic', JSON.stringify(topic))
  }

  /** The topic was deleted: the object holds nothing until the catalog places it again. */
  unplaceTopic(): void {
    this.#sql.exec('DELETE FROM samsa_object WHERE key = ?', 'placedTopic')
  }

  /** The catalog object's own tables, or (a topic object) a copy of the catalog object's, starting from its topic. */
  catalog(advertisedUrl: string, logger: Logger): { own: OwnCatalog | null; source: CatalogSource; remote: RemoteCatalog | null } {
    if (this.isCatalog) {
      const store = new CatalogStore(this.#sql, this.#transaction)
      const toTopic = (name: string, method: string, body?: unknown) =>
        this.#objectFetch(topicObjectName(this.namespace, name), 'topic', topicObjectUrl(advertisedUrl, name), '/internal/topic', { method, ...(body !== undefined ? { body } : {}) }, name).then(internalResult)
      const source = new LocalCatalog(store, advertisedUrl, async (topic) => void (await toTopic(topic.name, 'PUT', topic)), async (name) => void (await toTopic(name, 'DELETE')))
      return { own: { store, source }, source, remote: null }
    }
    const topic = this.placedTopic()
    const source = new RemoteCatalog(
      advertisedUrl.replace(/\/t\/[^/]*$/, ''),
      this.value('topicName') ?? topic?.name ?? null,
      topic,
      (path, init) => this.#objectFetch(catalogObjectName(this.namespace), 'catalog', null, path, init),
      () => Date.now(),
      (e) => logger.warn({ err: String(e) }, 'the catalog could not be read'),
    )
    return { own: null, source, remote: source }
  }

  /** A request to another object of this namespace, with what the Worker would tell it (its role, namespace, topic). */
  #objectFetch(objectName: string, role: 'catalog' | 'topic', advertisedUrl: string | null, path: string, init: { method?: string; body?: unknown } = {}, topic?: string): Promise<Response> {
    const binding = this.#binding
    if (!binding) throw new Error('the SAMSA_BROKER binding is missing: a namespace\'s objects reach each other through it')
    const req = internalRequest(path, init)
    req.headers.set(ROLE_HEADER, role)
    req.headers.set(NAMESPACE_HEADER, this.namespace)
    if (topic !== undefined) req.headers.set(TOPIC_HEADER, topic)
    if (advertisedUrl !== null) req.headers.set(ADVERTISED_URL_HEADER, advertisedUrl)
    return binding.get(binding.idFromName(objectName)).fetch(req)
  }

  /** The internal API (catalog-sources.ts, edge-peers.ts) but the placement of a topic, which restarts the broker. */
  answer(req: Request, path: string, broker: Broker, own: OwnCatalog | null, remote: RemoteCatalog | null): Promise<Response> {
    if (path === PEER_CALL_PATH && req.method === 'POST') return answerPeerCall(broker, req)
    return internalAnswer(async () => {
      if (path === '/internal/topic' && req.method === 'DELETE') {
        const topic = this.placedTopic()
        if (topic) await broker.deleteLocalTopic(topic.name).catch((e: unknown) => ignore(e, 'UNKNOWN_TOPIC_OR_PARTITION'))
        this.unplaceTopic()
        remote?.setOwn(null)
        return {}
      }
      if (own === null) throw new SamsaError('NOT_CONTROLLER', 'only the catalog object answers the catalog\'s internal API')
      if (path === '/internal/catalog' && req.method === 'GET') return own.source.view()
      if (path === '/internal/catalog/producer-ids' && req.method === 'POST') return own.store.allocateProducerIds()
      if (path === '/internal/catalog/topics' && req.method === 'POST') {
        const body = Object(await req.json())
        const configs = catalogTopic({ configs: Reflect.get(body, 'configs') }).configs
        await broker.createTopic(Reflect.get(body, 'name'), Reflect.get(body, 'partitions'), { configs })
        return own.source.view()
      }
      if (path.startsWith('/internal/catalog/topics/') && req.method === 'DELETE') {
        await broker.deleteTopic(decodeURIComponent(path.slice('/internal/catalog/topics/'.length)))
        return own.source.view()
      }
      throw new SamsaError('INVALID_REQUEST', `no internal route ${req.method} ${path}`)
    })
  }
}

/** Swallows a SamsaError of the given name (the outcome already holds); rethrows anything else. */
export function ignore(e: unknown, errorName: string): void {
  if (!(e instanceof SamsaError && e.errorName === errorName)) throw e
}
