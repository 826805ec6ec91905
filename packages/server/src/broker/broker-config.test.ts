import { describe, expect, it } from 'vitest'
import { ConfigError, brokerConfig, brokerSettings, defaultBrokerConfig, logSettings, settingProblem } from './broker-config.js'

const messageOf = (f: () => unknown): string => {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError)
    return (e as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('the BrokerConfig schema', () => {
  it('accepts the defaults and returns the merged config', () => {
    expect(brokerConfig()).toEqual(defaultBrokerConfig)
    expect(brokerConfig({ maxConnections: 5, log: { segmentBytes: 4096 } })).toMatchObject({ maxConnections: 5, log: { segmentBytes: 4096, fsync: 'always' } })
  })

  it('every numeric limit of BrokerConfig and of its log has a line in the settings table (and so a flag)', () => {
    const notLimits = new Set(['brokerId'])
    const numeric = (o: object) => Object.entries(o).filter(([k, v]) => (typeof v === 'number' || v === null) && !notLimits.has(k)).map(([k]) => k)
    expect(numeric(defaultBrokerConfig).filter((k) => !(k in brokerSettings))).toEqual([])
    // retentionMs has its flag in hours (--retention-hours); indexIntervalBytes is an internal of the index.
    expect(numeric(defaultBrokerConfig.log).filter((k) => !(k in logSettings) && k !== 'retentionMs' && k !== 'indexIntervalBytes')).toEqual([])
  })

  it.each([
    [{ maxConnections: 0 }, 'maxConnections must be an integer from 1 to 10000000, got 0'],
    [{ maxConnections: 1.5 }, 'maxConnections must be an integer from 1 to 10000000, got 1.5'],
    [{ maxConnections: '10' as unknown as number }, 'maxConnections must be an integer from 1 to 10000000, got "10"'],
    [{ requestTimeoutMs: Number.NaN }, 'requestTimeoutMs must be an integer from 1 to 86400000, got NaN'],
    [{ log: { segmentBytes: 10 } }, 'segmentBytes must be an integer from 64 to 2147483647, got 10'],
    [{ log: { retentionBytes: -1 } }, 'retentionBytes must be an integer from 1 to 9007199254740991 (or null for no limit), got -1'],
    [{ log: { fsync: 'sometimes' as 'always' } }, 'fsync must be always, interval or never, got "sometimes"'],
    [{ maxRecordBytes: 2_000_000 }, 'maxRecordBytes (2000000) must be at most maxBatchBytes (1048576)'],
    [{ maxBatchBytes: 2 * 1024 * 1024 }, 'maxBatchBytes (2097152) must be smaller than maxFrameBytes (2097152): a produce frame carries the batch and its header'],
  ])('%j → %s', (overrides, message) => {
    expect(messageOf(() => brokerConfig(overrides))).toBe(message)
  })

  it('reports every bad field, once each', () => {
    expect(messageOf(() => brokerConfig({ maxConnections: 0, helloTimeoutMs: 2 ** 60 }))).toBe(
      'maxConnections must be an integer from 1 to 10000000, got 0; helloTimeoutMs must be an integer from 1 to 86400000, got 1152921504606847000',
    )
  })

  it('settingProblem gives the same message as brokerConfig for one value', () => {
    expect(settingProblem('maxConnections', 0)).toBe(messageOf(() => brokerConfig({ maxConnections: 0 })))
    expect(settingProblem('segmentBytes', 'big')).toBe(messageOf(() => brokerConfig({ log: { segmentBytes: 'big' as unknown as number } })))
    expect(settingProblem('maxConnections', 7)).toBeNull()
  })

  it.each([
    ['ws://broker.example.com:8080', null],
    ['wss://example.com/samsa', null],
    ['broker:8080', ' (scheme broker)'],
    ['http://broker:8080', ' (scheme http)'],
    ['ws://broker:8080/ws', ' (clients add /ws themselves)'],
    ['ws://broker:8080/?a=1', ' (it has a query or fragment)'],
    ['not a url', ' (not a URL)'],
  ])('advertisedUrl %s', (url, problem) => {
    if (problem === null) return void expect(brokerConfig({ advertisedUrl: url }).advertisedUrl).toBe(url)
    expect(messageOf(() => brokerConfig({ advertisedUrl: url }))).toBe(
      `advertisedUrl must be a ws:// or wss:// base URL without /ws, a query or a fragment, such as ws://broker.example.com:8080, got ${JSON.stringify(url)}${problem}`,
    )
  })
})
