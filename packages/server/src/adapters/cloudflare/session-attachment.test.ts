import { describe, expect, it } from 'vitest'
import { ApiKeys, ByteWriter, MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, encodeRequestFrame, exchanges } from '@samsa/shared'
import { attachmentAfter, correlationIdOf, emptyAttachment, parseAttachment } from './session-attachment.js'

const hello = (clientId: string) => encodeRequestFrame(exchanges.hello, 1, 7, { clientId, minVersion: MIN_PROTOCOL_VERSION, maxVersion: MAX_PROTOCOL_VERSION })
const header = (apiKey: number) => new ByteWriter().u16(apiKey).u16(1).u32(9).finish()

describe('session attachment', () => {
  it('keeps the latest hello and marks a subscription; other frames change nothing', () => {
    const first = attachmentAfter(emptyAttachment('10.0.0.1'), hello('first'))!
    const a = attachmentAfter(first, hello('app'))!
    expect(new Uint8Array(a.hello!)).toEqual(hello('app'))
    expect(correlationIdOf(new Uint8Array(a.hello!))).toBe(7)
    expect(attachmentAfter(a, header(ApiKeys.PRODUCE))).toBeNull()
    const s = attachmentAfter(a, header(ApiKeys.SUBSCRIBE))!
    expect(s.subscribed).toBe(true)
    expect(parseAttachment(structuredClone(s))).toEqual(s)
  })

  it('does not keep a hello too large for the 2 KiB attachment', () => {
    const a = attachmentAfter(emptyAttachment(null), hello('x'.repeat(2_000)))!
    expect(a.hello).toBeNull()
  })

  it('reads a missing or foreign attachment as nothing kept', () => {
    expect(parseAttachment(null)).toBeNull()
    expect(parseAttachment({ hello: 'no' })).toEqual({ hello: null, remoteAddress: null, subscribed: false })
  })
})
