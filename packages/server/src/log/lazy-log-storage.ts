/**
 * @module LazyLogStorage: a LogStorage whose files hold an OS handle only while the FileHandleCache lets them.
 * An idle file's handle is closed when the cache needs the slot (after making its unsynced bytes durable) and
 * reopened on the next read, append, truncate or sync, so the handles open at once stay ≤ maxOpenFiles however
 * many partitions exist, and handles unused for idleCloseMs are closed. When the OS itself refuses a handle (TooManyOpenFilesError), idle handles are closed
 * and the open retried; if none is idle the error reaches the caller, which treats it as retriable.
 */
import type { Clock, Logger, Timer } from '../clock.js'
import { FileHandleCache, type EvictableHandle } from './file-handle-cache.js'
import { TooManyOpenFilesError, type LogStorage, type StoredFile } from './log-storage.js'

export interface LazyLogStorageOptions {
  readonly maxOpenFiles: number
  readonly logger: Logger
  readonly clock: Clock
  readonly onOpenCount?: (open: number) => void
  readonly onEvicted?: () => void
  /** Called each time the OS refused a handle and no idle one could be closed to make room. */
  readonly onTooManyOpenFiles?: () => void
  /** Handles unused this long are closed (checked every idleCloseMs), so an idle partition holds none; undefined = only when the cache is full. */
  readonly idleCloseMs?: number
}

/** At most one warning per this interval about the OS refusing handles; the rest are counted in it. */
const WARN_INTERVAL_MS = 10_000

export class LazyLogStorage implements LogStorage {
  readonly inner: LogStorage
  readonly cache: FileHandleCache
  readonly #opts: LazyLogStorageOptions
  #lastWarnMs = -Infinity
  #suppressedWarnings = 0
  #idleTimer: Timer | null = null
  #stopped = false

  constructor(inner: LogStorage, opts: LazyLogStorageOptions) {
    this.inner = inner
    this.#opts = opts
    this.cache = new FileHandleCache({
      maxOpenFiles: opts.maxOpenFiles,
      nowMs: () => opts.clock.monotonicMs(),
      ...(opts.onOpenCount ? { onOpenCount: opts.onOpenCount } : {}),
      ...(opts.onEvicted ? { onEvicted: opts.onEvicted } : {}),
    })
    this.#scheduleIdleClose()
  }

  /** Stops closing idle handles on the clock (files still open stay usable; their owners close them). */
  stop(): void {
    this.#stopped = true
    if (this.#idleTimer !== null) this.#opts.clock.clearTimeout(this.#idleTimer)
    this.#idleTimer = null
  }

  #scheduleIdleClose(): void {
    const idleMs = this.#opts.idleCloseMs
    if (idleMs === undefined || this.#stopped) return
    this.#idleTimer = this.#opts.clock.setTimeout(() => {
      this.#idleTimer = null
      void this.cache
        .closeIdle(idleMs)
        .catch((e: unknown) => this.#opts.logger.warn({ err: String(e) }, 'closing idle file handles failed'))
        .finally(() => this.#scheduleIdleClose())
    }, idleMs)
  }

  async open(path: string, opts: { create: boolean }): Promise<StoredFile> {
    const file = new LazyStoredFile(this, path)
    await file.openFirst(opts.create)
    return file
  }

  ensureDir(path: string): Promise<void> {
    return this.withHandleRetry(() => this.inner.ensureDir(path))
  }

  list(dir: string): Promise<string[]> {
    return this.withHandleRetry(() => this.inner.list(dir))
  }

  exists(path: string): Promise<boolean> {
    return this.withHandleRetry(() => this.inner.exists(path))
  }

  readFile(path: string): Promise<Uint8Array | null> {
    return this.withHandleRetry(() => this.inner.readFile(path))
  }

  writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
    return this.withHandleRetry(() => this.inner.writeFileAtomic(path, bytes))
  }

  remove(path: string): Promise<void> {
    return this.withHandleRetry(() => this.inner.remove(path))
  }

  removeDir(path: string): Promise<void> {
    return this.withHandleRetry(() => this.inner.removeDir(path))
  }

  rename(from: string, to: string): Promise<void> {
    return this.withHandleRetry(() => this.inner.rename(from, to))
  }

  syncDir(dir: string): Promise<void> {
    return this.withHandleRetry(() => this.inner.syncDir(dir))
  }

  /** Runs op; while the OS refuses handles, closes one idle cached handle and retries; rethrows when none is idle. */
  async withHandleRetry<T>(op: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await op()
      } catch (e) {
        if (!(e instanceof TooManyOpenFilesError)) throw e
        if (await this.cache.evictIdle()) continue
        this.#opts.onTooManyOpenFiles?.()
        this.#warn(e)
        throw e
      }
    }
  }

  #warn(e: Error): void {
    const now = this.#opts.clock.monotonicMs()
    if (now - this.#lastWarnMs < WARN_INTERVAL_MS) {
      this.#suppressedWarnings++
      return
    }
    this.#opts.logger.warn({ err: e.message, openFiles: this.cache.openCount, maxOpenFiles: this.cache.maxOpenFiles, suppressedSinceLastWarning: this.#suppressedWarnings }, 'the OS refused a file handle and no idle one could be closed; storage operations fail with a retriable error until handles free up')
    this.#lastWarnMs = now
    this.#suppressedWarnings = 0
  }
}

