// The Durable Streams reference server (@durable-streams/server, file-backed) in its own process, for
// bench/http-streams.mjs: started on port 0 in the data directory given as argv[2]; prints its URL on one line.
import { DurableStreamTestServer } from '@durable-streams/server'

const server = new DurableStreamTestServer({ port: 0, host: '127.0.0.1', dataDir: process.argv[2] })
const url = await server.start()
process.stdout.write(`reference-streams-url ${url}\n`)
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => void server.stop().finally(() => process.exit(0)))
