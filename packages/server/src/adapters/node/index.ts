/** @module @samsa/server/node: run the broker on Node (file storage, @hono/node-server, ws). */
export { startBroker, type RunningBroker, type StartBrokerOptions } from './start-broker.js'
export { FileLogStorage } from './file-log-storage.js'
export { nodeClock } from './node-clock.js'
export { staticFiles } from './static-files.js'
export { createPinoLogger } from './pino-logger.js'