const closedError = () => new Error('the file is closed')

/**
 * A StoredFile that holds an inner handle only while cached. It is the only writer of its file, so size() is
 * known without a handle. Invariants: a handle is open whenever bytes may be unsynced (#syncedGen < #writeGen),
 * because eviction syncs before it closes; a failed sync (here or during eviction) is sticky.
 */
class LazyStoredFile implements StoredFile, EvictableHandle {
  readonly #storage: LazyLogStorage
  readonly #cache: FileHandleCache
  readonly #path: string
  #handle: StoredFile | null = null
  #opening: Promise<void> | null = null
  #closing: Promise<void> | null = null
  #size = 0
  /** Bumped before every append and truncate. Starts ahead of #syncedGen: bytes left by an earlier process may sit in the page cache. */
  #writeGen = 1
  /** #writeGen covered by the last successful sync. */
  #syncedGen = 0
  #syncInFlight: Promise<void> | null = null
  /** Set by a failed sync or by close(); every later call throws it. */
  #failure: Error | null = null
  #closed = false

  constructor(storage: LazyLogStorage, path: string) {
    this.#storage = storage
    this.#cache = storage.cache
    this.#path = path
  }

  /** Opens (or creates) the file once to learn its size; the handle then stays cached until evicted. */
  async openFirst(create: boolean): Promise<void> {
    await this.#openHandle(create, true)
    this.#cache.unpin(this)
  }

  size(): number {
    return this.#size
  }

  read(position: number, length: number): Promise<Uint8Array> {
    return this.#use((h) => h.read(position, length))
  }

  append(bytes: Uint8Array): Promise<void> {
    return this.#use((h) => {
      this.#writeGen++
      return h.append(bytes)
    })
  }

  truncate(size: number): Promise<void> {
    return this.#use((h) => {
      this.#writeGen++
      return h.truncate(size)
    })
  }

  /** Makes every byte appended before the call durable; a concurrent caller waits for the sync in flight and then checks again. */
  async sync(): Promise<void> {
    for (;;) {
      this.#check()
      if (this.#syncedGen >= this.#writeGen) return
      if (this.#syncInFlight) {
        await this.#syncInFlight.catch(() => {})
        continue
      }
      const target = this.#writeGen
      const run = this.#use((h) => h.sync()).then(
        () => {
          this.#syncedGen = Math.max(this.#syncedGen, target)
        },
        (e: unknown) => {
          this.#failure ??= e as Error
          throw e
        },
      )
      this.#syncInFlight = run
      try {
        await run
      } finally {
        if (this.#syncInFlight === run) this.#syncInFlight = null
      }
      return
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#failure ??= closedError()
    if (this.#opening) await this.#opening.catch(() => {})
    if (this.#closing) await this.#closing
    const h = this.#handle
    if (!h) return
    this.#handle = null
    this.#cache.remove(this)
    try {
      await h.close()
    } finally {
      this.#cache.releaseSlot()
    }
  }

  closeForEviction(): Promise<void> {
    const h = this.#handle!
    this.#closing = (async () => {
      try {
        if (this.#failure === null && this.#syncedGen < this.#writeGen) {
          const target = this.#writeGen
          await h.sync()
          this.#syncedGen = Math.max(this.#syncedGen, target)
        }
      } catch (e) {
        this.#failure ??= e as Error
      } finally {
        this.#handle = null
        await h.close().catch(() => {})
        this.#closing = null
      }
    })()
    return this.#closing
  }

  async #use<T>(op: (h: StoredFile) => Promise<T>): Promise<T> {
    const h = await this.#acquire()
    try {
      return await op(h)
    } finally {
      if (this.#handle === h) this.#size = h.size()
      this.#cache.unpin(this)
    }
  }

  /**
   * The open handle, pinned for one operation; waits out an eviction in progress and reopens after one. The
   * caller that opens the handle gets it pinned by the open itself, so each open serves at least one operation.
   */
  async #acquire(): Promise<StoredFile> {
    for (;;) {
      this.#check()
      if (this.#closing) {
        await this.#closing
        continue
      }
      if (this.#handle) {
        this.#cache.pin(this)
        return this.#handle
      }
      if (this.#opening) {
        await this.#opening.catch(() => {})
        continue
      }
      const opening = this.#openHandle(false, false)
      this.#opening = opening
      try {
        await opening
      } finally {
        this.#opening = null
      }
      if (this.#handle) return this.#handle
      // close() ran while it opened: the check above throws on the next pass.
    }
  }

  /** Opens the handle in a new cache slot, pinned for the caller; a reopen (not first) must find the size this file last knew. */
  async #openHandle(create: boolean, first: boolean): Promise<void> {
    await this.#cache.acquireSlot()
    let h: StoredFile
    try {
      h = await this.#storage.withHandleRetry(() => this.#storage.inner.open(this.#path, { create }))
    } catch (e) {
      this.#cache.releaseSlot()
      throw e
    }
    if (first) this.#size = h.size()
    if (this.#closed || h.size() !== this.#size) {
      if (!this.#closed) this.#failure ??= new Error(`${this.#path} changed size while its handle was closed (${this.#size} → ${h.size()} bytes)`)
      await h.close().catch(() => {})
      this.#cache.releaseSlot()
      throw this.#failure!
    }
    this.#handle = h
    this.#cache.added(this)
  }

  #check(): void {
    if (this.#failure) throw this.#failure
  }
}
