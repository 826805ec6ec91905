/**
 * The LogStorage contract under each runtime (its cases run without vitest: storage-contract/): FileLogStorage through
 * `node:fs` on Node, Bun and Deno; SqlLogStorage on a Durable Object's SQLite database on workerd.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { RUNTIMES } from './launchers.js'
import { buildContractBundle, runContract, runWorkerdContract } from './storage-contract/run-contract.js'

let bundle: string
beforeAll(async () => {
  bundle = await buildContractBundle()
})

describe('the LogStorage contract on FileLogStorage', () => {
  it.each(RUNTIMES)('passes under %s', (runtime) => {
    const r = runContract(runtime, bundle)
    expect(r.ok, r.output).toBe(true)
    expect(r.output).toMatch(new RegExp(`^${runtime}: \\d+ passed, 0 failed$`, 'm'))
  })
})

describe('the LogStorage contract on SqlLogStorage', () => {
  it('passes under workerd (a Durable Object\'s SQLite database)', async () => {
    const r = await runWorkerdContract()
    expect(r.ok, r.output).toBe(true)
    expect(r.output).toMatch(/^workerd: \d+ passed, 0 failed$/m)
  })
})
