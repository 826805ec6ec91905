/** @module The one place that turns anything thrown while handling a request into a wire error. */
import { ProtocolError, SamsaError } from '@samsa/shared'
import { StorageFullError } from '../log/log-storage.js'

export function toSamsaError(err: unknown): SamsaError {
  if (err instanceof SamsaError) return err
  if (err instanceof ProtocolError) return new SamsaError('INVALID_REQUEST', `malformed request body: ${err.message}`)
  if (err instanceof StorageFullError) return new SamsaError('KAFKA_STORAGE_ERROR', err.message)
  return new SamsaError('UNKNOWN_SERVER_ERROR', err instanceof Error ? err.message : String(err))
}
