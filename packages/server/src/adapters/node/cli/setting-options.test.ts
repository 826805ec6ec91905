/**
 * One message per bad value wherever it comes from: a `samsa start` flag, its env var and brokerConfig() in code
 * for the broker's settings; REST's POST /v1/topics and the protocol's createTopic for a topic creation.
 */
import { readFile } from 'node:fs/promises'
import { Command, CommanderError } from 'commander'
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest'
import { ErrorMessages, SamsaError } from '@samsa/shared'
import { Broker } from '../../../broker/broker.js'
import { ConfigError, brokerConfig, brokerSettings, logSettings, type BrokerConfigOverrides } from '../../../broker/broker-config.js'
import { silentLogger } from '../../../clock.js'
import { MemoryLogStorage } from '../../../log/memory-log-storage.js'
import { createApp } from '../../../transport/app.js'
import { nodeClock } from '../node-clock.js'
import { addSettingOptions, settingEnv, settingFlag, settingOverrides } from './setting-options.js'

function parse(args: string[]): { opts?: Record<string, unknown>; error?: string } {
  const cmd = addSettingOptions(new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} }))
  try {
    cmd.parse(args, { from: 'user' })
    return { opts: cmd.opts() }
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e
    return { error: e.message }
  }
}

function codeMessage(overrides: BrokerConfigOverrides): string {
  try {
    brokerConfig(overrides)
  } catch (e) {
    if (e instanceof ConfigError) return e.message
    throw e
  }
  throw new Error(`brokerConfig(${JSON.stringify(overrides)}) accepted it`)
}

const setEnv: string[] = []
afterEach(() => {
  for (const k of setEnv.splice(0)) delete process.env[k]
})

const cases: [key: string, flagValue: string, codeValue: unknown][] = [
  ['maxConnections', '0', 0],
  ['maxConnections', '1.5', 1.5],
  ['maxConnections', 'many', 'many'],
  ['maxFrameBytes', '100', 100],
  ['helloTimeoutMs', '-5', -5],
  ['maxPartitionsPerTopic', '99999999999', 99_999_999_999],
  ['segmentBytes', '12', 12],
  ['fsyncIntervalMs', '0', 0],
  ['retentionBytes', '0', 0],
]

describe('a bad setting from a flag, its env var and code', () => {
  it.each(cases)('%s = %s: one message', (key, flagValue, codeValue) => {
    const overrides = key in logSettings ? { log: { [key]: codeValue } } : { [key]: codeValue }
    const message = codeMessage(overrides as BrokerConfigOverrides)
    expect(message).toMatch(new RegExp(`^${key} must be an integer from`))

    const fromFlag = parse([settingFlag(key), flagValue]).error
    expect(fromFlag).toBe(`error: option '${settingFlag(key)} <${(brokerSettings as Record<string, { unit: string }>)[key]?.unit ?? (logSettings as Record<string, { unit: string }>)[key]!.unit}>' argument '${flagValue}' is invalid. ${message}`)

    process.env[settingEnv(key)] = flagValue
    setEnv.push(settingEnv(key))
    const fromEnv = parse([]).error
    expect(fromEnv).toMatch(new RegExp(`from env '${settingEnv(key)}' is invalid\\. `))
    expect(fromEnv!.endsWith(` is invalid. ${message}`)).toBe(true)
  })

  it('good values from flags and env reach the config; absent ones keep the defaults', () => {
    process.env.SAMSA_MAX_CONNECTIONS = '7'
    setEnv.push('SAMSA_MAX_CONNECTIONS')
    const { opts } = parse(['--max-frame-bytes', '4096', '--max-batch-bytes', '2048', '--max-record-bytes', '1024', '--segment-bytes', '65536'])
    const overrides = settingOverrides(opts!)
    expect(overrides).toEqual({ maxConnections: 7, maxFrameBytes: 4096, maxBatchBytes: 2048, maxRecordBytes: 1024, log: { segmentBytes: 65536 } })
    expect(brokerConfig(overrides)).toMatchObject({ maxConnections: 7, requestTimeoutMs: 30_000 })
  })

  it('a flag overrides its env var', () => {
    process.env.SAMSA_MAX_CONNECTIONS = '0'
    setEnv.push('SAMSA_MAX_CONNECTIONS')
    // commander reads env only for options not given on the command line, so a bad env value under a good flag is not an error.
    expect(parse(['--max-connections', '9']).opts).toMatchObject({ maxConnections: 9 })
  })
})

