import { describe, expect, it } from 'vitest'
import { ErrorCodes, errorByCode } from './error-codes.js'
import { SamsaError, errorKind, errorKindByCode } from './errors.js'

const table = Object.entries(ErrorCodes)

describe('the error table', () => {
  it('never reuses a code', () => {
    const codes = table.map(([, e]) => e.code)
    expect(new Set(codes).size).toBe(codes.length)
  })

  it('names every entry after its key', () => {
    for (const [key, e] of table) expect(e.name).toBe(key)
  })

  it('gives every code an int16 value and a message', () => {
    for (const [, e] of table) {
      expect(Number.isInteger(e.code) && e.code >= -0x8000 && e.code <= 0x7fff).toBe(true)
      expect(e.message.length).toBeGreaterThan(0)
    }
  })

  it.each([
    ['OFFSET_OUT_OF_RANGE', 1], ['CORRUPT_MESSAGE', 2], ['UNKNOWN_TOPIC_OR_PARTITION', 3], ['NOT_LEADER_OR_FOLLOWER', 6],
    ['MESSAGE_TOO_LARGE', 10], ['INVALID_TOPIC_EXCEPTION', 17], ['NOT_ENOUGH_REPLICAS', 19], ['TOPIC_AUTHORIZATION_FAILED', 29],
    ['UNSUPPORTED_VERSION', 35], ['OUT_OF_ORDER_SEQUENCE_NUMBER', 45], ['INVALID_PRODUCER_EPOCH', 47],
    ['FENCED_LEADER_EPOCH', 74],
  ] as const)('keeps Kafka\'s code for %s (%d)', (name, code) => {
    expect(ErrorCodes[name].code).toBe(code)
  })

  it('errorByCode finds every entry by its code', () => {
    for (const [, e] of table) expect(errorByCode(e.code)).toBe(e)
  })

  it('errorByCode describes an unknown code as a non-retriable UNKNOWN_ERROR_<code>', () => {
    expect(errorByCode(4242)).toEqual({ code: 4242, name: 'UNKNOWN_ERROR_4242', retriable: false, message: 'Unknown error code 4242.' })
  })

  it('errorKind and errorKindByCode give each entry\'s code, name and retriable flag, without its wording', () => {
    for (const [, e] of table) {
      const { message: _, ...kind } = e
      expect(errorKindByCode(e.code)).toEqual(kind)
      expect(errorKind(e.name)).toEqual(kind)
    }
    expect(errorKindByCode(4242)).toEqual({ code: 4242, name: 'UNKNOWN_ERROR_4242', retriable: false })
  })

  it('SamsaError built from a name or a kind carries the message its caller gives', () => {
    expect(new SamsaError('TOPIC_DELETED', 'topic "t" was deleted')).toMatchObject({ code: 1005, errorName: 'TOPIC_DELETED', retriable: false, message: 'topic "t" was deleted' })
    expect(new SamsaError(errorKindByCode(6), 'moved')).toMatchObject({ errorName: 'NOT_LEADER_OR_FOLLOWER', retriable: true, message: 'moved' })
  })

  it('SamsaError takes code, name and retriable from the table, and the table message by default', () => {
    const e = new SamsaError(ErrorCodes.NOT_LEADER_OR_FOLLOWER)
    expect(e).toMatchObject({ name: 'SamsaError', code: 6, errorName: 'NOT_LEADER_OR_FOLLOWER', retriable: true, details: {} })
    expect(e.message).toBe(ErrorCodes.NOT_LEADER_OR_FOLLOWER.message)
    expect(SamsaError.fromCode(2, 'bad crc', { offset: 3 })).toMatchObject({ errorName: 'CORRUPT_MESSAGE', message: 'bad crc', details: { offset: 3 } })
  })
})
