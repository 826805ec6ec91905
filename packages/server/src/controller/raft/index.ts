/** @module The controller's Raft core: a pure state machine driven by a RaftNode driver (see raft-node.ts for the contract). */
export * from './messages.js'
export { RaftNode, type Ready, type RaftStatus, type ProgressStatus, type SoftState } from './raft-node.js'
export type { RaftConfig } from './raft.js'
export { MemoryRaftStorage, CompactedError, type RaftStorage } from './raft-storage.js'
export { RaftLogInvariantError } from './raft-log.js'
