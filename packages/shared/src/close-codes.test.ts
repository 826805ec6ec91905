import { describe, expect, it } from 'vitest'
import { closeCodeName, CloseCodes } from './close-codes.js'

describe('close codes', () => {
  it('never share a value', () => {
    const values = Object.values(CloseCodes)
    expect(new Set(values).size).toBe(values.length)
  })

  it('are valid WebSocket close codes: 1000-1014 from RFC 6455, or 4000-4999 for the application', () => {
    for (const code of Object.values(CloseCodes)) expect((code >= 1000 && code <= 1014) || (code >= 4000 && code <= 4999)).toBe(true)
  })

  it('include the ones both ends rely on', () => {
    expect(CloseCodes).toMatchObject({ PROTOCOL_ERROR: 1002, POLICY_VIOLATION: 1008, MESSAGE_TOO_BIG: 1009, UNAUTHORIZED: 4401, FORBIDDEN: 4403 })
  })

  it('closeCodeName names known codes and labels unknown ones', () => {
    for (const [name, code] of Object.entries(CloseCodes)) expect(closeCodeName(code)).toBe(name)
    expect(closeCodeName(4999)).toBe('CLOSE_4999')
  })
})
