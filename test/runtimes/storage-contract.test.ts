/** FileLogStorage through `node:fs` passes the LogStorage contract under each runtime (the contract's cases, run without vitest: storage-contract/). */
import { beforeAll, describe, expect, it } from 'vitest'
import { RUNTIMES } from './launchers.js'
import { buildContractBundle, runContract } from './storage-contract/run-contract.js'

let bundle: string
beforeAll(async () => {
  bundle = await buildContractBundle()
})

describe('the LogStorage contract on FileLogStorage', () => {
  it.each(RUNTIMES.filter((r) => r !== 'workerd'))('passes under %s', (runtime) => {
    const r = runContract(runtime, bundle)
    expect(r.ok, r.output).toBe(true)
    expect(r.output).toMatch(new RegExp(`^${runtime}: \\d+ passed, 0 failed$`, 'm'))
  })
})
