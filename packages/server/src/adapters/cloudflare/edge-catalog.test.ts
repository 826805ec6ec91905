import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../log/testing/manual-clock.js'
import { CATALOG_BROKER_ID, EdgeCatalogPort, catalogImage, type CatalogSource, type CatalogTopic, type CatalogView } from './edge-catalog.js'

/** A source whose view the test sets; changes are recorded, not decided (the catalog's rules are CatalogStore's). */
function source(initial: CatalogView): CatalogSource & { set(view: CatalogView): void; created: string[] } {
  let view = initial
  const created: string[] = []
  return {
    created,
    set: (v) => (view = v),
    view: () => view,
    refresh: async () => {},
    createTopic: async (name, partitions, configs) => {
      created.push(name)
      const topic: CatalogTopic = { name, partitions, brokerId: 7, configs }
      view = { ...view, topics: [...view.topics, topic] }
      return topic
    },
    deleteTopic: async () => {},
    allocateProducerIds: async () => ({ firstProducerId: 0, size: 1000 }),
  }
}

const orders: CatalogTopic = { name: 'orders', partitions: 2, brokerId: 3, configs: {} }

describe('catalogImage', () => {
  it('leads every partition of a topic from its object, advertised under /t/<topic> of the catalog URL', () => {
    const image = catalogImage({ catalogUrl: 'wss://edge.example/ns/acme', topics: [orders] })
    expect([...image.brokers.values()].map((b) => [b.brokerId, b.advertisedUrl])).toEqual([
      [CATALOG_BROKER_ID, 'wss://edge.example/ns/acme'],
      [3, 'wss://edge.example/ns/acme/t/orders'],
    ])
    expect(image.topics.get('orders')?.partitions.map((p) => [p.leader, p.leaderEpoch, p.isr])).toEqual([[3, 0, [3]], [3, 0, [3]]])
  })
})

describe('EdgeCatalogPort', () => {
  it('refuses a replication factor other than 1 before asking the catalog', async () => {
    const s = source({ catalogUrl: 'ws://h', topics: [] })
    const port = new EdgeCatalogPort(s, new ManualClock())
    await expect(port.createTopic({ name: 'x', partitions: 1, replicationFactor: 3 })).rejects.toMatchObject({ errorName: 'INVALID_REPLICATION_FACTOR' })
    expect(s.created).toEqual([])
    await port.createTopic({ name: 'x', partitions: 1 })
    expect(port.image().topics.get('x')?.partitions[0]?.leader).toBe(7)
  })

  it('answers a held metadata wait once the catalog names a topic the client did not know', async () => {
    const s = source({ catalogUrl: 'ws://h', topics: [] })
    const clock = new ManualClock()
    const port = new EdgeCatalogPort(s, clock)
    let answered = false
    const wait = port.waitForMetadata(['orders'], { maxWaitMs: 5_000, leaderEpochs: [[]] }, () => () => {}).then(() => (answered = true))
    await Promise.resolve()
    expect(answered).toBe(false)
    s.set({ catalogUrl: 'ws://h', topics: [orders] })
    port.image()
    await wait
    expect(answered).toBe(true)
  })
})
