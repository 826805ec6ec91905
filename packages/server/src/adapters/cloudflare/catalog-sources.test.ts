import { describe, expect, it } from 'vitest'
import { RemoteCatalog, type ObjectFetch } from './catalog-sources.js'
import type { CatalogTopic, CatalogView } from './edge-catalog.js'

const cold: CatalogTopic = { name: 'cold', partitions: 1, brokerId: 1, configs: {} }
const other: CatalogTopic = { name: 'other', partitions: 2, brokerId: 2, configs: {} }

/** A catalog object that answers each read with the next view given. */
function catalogAnswering(...views: CatalogView[]): ObjectFetch {
  return async () => Response.json(views.shift() ?? views[views.length - 1])
}

describe('RemoteCatalog', () => {
  it('keeps its own topic as the object knows it, whatever a (stale) catalog answer says of it', async () => {
    // The catalog answers from before the placement finished: no `cold` yet, but `other`.
    const remote = new RemoteCatalog('ws://h', 'cold', cold, catalogAnswering({ catalogUrl: 'ws://h', topics: [other] }), () => 0, () => {})
    await remote.refresh()
    expect(remote.view().topics.map((t) => t.name)).toEqual(['cold', 'other'])
  })

  it('drops its own topic once removed, even while the catalog still names it', async () => {
    const remote = new RemoteCatalog('ws://h', 'cold', cold, catalogAnswering({ catalogUrl: 'ws://h', topics: [cold, other] }), () => 0, () => {})
    remote.setOwn(null)
    await remote.refresh()
    expect(remote.view().topics.map((t) => t.name)).toEqual(['other'])
  })
})
