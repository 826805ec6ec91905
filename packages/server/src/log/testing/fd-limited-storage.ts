/** @module FdLimitedStorage: a LogStorage wrapper for tests that plays the OS's open-file limit: past `limit` open handles, opens fail with TooManyOpenFilesError. */
import { TooManyOpenFilesError, type LogStorage, type StoredFile } from '../log-storage.js'

export class FdLimitedStorage implements LogStorage {
  readonly inner: LogStorage
  /** Handles open now through this wrapper. */
  openHandles = 0
  /** Most handles ever open at once. */
  peak = 0
  limit: number

  constructor(inner: LogStorage, limit: number) {
    this.inner = inner
    this.limit = limit
  }

  async open(path: string, opts: { create: boolean }): Promise<StoredFile> {
    this.#take()
    let file: StoredFile
    try {
      file = await this.inner.open(path, opts)
    } catch (e) {
      this.openHandles--
      throw e
    }
    let closed = false
    return {
      size: () => file.size(),
      read: (p, l) => file.read(p, l),
      append: (b) => file.append(b),
      truncate: (s) => file.truncate(s),
      sync: () => file.sync(),
      close: async () => {
        if (!closed) this.openHandles--
        closed = true
        await file.close()
      },
    }
  }

  #take(): void {
    if (this.openHandles >= this.limit) throw new TooManyOpenFilesError('EMFILE: too many open files (simulated)')
    this.openHandles++
    this.peak = Math.max(this.peak, this.openHandles)
  }

  /** Operations that hold a handle only while they run still need one free. */
  async #transient<T>(op: () => Promise<T>): Promise<T> {
    this.#take()
    try {
      return await op()
    } finally {
      this.openHandles--
    }
  }

  ensureDir(path: string): Promise<void> {
    return this.#transient(() => this.inner.ensureDir(path))
  }
  list(dir: string): Promise<string[]> {
    return this.#transient(() => this.inner.list(dir))
  }
  exists(path: string): Promise<boolean> {
    return this.inner.exists(path)
  }
  readFile(path: string): Promise<Uint8Array | null> {
    return this.#transient(() => this.inner.readFile(path))
  }
  writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
    return this.#transient(() => this.inner.writeFileAtomic(path, bytes))
  }
  remove(path: string): Promise<void> {
    return this.inner.remove(path)
  }
  removeDir(path: string): Promise<void> {
    return this.inner.removeDir(path)
  }
  rename(from: string, to: string): Promise<void> {
    return this.inner.rename(from, to)
  }
  syncDir(dir: string): Promise<void> {
    return this.#transient(() => this.inner.syncDir(dir))
  }
}
