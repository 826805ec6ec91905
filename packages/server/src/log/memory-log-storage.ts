/** @module MemoryLogStorage: an in-memory LogStorage that models durability (synced lengths, durable directory entries), disk-full and I/O faults for tests. */
import { StorageFullError, type LogStorage, type StoredFile } from './log-storage.js'
import { normalizeStoragePath, parentStoragePath } from './storage-path.js'

interface MemFile {
  data: Uint8Array
  /** Bytes written; data.length ≥ length. */
  length: number
  /** Bytes that survive simulatePowerLoss(); syncedLength ≤ length. */
  syncedLength: number
  /** Whether the directory entry survives simulatePowerLoss() (set by syncDir of its parent or writeFileAtomic). */
  entryDurable: boolean
}

/**
 * Durability model (pessimistic): appended bytes survive a power loss only after sync(); a file created or
 * renamed survives only after syncDir(parent); truncate() lowers the synced length at once; directories
 * created by ensureDir and removals are durable immediately. Handles opened before simulatePowerLoss() go stale.
 */
export class MemoryLogStorage implements LogStorage {
  #files = new Map<string, MemFile>()
  #dirs = new Set<string>([''])
  /** null = unlimited; otherwise appends and writes fail with StorageFullError past this many bytes in total. */
  #capacityBytes: number | null = null
  #syncFailure: Error | null = null
  #writeFailure: Error | null = null
  /** Bumped by simulatePowerLoss(); handles from an older generation throw. */
  #generation = 0
  #syncCount = 0
  #syncGate: Promise<void> | null = null

  /** Number of StoredFile.sync() calls that reached the storage (successful or not). */
  get syncCount(): number {
    return this.#syncCount
  }

