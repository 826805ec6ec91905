/** @module @samsa/client-browser/testing: test doubles for code that uses the SDK (fake broker, manual clock, until). Imports `ws`; never bundled. */
export { FakeBroker, type FakeBrokerOptions, type PushRecord } from './fake-broker.js'
export { FakePartitionLog, type StoredBatch, type AppendResult } from './fake-partition-log.js'
export { ManualClock, seededRandom } from './manual-clock.js'
export { until } from './until.js'
export { ScriptedCoordinator } from './scripted-coordinator.js'
