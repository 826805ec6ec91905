/** @module The SDK's argument checks, shared by every public call (client, producer, admin, consumer). */
export * from './check.js'
export { normalizeBrokerUrl, normalizeBrokers } from './broker-url.js'
export { checkClientOptions, checkCloseOptions, checkConnectOptions, checkConsumerOptions, backoff } from './client-options.js'
export { checkProducerOptions, checkSendArguments, checkFlushOptions } from './producer-arguments.js'
export { checkCreateTopicOptions, type CreateTopicOptions } from './admin-arguments.js'
