import { describe, expect, it } from 'vitest'
import { Broker } from '../../broker/broker.js'
import { brokerConfig } from '../../broker/broker-config.js'
import { silentLogger } from '../../clock.js'
import { MemoryLogStorage } from '../../log/memory-log-storage.js'
import { ManualClock } from '../../log/testing/manual-clock.js'
import { userWith } from '../testing/recording.js'
import { Authorizer } from './authorizer.js'
import { authorizedMetadata } from './metadata-filter.js'

describe('authorizedMetadata', () => {
  it('asks only about describable names, in request order, with a mask over the requested names for what is aligned with them (a wait\'s epochs)', async () => {
    const broker = await Broker.start(brokerConfig(), { storage: new MemoryLogStorage(), clock: new ManualClock(), logger: silentLogger, authorizer: new Authorizer({ enabled: true }) })
    await broker.createTopic('a.1', 1)
    await broker.createTopic('b.1', 1)
    const asked: unknown[] = []
    const r = authorizedMetadata(broker, userWith('u', { describe: ['a.*'] }), ['b.1', 'a.1', 'a.2', 'b.1'], (names, kept) => {
      asked.push([names, kept])
      return broker.metadata(names)
    })
    expect(asked).toEqual([[['a.1', 'a.2'], [false, true, true, false]]])
    expect(await r).toMatchObject({ topics: [{ name: 'b.1', errorCode: 29, partitions: [] }, { name: 'a.1', errorCode: 0 }, { name: 'a.2', errorCode: 3 }] })
    // Off, or for a peer, the request goes through as it is.
    asked.length = 0
    authorizedMetadata(broker, { kind: 'peer', name: 'node:2', claims: {} }, ['b.1'], (names, kept) => (asked.push([names, kept]), broker.metadata(names)))
    expect(asked).toEqual([[['b.1'], null]])
  })
})
