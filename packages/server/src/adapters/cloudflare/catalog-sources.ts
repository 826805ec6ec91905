/**
 * @module The two CatalogSources (edge-catalog.ts) and the objects' internal API between them. The catalog object
 * reads its own tables (LocalCatalog) and places each new topic on the topic's object before answering; a topic
 * object keeps a copy of the catalog fetched over the internal API (RemoteCatalog), asked again at most once a
 * second when read, and sends topic changes and producer-id blocks to the catalog.
 * Invariants: internal requests carry INTERNAL_HEADER, which the Worker removes from every request it forwards, so
 * no client reaches the internal API; a topic is in the catalog only once its object holds its partitions (a failed
 * placement removes it again); errors cross as their code and message and are thrown again as the same SamsaError.
 */
import { ErrorMessages, SamsaError, errorKindByCode } from '@samsa/shared'
import type { CatalogSource, CatalogStore, CatalogTopic, CatalogView } from './edge-catalog.js'
import { INTERNAL_HEADER } from './object-names.js'

const REFRESH_MS = 1_000

/** A fetch to another object of the namespace (the Worker's binding, from inside an object). */
export type ObjectFetch = (path: string, init?: { method?: string; body?: unknown }) => Promise<Response>

export function internalRequest(path: string, init: { method?: string; body?: unknown } = {}): Request {
  return new Request(`http://samsa.internal${path}`, {
    method: init.method ?? 'GET',
    headers: { [INTERNAL_HEADER]: '1', 'content-type': 'application/json' },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  })
}

/** An internal answer: 200 with JSON, or 400 with the error's code and message. */
export async function internalAnswer(fn: () => Promise<unknown>): Promise<Response> {
  try {
    return Response.json((await fn()) ?? {})
  } catch (e) {
    if (e instanceof SamsaError) return Response.json({ code: e.code, message: e.message }, { status: 400 })
    return Response.json({ message: String(e) }, { status: 500 })
  }
}

export async function internalResult(res: Response): Promise<unknown> {
  const body: unknown = await res.json()
  if (res.ok) return body
  const code = Number(Reflect.get(Object(body), 'code'))
  const message = String(Reflect.get(Object(body), 'message'))
  if (Number.isInteger(code)) throw new SamsaError(errorKindByCode(code), message)
  throw new Error(message)
}

/** The catalog object's source: its own tables; `place`/`unplace` tell a topic's object to hold or drop its partitions. */
export class LocalCatalog implements CatalogSource {
  readonly #store: CatalogStore
  readonly #catalogUrl: string
  readonly #place: (topic: CatalogTopic, catalogUrl: string) => Promise<void>
  readonly #unplace: (name: string) => Promise<void>
  #view: CatalogView

  constructor(store: CatalogStore, catalogUrl: string, place: (topic: CatalogTopic, catalogUrl: string) => Promise<void>, unplace: (name: string) => Promise<void>) {
    this.#store = store
    this.#catalogUrl = catalogUrl
    this.#place = place
    this.#unplace = unplace
    this.#view = { catalogUrl, topics: store.topics() }
  }

  view(): CatalogView {
    return this.#view
  }

  async refresh(): Promise<void> {}

  async createTopic(name: string, partitions: number, configs: Readonly<Record<string, string>>): Promise<CatalogTopic> {
    const topic = this.#store.add(name, partitions, configs)
    try {
      await this.#place(topic, this.#catalogUrl)
    } catch (e) {
      this.#store.remove(name)
      throw e
    }
    this.#view = { catalogUrl: this.#catalogUrl, topics: this.#store.topics() }
    return topic
  }

  async deleteTopic(name: string): Promise<void> {
    if (!this.#view.topics.some((t) => t.name === name)) throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', ErrorMessages.unknownTopic(name))
    await this.#unplace(name)
    this.#store.remove(name)
    this.#view = { catalogUrl: this.#catalogUrl, topics: this.#store.topics() }
  }

  async allocateProducerIds(): Promise<{ firstProducerId: number; size: number }> {
    return this.#store.allocateProducerIds()
  }
}

/**
 * A topic object's source: a copy of the catalog, with the object's own topic as the object knows it. The object is
 * the authority on its topic (the catalog's answer may predate its placement or removal), so a fetched view never
 * adds, drops or changes it.
 */
export class RemoteCatalog implements CatalogSource {
  readonly #catalog: ObjectFetch
  readonly #now: () => number
  readonly #onError: (e: unknown) => void
  readonly #ownName: string | null
  #fetched: CatalogView
  #own: CatalogTopic | null
  #view: CatalogView
  #fetchedAt = Number.NEGATIVE_INFINITY
  #inFlight: Promise<void> | null = null

