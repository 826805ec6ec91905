// A broker from the BUILT dist (`npm run build` first) on port 0, with the BrokerConfig overrides given as JSON in
// SAMSA_TEST_CONFIG, for tests that need a separate process (its own fd limit, /proc/<pid>/fd) and settings the
// CLI has no flag for. Usage: node configured-broker.mjs <dataDir>. Logs pino JSON lines on stderr; SIGTERM stops it.
import { startBroker } from '../../packages/server/dist/adapters/node/index.js'

const config = JSON.parse(process.env.SAMSA_TEST_CONFIG ?? '{}')
const running = await startBroker({ port: 0, dataDir: process.argv[2], config })
process.once('SIGTERM', () => {
  void running.close().then(() => process.exit(0))
})
