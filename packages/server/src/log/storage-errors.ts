/** @module The KAFKA_STORAGE_ERRORs a partition answers with: never naming files, the cause kept for the broker's own log. */
import { SamsaError } from '@samsa/shared'
import { StorageFullError, TooManyOpenFilesError } from './log-storage.js'

/**
 * A KAFKA_STORAGE_ERROR for the client. Its message never carries the cause's text (which names files on the
 * broker's disk); the cause stays on the error for the broker's own log.
 */
export function storageError(message: string, cause?: unknown): SamsaError {
  const e = new SamsaError('KAFKA_STORAGE_ERROR', message)
  if (cause !== undefined) Object.defineProperty(e, 'cause', { value: cause, enumerable: false })
  return e
}

/** Retriable storage conditions: nothing was written, the partition stays healthy and a resend can succeed. */
export function retriableStorageError(cause: unknown): SamsaError | null {
  if (cause instanceof StorageFullError) return storageError('the broker\'s disk is full; retry once space is freed', cause)
  if (cause instanceof TooManyOpenFilesError) return storageError('the broker has too many open files; retry shortly', cause)
  return null
}
