/**
 * @module Entry of the workerd contract bundle (run-contract.ts): a Worker whose Durable Object runs the LogStorage
 * contract (log-storage.contract.ts, unchanged, `vitest` mapped to mini-vitest.ts) against SqlLogStorage on the
 * object's own SQLite database, each case on emptied tables. GET / answers the run's lines, the summary last.
 */
import { SqlLogStorage } from '../../../packages/server/src/adapters/cloudflare/sql-log-storage.js'
import type { DurableObjectContext, DurableObjectNamespaceBinding } from '../../../packages/server/src/adapters/cloudflare/workers-types.js'
import { logStorageContract } from '../../../packages/server/src/log/log-storage.contract.js'
import { run } from './mini-vitest.js'

export class ContractObject {
  readonly #ctx: DurableObjectContext

  constructor(ctx: DurableObjectContext) {
    this.#ctx = ctx
  }

  async fetch(): Promise<Response> {
    const { storage } = this.#ctx
    logStorageContract('SqlLogStorage on Durable Object SQLite', async () => {
      storage.sql.exec('DROP TABLE IF EXISTS samsa_entries')
      storage.sql.exec('DROP TABLE IF EXISTS samsa_chunks')
      return new SqlLogStorage({ exec: (q, ...b) => storage.sql.exec(q, ...b), transactionSync: (fn) => storage.transactionSync(fn) })
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
