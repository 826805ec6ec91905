import { ApiKeys, SamsaError, exchanges } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { handleRequest, type HandledExchange, type RequestHandlers } from './request-handlers.js'
import { sessionHarness } from './testing/session-harness.js'

describe('request handlers', () => {
  it('are checked by the compiler against exchanges: a missing handler or a wrong response type does not compile', () => {
    const ok = { ping: () => ({}) } satisfies Pick<RequestHandlers, 'ping'>
    // @ts-expect-error every exchange but hello needs a handler
    const missing: RequestHandlers = { ping: () => ({}) }
    // @ts-expect-error createTopic answers { name, partitions }
    const wrong: Pick<RequestHandlers, 'createTopic'> = { createTopic: () => ({ name: 'x' }) }
    const handled: HandledExchange[] = ['metadata', 'ping']
    expect([ok, missing, wrong, handled]).toHaveLength(4)
  })

  it('answer every exchange but hello, and refuse hello, push and unknown api keys with UNKNOWN_API_KEY', async () => {
    const h = await sessionHarness()
    const { request } = h.open()
    expect(await request(exchanges.ping, {})).toEqual({})
    const handlers = { ping: () => ({}) } as unknown as RequestHandlers
    for (const apiKey of [ApiKeys.HELLO, ApiKeys.PUSH, 999]) {
      const thrown = (() => {
        try {
          return handleRequest(handlers, apiKey, {})
        } catch (e) {
          return e
        }
      })()
      expect(thrown).toBeInstanceOf(SamsaError)
      expect((thrown as SamsaError).errorName).toBe('UNKNOWN_API_KEY')
    }
    expect(handleRequest(handlers, ApiKeys.PING, {})).toEqual({})
  })
})