  /** `ownName`: the object's topic (from the Worker's routing), placed on it (`own`) or not (null). */
  constructor(catalogUrl: string, ownName: string | null, own: CatalogTopic | null, catalog: ObjectFetch, now: () => number, onError: (e: unknown) => void) {
    this.#ownName = ownName
    this.#fetched = { catalogUrl, topics: [] }
    this.#own = own
    this.#view = withOwn(this.#fetched, ownName, own)
    this.#catalog = catalog
    this.#now = now
    this.#onError = onError
  }

  /** The object's topic was placed on it (or removed: null). */
  setOwn(own: CatalogTopic | null): void {
    this.#own = own
    this.#view = withOwn(this.#fetched, this.#ownName, own)
  }

  #setFetched(view: CatalogView): void {
    this.#fetched = view
    this.#view = withOwn(view, this.#ownName, this.#own)
  }

  view(): CatalogView {
    if (this.#inFlight === null && this.#now() - this.#fetchedAt >= REFRESH_MS) this.refresh().catch(this.#onError)
    return this.#view
  }

  refresh(): Promise<void> {
    this.#fetchedAt = this.#now()
    this.#inFlight ??= (async () => {
      try {
        this.#setFetched(await catalogView(internalResult(await this.#catalog('/internal/catalog'))))
      } finally {
        this.#inFlight = null
      }
    })()
    return this.#inFlight
  }

  async createTopic(name: string, partitions: number, configs: Readonly<Record<string, string>>): Promise<CatalogTopic> {
    this.#setFetched(await catalogView(internalResult(await this.#catalog('/internal/catalog/topics', { method: 'POST', body: { name, partitions, configs } }))))
    const topic = this.#view.topics.find((t) => t.name === name)
    if (!topic) throw new SamsaError('UNKNOWN_TOPIC_OR_PARTITION', ErrorMessages.unknownTopic(name))
    return topic
  }

  async deleteTopic(name: string): Promise<void> {
    this.#setFetched(await catalogView(internalResult(await this.#catalog(`/internal/catalog/topics/${encodeURIComponent(name)}`, { method: 'DELETE' }))))
  }

  async allocateProducerIds(): Promise<{ firstProducerId: number; size: number }> {
    const block = Object(await internalResult(await this.#catalog('/internal/catalog/producer-ids', { method: 'POST' })))
    return { firstProducerId: Number(Reflect.get(block, 'firstProducerId')), size: Number(Reflect.get(block, 'size')) }
  }
}

/** A catalog view from JSON (the catalog's internal answer). */
export async function catalogView(body: Promise<unknown>): Promise<CatalogView> {
  const o = Object(await body)
  const topics: unknown = Reflect.get(o, 'topics')
  return {
    catalogUrl: String(Reflect.get(o, 'catalogUrl')),
    topics: (Array.isArray(topics) ? topics : []).map((t: unknown) => catalogTopic(t)),
  }
}

export function catalogTopic(value: unknown): CatalogTopic {
  const t = Object(value)
  const configs: Record<string, string> = {}
  for (const [k, v] of Object.entries(Object(Reflect.get(t, 'configs')))) configs[k] = String(v)
  return { name: String(Reflect.get(t, 'name')), partitions: Number(Reflect.get(t, 'partitions')), brokerId: Number(Reflect.get(t, 'brokerId')), configs }
}

/** `view` with the object's own topic as the object knows it (`ownName`'s entry replaced by `own`, or removed when null). */
function withOwn(view: CatalogView, ownName: string | null, own: CatalogTopic | null): CatalogView {
  const others = view.topics.filter((t) => t.name !== ownName)
  return { catalogUrl: view.catalogUrl, topics: own ? [...others, own].sort((a, b) => a.name.localeCompare(b.name)) : others }
}
