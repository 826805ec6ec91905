import { SamsaError, exchanges } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { sessionHarness } from './testing/session-harness.js'

describe('metadata answers are bounded', () => {
  it('answers each distinct name once, in request order', async () => {
    const h = await sessionHarness()
    const { request } = h.open()
    await request(exchanges.createTopic, { name: 'a', partitions: 3 })
    const md = await request(exchanges.metadata, { topics: ['a', 'nope', 'a', 'nope', 'a'] })
    expect(md.topics.map((t) => [t.name, t.errorCode, t.partitions.length])).toEqual([['a', 0, 3], ['nope', 3, 0]])
  })

  it('refuses with RESPONSE_TOO_LARGE an answer over maxResponseBytes, for named topics and for all topics', async () => {
    const h = await sessionHarness({ maxResponseBytes: 10_000 })
    const { request } = h.open()
    await request(exchanges.createTopic, { name: 'wide', partitions: 400 }) // 400 × 36 bytes > 10,000
    for (const topics of [['wide'], null]) {
      const err = await request(exchanges.metadata, { topics }).then(() => null, (e: unknown) => e)
      expect(err).toBeInstanceOf(SamsaError)
      expect((err as SamsaError).errorName).toBe('RESPONSE_TOO_LARGE')
      expect((err as SamsaError).details).toEqual({ maxResponseBytes: 10_000 })
    }
    await request(exchanges.createTopic, { name: 'narrow', partitions: 2 })
    expect((await request(exchanges.metadata, { topics: ['narrow'] })).topics[0]!.partitions).toHaveLength(2)
  })
})
