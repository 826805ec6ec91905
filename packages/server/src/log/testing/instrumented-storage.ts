/** @module InstrumentedStorage: a LogStorage wrapper for tests that counts fsyncs and file reads, and can hold fsyncs or atomic file writes until released. */
import type { LogStorage, StoredFile } from '../log-storage.js'

export class InstrumentedStorage implements LogStorage {
  readonly inner: LogStorage
  /** StoredFile.sync() calls started through this wrapper. */
  syncs = 0
  /** StoredFile.read() calls through this wrapper. */
  reads = 0
  /** While set, every sync waits for it before reaching the inner storage. */
  #gate: Promise<void> | null = null
  /** While set, every writeFileAtomic waits for it before reaching the inner storage. */
  #atomicGate: Promise<void> | null = null

  constructor(inner: LogStorage) {
    this.inner = inner
  }

  /** Holds every later sync until the returned function is called. */
  holdSyncs(): () => void {
    let release!: () => void
    this.#gate = new Promise<void>((r) => (release = r))
    return () => {
      this.#gate = null
      release()
    }
  }

  async open(path: string, opts: { create: boolean }): Promise<StoredFile> {
    const file = await this.inner.open(path, opts)
    return {
      size: () => file.size(),
      read: (p, l) => {
        this.reads++
        return file.read(p, l)
      },
      append: (b) => file.append(b),
      truncate: (s) => file.truncate(s),
      close: () => file.close(),
      sync: async () => {
        this.syncs++
        if (this.#gate) await this.#gate
        await file.sync()
      },
    }
  }

  ensureDir(path: string): Promise<void> {
    return this.inner.ensureDir(path)
  }
  list(dir: string): Promise<string[]> {
    return this.inner.list(dir)
  }
  exists(path: string): Promise<boolean> {
    return this.inner.exists(path)
  }
  readFile(path: string): Promise<Uint8Array | null> {
    return this.inner.readFile(path)
  }
  /** Holds every later writeFileAtomic (checkpoints) until the returned function is called. */
  holdAtomicWrites(): () => void {
    let release!: () => void
    this.#atomicGate = new Promise<void>((r) => (release = r))
    return () => {
      this.#atomicGate = null
      release()
    }
  }

  async writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
    if (this.#atomicGate) await this.#atomicGate
    return this.inner.writeFileAtomic(path, bytes)
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
    return this.inner.syncDir(dir)
  }
}
