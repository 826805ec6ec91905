import { describe, expect, it } from 'vitest'
import { parseEntryArgs } from './entry-args.js'

describe('runtime entry arguments', () => {
  it('takes the data directory, host, port and the broker limits in kebab case', () => {
    expect(parseEntryArgs(['--data-dir', 'd', '--port=0', '--max-connections-per-ip', '5'], 'samsa-bun')).toEqual({ dataDir: 'd', host: '127.0.0.1', port: 0, config: { maxConnectionsPerIp: 5 } })
  })

  it('names what is wrong: a missing data directory, an unknown flag, a limit out of range', () => {
    expect(() => parseEntryArgs([], 'samsa-deno')).toThrow('samsa-deno: --data-dir DIR is required')
    expect(() => parseEntryArgs(['--data-dir', 'd', '--nope', '1'], 'samsa-deno')).toThrow(/unknown option --nope/)
    expect(() => parseEntryArgs(['--data-dir', 'd', '--max-connections-per-ip', '0'], 'samsa-deno')).toThrow(/--max-connections-per-ip: /)
  })
})
