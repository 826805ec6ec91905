/**
 * @module Entry of the workerd contract bundle (run-contract.ts): a Worker whose Durable Object runs the LogStorage
 * contract (log-storage.contract.ts, unchanged, `vitest` mapped to mini-vitest.ts) against SqlLogStorage on the
 * object's own SQLite database, each case on emptied tables. GET / answers the run's lines, the summary last.
 */
import { MAX_ROW_BYTES, SqlLogStorage } from '../../../packages/server/src/adapters/cloudflare/sql-log-storage.js'
import type { DurableObjectContext, DurableObjectNamespaceBinding } from '../../../packages/server/src/adapters/cloudflare/workers-types.js'
import { logStorageContract } from '../../../packages/server/src/log/log-storage.contract.js'
import { expect, it, run } from './mini-vitest.js'

export class ContractObject {
  readonly #ctx: DurableObjectContext

  constructor(ctx: DurableObjectContext) {
    this.#ctx = ctx
  }

  async fetch(): Promise<Response> {
    const { storage } = this.#ctx
    const fresh = () => {
      storage.sql.exec('DROP TABLE IF EXISTS samsa_entries')
      storage.sql.exec('DROP TABLE IF EXISTS samsa_chunks')
      return new SqlLogStorage({ exec: (q, ...b) => storage.sql.exec(q, ...b), transactionSync: (fn) => storage.transactionSync(fn) })
    }
    logStorageContract('SqlLogStorage on Durable Object SQLite', async () => fresh())
    // Beyond the contract, what SQL could get wrong: names differing in case only, and rows split at MAX_ROW_BYTES.
    it('SqlLogStorage: removeDir leaves a directory whose name differs only in case', async () => {
      const s = fresh()
      await s.writeFileAtomic('topics/Orders/0/a', new Uint8Array([1]))
      await s.writeFileAtomic('topics/orders/0/a', new Uint8Array([2]))
      await s.removeDir('topics/orders')
      expect(await s.readFile('topics/Orders/0/a')).toEqual(new Uint8Array([1]))
      expect(await s.list('topics')).toEqual(['Orders'])
    })
    it('SqlLogStorage: an append over MAX_ROW_BYTES reads back whole, and truncates inside its second row', async () => {
      const s = fresh()
      await s.ensureDir('p')
      const f = await s.open('p/big', { create: true })
      const big = new Uint8Array(MAX_ROW_BYTES + 10).map((_, i) => i % 251)
      await f.append(big)
      expect(await f.read(MAX_ROW_BYTES - 5, 10)).toEqual(big.subarray(MAX_ROW_BYTES - 5, MAX_ROW_BYTES + 5))
      await f.truncate(MAX_ROW_BYTES + 3)
      const g = await s.open('p/big', { create: false })
      expect(g.size()).toBe(MAX_ROW_BYTES + 3)
      expect(await g.read(0, MAX_ROW_BYTES + 100)).toEqual(big.subarray(0, MAX_ROW_BYTES + 3))
    })
    const lines: string[] = []
    const log = console.log
    console.log = (...args: unknown[]) => void lines.push(args.map(String).join(' '))
    try {
      const failed = await run('workerd')
      return new Response(lines.join('\n') + '\n', { status: failed === 0 ? 200 : 500 })
    } finally {
      console.log = log
    }
  }
}

export default {
  fetch(_req: Request, env: { CONTRACT: DurableObjectNamespaceBinding }): Promise<Response> {
    return env.CONTRACT.get(env.CONTRACT.idFromName('contract')).fetch(new Request('http://contract/'))
  },
}
