/**
 * @module The Deno entry: `deno run -A packages/server/dist/adapters/deno/main.js --data-dir DIR [--host H] [--port N]`
 * starts one single-node broker on DIR; SIGINT/SIGTERM close it (logs flushed and fsynced). A failed start prints one
 * line and exits 1.
 */
import { parseEntryArgs } from '../web/entry-args.js'
import { startWebBroker } from '../web/start-web-broker.js'
import { denoRuntime } from './deno-runtime.js'

declare const Deno: {
  readonly args: readonly string[]
  addSignalListener(signal: 'SIGINT' | 'SIGTERM', handler: () => void): void
  exit(code: number): never
}

try {
  const broker = await startWebBroker(denoRuntime, parseEntryArgs(Deno.args, 'samsa-deno'))
  const stop = () => void broker.close().then(() => Deno.exit(0), () => Deno.exit(1))
  Deno.addSignalListener('SIGINT', stop)
  Deno.addSignalListener('SIGTERM', stop)
} catch (e) {
  console.error(`samsa-deno: ${e instanceof Error ? e.message : String(e)}`)
  Deno.exit(1)
}
