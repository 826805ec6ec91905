import { describe, expect, it } from 'vitest'
import { normalizeBrokerUrl, normalizeBrokers } from './broker-url.js'
import { describeValue } from './check.js'
import { checkCreateTopicOptions } from './admin-arguments.js'
import { checkClientOptions } from './client-options.js'
import { checkProducerOptions, checkSendArguments } from './producer-arguments.js'

describe('argument checks', () => {
  it('describe what they got in a few words, for any value', () => {
    expect(describeValue({ value: 'x' })).toBe('an object')
    expect(describeValue(Object.create(null))).toBe('an object')
    expect(describeValue([1])).toBe('an array')
    expect(describeValue(new ArrayBuffer(1))).toBe('an ArrayBuffer')
    expect(describeValue(new Date(0))).toBe('a Date')
    expect(describeValue(NaN)).toBe('NaN')
    expect(describeValue('')).toBe('an empty string')
    expect(describeValue(10n)).toBe('the bigint 10n')
    const revoked = Proxy.revocable({}, {})
    revoked.revoke()
    expect(describeValue(revoked.proxy)).toBe('an unreadable value')
  })

  it('send: the issue’s three calls each get a TypeError naming the argument and what to write', () => {
    expect(() => checkSendArguments('t', { value: 'x' }, undefined)).toThrow(
      new TypeError('send(topic, records): records must be an array of { key?, value, headers? }, got an object; for one record write send(topic, [record])'),
    )
    expect(() => checkSendArguments({ topic: 't', messages: [{ value: 'x' }] }, undefined, undefined)).toThrow(/topic must be a non-empty string, got an object; send takes \(topic, records\), not kafkajs's/)
    expect(() => checkSendArguments('t', [{ value: { a: 1 } }], undefined)).toThrow(
      new TypeError('send(topic, records): records[0].value must be a string, a Uint8Array or null, got an object; serialize it first, e.g. JSON.stringify(value)'),
    )
  })

  it('send: keys, headers, partition, timestamp and options are checked; a good call passes', () => {
    const bad: [unknown, unknown, RegExp][] = [
      [[{ value: 'x', key: 5 }], undefined, /records\[0\]\.key must be a string, a Uint8Array or null, got the number 5/],
      [[{ value: 'x' }, { value: undefined }], undefined, /records\[1\]\.value must be a string, a Uint8Array or null \(null is a tombstone\), got undefined/],
      [[{ value: 'x', headers: { h: 1 } }], undefined, /records\[0\]\.headers\["h"\] must be/],
      [[{ value: 'x', headers: [] }], undefined, /records\[0\]\.headers must be an object/],
      [[{ value: 'x', partition: -1 }], undefined, /records\[0\]\.partition must be an integer ≥ 0, got the number -1/],
      [[{ value: 'x', timestamp: 1.5 }], undefined, /records\[0\]\.timestamp must be an integer ≥ 0/],
      [[{ value: new ArrayBuffer(2) }], undefined, /wrap it as new Uint8Array\(buffer\)/],
      [['x'], undefined, /records\[0\] must be an object/],
      [[{ value: 'x' }], { signal: {} }, /options\.signal must be an AbortSignal, got an object/],
      [[{ value: 'x' }], { timeoutMs: 5 }, /options has an unknown option "timeoutMs"; the options are signal/],
    ]
    for (const [records, options, message] of bad) expect(() => checkSendArguments('t', records, options)).toThrow(message)
    expect(checkSendArguments('t', [{ key: null, value: new Uint8Array(1), headers: { a: 'b', c: null }, partition: 0, timestamp: 1 }], { signal: new AbortController().signal })).toHaveProperty('signal')
  })

  it('producer() and createClient() options: types, ranges and misspelt names', () => {
    expect(() => checkProducerOptions({ acks: 1 })).toThrow(new TypeError("producer(options): options.acks must be one of 'all', 'leader', 'none', got the number 1"))
    expect(() => checkProducerOptions({ linger: 5 })).toThrow(/unknown option "linger"; the options are id, acks, idempotent, lingerMs/)
    expect(() => checkProducerOptions('fast')).toThrow(/options must be undefined or an object/)
    expect(() => checkProducerOptions({ lingerMs: 2.5, maxInFlight: 1 })).not.toThrow()
    expect(() => checkClientOptions(undefined)).toThrow(/createClient\(options\): options must be an object \{ brokers, \.\.\. \}, got undefined/)
    expect(() => checkClientOptions({ brokers: [] })).toThrow(/must name at least one broker/)
    expect(() => checkClientOptions({ brokers: 'ws://h:1', clock: { now: () => 0 } })).toThrow(/options\.clock must be an object with now\(\), setTimeout\(\), clearTimeout\(\), got an object/)
    expect(() => checkClientOptions({ brokers: 'ws://h:1', requestTimeoutMs: 0 })).toThrow(/requestTimeoutMs must be an integer in 1\.\.2147483647, got the number 0/)
    expect(checkClientOptions({ brokers: 'h:1, https://h2/ws', networkEvents: null })).toEqual(['ws://h:1', 'wss://h2'])
  })
})

describe('createTopic options', () => {
  const call = 'createTopic(name, options)'
  it('take partitions, replicationFactor and minInsyncReplicas in the wire ranges', () => {
    expect(checkCreateTopicOptions(call, { partitions: 6, replicationFactor: 3, minInsyncReplicas: 2 })).toEqual({ partitions: 6, replicationFactor: 3, minInsyncReplicas: 2 })
    expect(checkCreateTopicOptions(call, undefined)).toEqual({})
    expect(() => checkCreateTopicOptions(call, { replicationFactor: 0 })).toThrow(new TypeError('createTopic(name, options): options.replicationFactor must be an integer in 1..32767, got the number 0'))
    expect(() => checkCreateTopicOptions(call, { replicationFactor: 40_000 })).toThrow(/options\.replicationFactor must be an integer in 1\.\.32767/)
    expect(() => checkCreateTopicOptions(call, { replicationFactor: 3, minInsyncReplicas: 1.5 })).toThrow(/options\.minInsyncReplicas must be an integer in 1\.\.32767, got the number 1\.5/)
    expect(() => checkCreateTopicOptions(call, { replicas: 3 })).toThrow(/unknown option "replicas"; the options are partitions, replicationFactor, minInsyncReplicas/)
  })
  it('refuse minInsyncReplicas without replicationFactor (it travels only with it)', () => {
    expect(() => checkCreateTopicOptions(call, { minInsyncReplicas: 2 })).toThrow(
      new TypeError('createTopic(name, options): options.replicationFactor must be given with options.minInsyncReplicas, got undefined; name both, e.g. { replicationFactor: 3, minInsyncReplicas: 2 }'),
    )
  })
})

describe('broker URLs', () => {
  it('are normalized when the intent is clear', () => {
    const cases: [string, string][] = [
      ['ws://127.0.0.1:8080', 'ws://127.0.0.1:8080'],
      ['127.0.0.1:8080', 'ws://127.0.0.1:8080'],
      ['localhost:8080', 'ws://localhost:8080'],
      ['ws://localhost:8080/ws', 'ws://localhost:8080'],
      ['ws://localhost:8080/ws/', 'ws://localhost:8080'],
      ['localhost:8080/ws', 'ws://localhost:8080'],
      ['http://localhost:8080', 'ws://localhost:8080'],
      ['https://example.com/samsa/ws', 'wss://example.com/samsa'],
      ['wss://example.com:443/', 'wss://example.com'],
      ['[::1]:9000', 'ws://[::1]:9000'],
    ]
    for (const [input, normalized] of cases) expect(normalizeBrokerUrl(input)).toBe(normalized)
  })

  it('are rejected with what to write otherwise', () => {
    expect(() => normalizeBrokerUrl('tcp://localhost:9092')).toThrow(
      new TypeError('createClient(options): options.brokers has "tcp://localhost:9092", whose scheme tcp is not ws, wss, http or https; write the broker\'s base URL, e.g. ws://127.0.0.1:8080 (the client adds /ws)'),
    )
    expect(() => normalizeBrokerUrl('ws://localhost:99999')).toThrow(/which is not a URL; write the broker's base URL/)
    expect(() => normalizeBrokerUrl('ws://h:1/?token=x')).toThrow(/query or a fragment/)
    expect(() => normalizeBrokerUrl('ws://u:p@h:1')).toThrow(/credentials/)
    expect(() => normalizeBrokerUrl('  ')).toThrow(/an empty URL/)
    expect(() => normalizeBrokers(['ws://h:1', 8080])).toThrow(/options\.brokers\[1\] must be a broker URL string such as "ws:\/\/127\.0\.0\.1:8080", got the number 8080/)
    expect(() => normalizeBrokers(',')).toThrow(/must name at least one broker/)
  })
})