describe('a bad topic creation through REST and through the protocol', () => {
  let broker: Broker
  let app: ReturnType<typeof createApp>
  beforeAll(async () => {
    broker = await Broker.start(brokerConfig({ maxPartitionsPerTopic: 10 }), { storage: new MemoryLogStorage(), clock: nodeClock, logger: silentLogger })
    const none = () => Promise.resolve(null)
    app = createApp({ broker, metricsText: async () => ({ contentType: 'text/plain', body: '' }), staticAsset: none, sdkFile: none })
  })
  afterAll(() => broker.shutdown())

  const rest = async (body: unknown) => {
    const res = await app.request('/v1/topics', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    return { status: res.status, error: ((await res.json()) as { error: { name: string; message: string } }).error }
  }
  const protocol = async (name: unknown, partitions: unknown) => {
    try {
      await broker.createTopic(name as string, partitions as number)
    } catch (e) {
      if (e instanceof SamsaError) return { name: e.errorName, message: e.message }
      throw e
    }
    throw new Error('created')
  }

  it.each([
    ['t1', 11, 'INVALID_PARTITIONS', ErrorMessages.invalidPartitions(10, 11)],
    ['t1', 0, 'INVALID_PARTITIONS', 'partitions must be an integer from 1 to 10, got 0'],
    ['t1', 2.5, 'INVALID_PARTITIONS', 'partitions must be an integer from 1 to 10, got 2.5'],
    ['t1', '3', 'INVALID_PARTITIONS', 'partitions must be an integer from 1 to 10, got "3"'],
    ['bad name', 1, 'INVALID_TOPIC_EXCEPTION', 'topic name "bad name" has characters outside [a-zA-Z0-9._-]'],
    [42, 1, 'INVALID_TOPIC_EXCEPTION', 'topic name must be a string, got 42'],
  ])('name %j, partitions %j → %s: %s', async (name, partitions, errorName, message) => {
    const viaRest = await rest({ name, partitions })
    expect(viaRest.status).toBe(400)
    expect(viaRest.error).toMatchObject({ name: errorName, message })
    expect(await protocol(name, partitions)).toEqual({ name: errorName, message })
  })

  it('an existing and a missing topic read the same through REST and the broker', async () => {
    await broker.createTopic('there', 3)
    expect((await rest({ name: 'there', partitions: 1 })).error).toMatchObject({ name: 'TOPIC_ALREADY_EXISTS', message: ErrorMessages.topicExists('there') })
    expect(await protocol('there', 1)).toEqual({ name: 'TOPIC_ALREADY_EXISTS', message: 'topic "there" already exists' })
    const res = await app.request('/v1/topics/nope')
    expect(res.status).toBe(404)
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe('topic "nope" does not exist')
    expect(() => broker.partition('nope', 0)).toThrow('topic "nope" does not exist')
    expect(() => broker.partition('there', 9)).toThrow('topic "there" has 3 partitions (0–2); there is no partition 9')
  })
})

describe('docs/operations.md', () => {
  it('lists every generated flag with its env var', async () => {
    const doc = await readFile(new URL('../../../../../../docs/operations.md', import.meta.url), 'utf8')
    const missing = [...Object.keys(brokerSettings), ...Object.keys(logSettings)].filter((k) => !doc.includes(`\`${settingFlag(k)} <`) || !doc.includes(`\`${settingEnv(k)}\``))
    expect(missing).toEqual([])
  })
})
