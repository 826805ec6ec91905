/** @module Test helper: a partition directory as a broker killed before it wrote any recovery point leaves it. */
import type { LogStorage } from '../log-storage.js'
import { RECOVERY_POINT_FILE } from '../recovery-point.js'

/**
 * Removes the partition's recovery point, so the next open verifies every batch (as after a kill -9 before the first
 * checkpoint): for tests of damage that recovery must find, placed where no recovery point vouches for the bytes.
 */
export async function forgetRecoveryPoint(storage: LogStorage, dir: string): Promise<void> {
  await storage.remove(`${dir}/${RECOVERY_POINT_FILE}`)
}
