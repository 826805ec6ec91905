/** @module The metadata log (records and codec), the metadata image built from it, and the active controller's decisions. */
export * from './metadata-records.js'
export * from './metadata-image.js'
export * from './metadata-image-codec.js'
export * from './metadata-delta.js'
export * from './partition-placement.js'
export * from './partition-elections.js'
export * from './broker-heartbeats.js'
export * from './quorum-controller.js'
