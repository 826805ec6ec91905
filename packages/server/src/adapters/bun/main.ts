/**
 * @module The Bun entry: `bun packages/server/dist/adapters/bun/main.js --data-dir DIR [--host H] [--port N]` starts
 * one single-node broker on DIR; SIGINT/SIGTERM close it (logs flushed and fsynced). A failed start prints one line
 * and exits 1.
 */
import { parseEntryArgs } from '../web/entry-args.js'
import { startWebBroker } from '../web/start-web-broker.js'
import { bunRuntime } from './bun-runtime.js'

try {
  const broker = await startWebBroker(bunRuntime, parseEntryArgs(process.argv.slice(2), 'samsa-bun'))
  const stop = () => void broker.close().then(() => process.exit(0), () => process.exit(1))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
} catch (e) {
  console.error(`samsa-bun: ${e instanceof Error ? e.message : String(e)}`)
  process.exit(1)
}
