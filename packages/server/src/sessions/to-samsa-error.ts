/**
 * @module The one place that turns anything thrown while handling a request into a wire error. A message that
 * reaches a client never names a file on the broker's disk: storage failures get fixed wording, and anything
 * that looks like a filesystem path is replaced by <path>. The original error stays on `cause` for the broker's log.
 */
import { ProtocolError, SamsaError } from '@samsa/shared'
import { StorageFullError, TooManyOpenFilesError } from '../log/log-storage.js'
import { LogCorruptionError } from '../log/log-recovery.js'
import { InvalidStoragePathError } from '../log/storage-path.js'

/**
 * Quoted absolute paths ('/srv/data', "C:\data"), unquoted absolute POSIX paths of two or more segments
 * (/srv/data/x.log, not a URL's /ws: a path must not follow a word character, ':' or '/'), Windows paths, and
 * paths inside the data directory (topics/…, meta/…; a topic name cannot contain '/').
 */
const PATHS = /(['"])(?:\/|[A-Za-z]:[\\/]|\\\\)[^'"]*\1|(?<![\w:/.])\/[^\s'"/]+\/[^\s'",;)]*|\b[A-Za-z]:\\[^\s'",;)]*|\b(?:topics|meta)\/[^\s'",;)]+/g

/** The message with every filesystem path replaced by <path>. */
export function withoutPaths(message: string): string {
  return message.replace(PATHS, (m, quote: string | undefined) => (quote ? `${quote}<path>${quote}` : '<path>'))
}

function withCause(e: SamsaError, cause: unknown): SamsaError {
  if (cause !== e) Object.defineProperty(e, 'cause', { value: cause, enumerable: false, configurable: true })
  return e
}

export function toSamsaError(err: unknown): SamsaError {
  if (err instanceof SamsaError) {
    const message = withoutPaths(err.message)
    return message === err.message ? err : withCause(new SamsaError({ code: err.code, name: err.errorName, retriable: err.retriable, message }, message, err.details), err)
  }
  if (err instanceof ProtocolError) return withCause(new SamsaError('INVALID_REQUEST', `malformed request body: ${withoutPaths(err.message)}`), err)
  if (err instanceof StorageFullError) return withCause(new SamsaError('KAFKA_STORAGE_ERROR', "the broker's disk is full; retry once space is freed"), err)
  if (err instanceof TooManyOpenFilesError) return withCause(new SamsaError('KAFKA_STORAGE_ERROR', 'the broker has too many open files; retry shortly'), err)
  if (err instanceof LogCorruptionError) return withCause(new SamsaError('KAFKA_STORAGE_ERROR', 'the partition log is damaged; the broker log names the file'), err)
  if (err instanceof InvalidStoragePathError) return withCause(new SamsaError('UNKNOWN_SERVER_ERROR', 'the broker refused an invalid storage path'), err)
  return withCause(new SamsaError('UNKNOWN_SERVER_ERROR', withoutPaths(err instanceof Error ? err.message : String(err))), err)
}