  get usedBytes(): number {
    let used = 0
    for (const f of this.#files.values()) used += f.length
    return used
  }

  setCapacityBytes(capacityBytes: number | null): void {
    this.#capacityBytes = capacityBytes
  }

  /** Every later sync() fails with error (null to stop). */
  failSyncs(error: Error | null): void {
    this.#syncFailure = error
  }

  /** Every later append() fails with error before writing anything (null to stop). */
  failWrites(error: Error | null): void {
    this.#writeFailure = error
  }

  /** Drops every unsynced byte and every file whose directory entry was never synced; open handles go stale. */
  simulatePowerLoss(): void {
    this.#generation++
    for (const [path, f] of [...this.#files]) {
      if (!f.entryDurable) {
        this.#files.delete(path)
        continue
      }
      f.length = f.syncedLength
      f.data = f.data.slice(0, f.length)
    }
  }

  /**
   * Test hook: every sync() from now on waits (its bytes stay unsynced) until the returned release function is
   * called, as on a slow disk.
   */
  holdSyncs(): () => void {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    this.#syncGate = gate
    return () => {
      if (this.#syncGate === gate) this.#syncGate = null
      release()
    }
  }

  /** Resolves when syncs may proceed (see holdSyncs). */
  syncGate(): Promise<void> | null {
    return this.#syncGate
  }

  /** Test hook: the raw bytes of a file (a copy), or null. */
  peek(path: string): Uint8Array | null {
    const f = this.#files.get(normalizeStoragePath(path))
    return f ? f.data.slice(0, f.length) : null
  }

  /** Test hook: replaces a file's bytes (as if the disk changed under us); the new bytes count as synced. */
  poke(path: string, bytes: Uint8Array): void {
    const f = this.#files.get(normalizeStoragePath(path))
    if (!f) throw new Error(`no such file: ${path}`)
    f.data = bytes.slice()
    f.length = bytes.length
    f.syncedLength = bytes.length
  }

  async ensureDir(path: string): Promise<void> {
    const segments = normalizeStoragePath(path, true).split('/').filter((s) => s !== '')
    for (let i = 1; i <= segments.length; i++) {
      const dir = segments.slice(0, i).join('/')
      if (this.#files.has(dir)) throw new Error(`cannot create directory ${dir}: a file exists there`)
      this.#dirs.add(dir)
    }
  }

  async list(dir: string): Promise<string[]> {
    const d = normalizeStoragePath(dir, true)
    if (!this.#dirs.has(d)) return []
    const prefix = d === '' ? '' : `${d}/`
    const names = new Set<string>()
    for (const p of [...this.#files.keys(), ...this.#dirs]) {
      if (p === d || !p.startsWith(prefix)) continue
      const rest = p.slice(prefix.length)
      if (rest !== '' && !rest.includes('/')) names.add(rest)
    }
    return [...names].sort()
  }

  async exists(path: string): Promise<boolean> {
    const p = normalizeStoragePath(path)
    return this.#files.has(p) || this.#dirs.has(p)
  }

  async open(path: string, opts: { create: boolean }): Promise<StoredFile> {
    const p = normalizeStoragePath(path)
    let f = this.#files.get(p)
    if (!f) {
      if (!opts.create) throw new Error(`ENOENT: no such file ${p}`)
      this.#requireDir(parentStoragePath(p), p)
      f = { data: new Uint8Array(0), length: 0, syncedLength: 0, entryDurable: false }
      this.#files.set(p, f)
    }
    return new MemoryStoredFile(this, f, p, this.#generation)
  }

  async readFile(path: string): Promise<Uint8Array | null> {
    const f = this.#files.get(normalizeStoragePath(path))
    return f ? f.data.slice(0, f.length) : null
  }

  async writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
    const p = normalizeStoragePath(path)
    this.#requireDir(parentStoragePath(p), p)
    if (this.#writeFailure) throw this.#writeFailure
    const old = this.#files.get(p)?.length ?? 0
    if (this.#capacityBytes !== null && this.usedBytes - old + bytes.length > this.#capacityBytes) {
      throw new StorageFullError(`no space left to write ${p}`)
    }
    this.#files.set(p, { data: bytes.slice(), length: bytes.length, syncedLength: bytes.length, entryDurable: true })
  }

  async remove(path: string): Promise<void> {
    this.#files.delete(normalizeStoragePath(path))
  }

  async removeDir(path: string): Promise<void> {
    const d = normalizeStoragePath(path)
    const prefix = `${d}/`
    for (const p of [...this.#files.keys()]) if (p.startsWith(prefix)) this.#files.delete(p)
    for (const p of [...this.#dirs]) if (p === d || p.startsWith(prefix)) this.#dirs.delete(p)
  }

  async rename(from: string, to: string): Promise<void> {
    const a = normalizeStoragePath(from)
    const b = normalizeStoragePath(to)
    const f = this.#files.get(a)
    if (!f) throw new Error(`ENOENT: no such file ${a}`)
    this.#requireDir(parentStoragePath(b), b)
    this.#files.delete(a)
    f.entryDurable = false
    this.#files.set(b, f)
  }

  async syncDir(dir: string): Promise<void> {
    const d = normalizeStoragePath(dir, true)
    if (!this.#dirs.has(d)) throw new Error(`ENOENT: no such directory ${d}`)
    for (const [p, f] of this.#files) if (parentStoragePath(p) === d) f.entryDurable = true
  }

  #requireDir(dir: string, path: string): void {
    if (!this.#dirs.has(dir)) throw new Error(`ENOENT: directory ${dir === '' ? '<root>' : dir} of ${path} does not exist`)
  }

  /** @internal used by MemoryStoredFile */
  checkGeneration(generation: number, path: string): void {
    if (generation !== this.#generation) throw new Error(`stale handle for ${path}: opened before a simulated power loss`)
  }

  /** @internal */
  room(): number {
    return this.#capacityBytes === null ? Infinity : Math.max(0, this.#capacityBytes - this.usedBytes)
  }

  /** @internal */
  beforeWrite(): void {
    if (this.#writeFailure) throw this.#writeFailure
  }

  /** @internal */
  beforeSync(): void {
    this.#syncCount++
    if (this.#syncFailure) throw this.#syncFailure
  }
}

class MemoryStoredFile implements StoredFile {
  /** Set by the first failed sync or by close(); every later call throws. */
  #failure: Error | null = null

  constructor(
    readonly storage: MemoryLogStorage,
    readonly file: MemFile,
    readonly path: string,
    readonly generation: number,
  ) {}

  size(): number {
    return this.file.length
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    this.#check()
    if (position < 0 || length < 0) throw new RangeError(`bad read ${position}+${length} of ${this.path}`)
    const end = Math.min(this.file.length, position + length)
    return end <= position ? new Uint8Array(0) : this.file.data.slice(position, end)
  }

  async append(bytes: Uint8Array): Promise<void> {
    this.#check()
    this.storage.beforeWrite()
    const room = this.storage.room()
    const n = Math.min(room, bytes.length)
    this.#put(bytes.subarray(0, n))
    if (n < bytes.length) throw new StorageFullError(`no space left on device: wrote ${n} of ${bytes.length} bytes to ${this.path}`)
  }

  async sync(): Promise<void> {
    this.#check()
    const gate = this.storage.syncGate()
    if (gate !== null) await gate
    const length = this.file.length
    try {
      this.storage.beforeSync()
    } catch (e) {
      this.#failure = e as Error
      throw e
    }
    this.file.syncedLength = Math.max(this.file.syncedLength, Math.min(length, this.file.length))
  }

  async truncate(size: number): Promise<void> {
    this.#check()
    if (size < 0) throw new RangeError(`bad truncate ${size} of ${this.path}`)
    if (size > this.file.length) {
      this.#put(new Uint8Array(size - this.file.length))
      return
    }
    this.file.length = size
    this.file.syncedLength = Math.min(this.file.syncedLength, size)
  }

  async close(): Promise<void> {
    this.#failure ??= new Error(`${this.path} is closed`)
  }

  #put(bytes: Uint8Array): void {
    const f = this.file
    const need = f.length + bytes.length
    if (need > f.data.length) {
      const grown = new Uint8Array(Math.max(need, f.data.length * 2, 64))
      grown.set(f.data.subarray(0, f.length))
      f.data = grown
    }
    f.data.set(bytes, f.length)
    f.length = need
  }

  #check(): void {
    this.storage.checkGeneration(this.generation, this.path)
    if (this.#failure) throw this.#failure
  }
}
