/**
 * @module A log destination on a file descriptor that can neither stop nor stall the broker: writes are
 * asynchronous, at most maxQueuedBytes wait (more are dropped and counted), and after a write error (EPIPE when
 * the reader closed the pipe, EBADF, …) the destination drops everything. At exit it makes one bounded,
 * synchronous attempt to write what is queued. (pino's own destination retries EPIPE forever in its exit flush.)
 */
import { write, writeSync } from 'node:fs'

export interface LogDestination {
  write(line: string): void
  /** Lines dropped because the queue was full or the destination failed. */
  readonly droppedLines: number
  /** The error that made the destination give up, if any. */
  readonly failure: Error | null
}

const MiB = 1024 * 1024
const EAGAIN_RETRY_MS = 20

export function fdLogDestination(fd: number, opts: { maxQueuedBytes?: number } = {}): LogDestination {
  const maxQueuedBytes = opts.maxQueuedBytes ?? 4 * MiB
  /** Lines waiting; queuedBytes is the byte length of everything in queue (in-flight bytes excluded). */
  let queue: Buffer[] = []
  let queuedBytes = 0
  let writing = false
  let failure: Error | null = null
  let droppedLines = 0

  const fail = (err: Error) => {
    failure = err
    droppedLines += queue.length
    queue = []
    queuedBytes = 0
  }
  const pump = () => {
    if (writing || failure || queue.length === 0) return
    const chunk = queue.length === 1 ? queue[0]! : Buffer.concat(queue)
    queue = []
    queuedBytes = 0
    writing = true
    const retry = (rest: Buffer) => {
      queue.unshift(rest)
      queuedBytes += rest.length
    }
    write(fd, chunk, 0, chunk.length, null, (err, written) => {
      writing = false
      if (err?.code === 'EAGAIN') {
        retry(chunk)
        setTimeout(pump, EAGAIN_RETRY_MS).unref()
        return
      }
      if (err) return fail(err)
      if (written < chunk.length) retry(chunk.subarray(written))
      pump()
    })
  }
  process.once('exit', () => {
    if (failure || queue.length === 0) return
    try {
      const rest = Buffer.concat(queue)
      let at = 0
      for (let attempts = 0; at < rest.length && attempts < 100; attempts++) at += writeSync(fd, rest, at)
    } catch {
      // exiting anyway: a log line is never worth a hang
    }
  })

  return {
    write(line) {
      if (failure) return void droppedLines++
      const bytes = Buffer.from(line, 'utf8')
      if (queuedBytes + bytes.length > maxQueuedBytes) return void droppedLines++
      queue.push(bytes)
      queuedBytes += bytes.length
      pump()
    },
    get droppedLines() {
      return droppedLines
    },
    get failure() {
      return failure
    },
  }
}
