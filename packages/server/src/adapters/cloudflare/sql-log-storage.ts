/**
 * @module SqlLogStorage: the LogStorage port over a Durable Object's SQLite database (`ctx.storage.sql`), so the
 * partition log (segments, index, checkpoints, recovery point) runs unchanged on it and passes the same contract.
 * Layout: `samsa_entries` holds one row per directory and per file (its size); `samsa_chunks` holds a file's bytes,
 * one row per append keyed by (file, position). A segment's append is one produced batch, so a segment is one row
 * per batch keyed by its position, appended in one transaction; an append larger than MAX_ROW_BYTES (SQLite rows
 * are limited to 2 MB on Durable Objects) is split into several rows of the same transaction. Small files
 * (checkpoints) are replaced in one transaction, which is what writeFileAtomic promises.
 * Durability: a Durable Object's writes are durable before any output (a response, a WebSocket message) leaves the
 * object (its output gate), so sync() and syncDir() have nothing to add.
 */
import { InvalidStoragePathError, normalizeStoragePath, parentStoragePath } from '../../log/storage-path.js'
import type { LogStorage, StoredFile } from '../../log/log-storage.js'

export type SqlValue = ArrayBuffer | string | number | null

/** The part of a Durable Object's `SqlStorage` and `transactionSync` this storage uses. */
export interface SqlDatabase {
  exec(query: string, ...bindings: SqlValue[]): { toArray(): Record<string, SqlValue>[] }
  transactionSync<T>(fn: () => T): T
}

/** Largest chunk row written: below the 2 MB row limit of Durable Object SQLite. */
export const MAX_ROW_BYTES = 1024 * 1024

const DIR = 0
const FILE = 1

export class SqlLogStorage implements LogStorage {
  readonly #db: SqlDatabase

  constructor(db: SqlDatabase) {
    this.#db = db
    db.exec('CREATE TABLE IF NOT EXISTS samsa_entries (path TEXT PRIMARY KEY, parent TEXT NOT NULL, kind INTEGER NOT NULL, size INTEGER NOT NULL)')
    db.exec('CREATE INDEX IF NOT EXISTS samsa_entries_parent ON samsa_entries (parent)')
    db.exec('CREATE TABLE IF NOT EXISTS samsa_chunks (path TEXT NOT NULL, pos INTEGER NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (path, pos))')
  }

  async ensureDir(path: string): Promise<void> {
    const p = normalizeStoragePath(path, true)
    this.#db.transactionSync(() => this.#mkdirs(p))
  }

  async list(dir: string): Promise<string[]> {
    const d = normalizeStoragePath(dir, true)
    const rows = this.#db.exec('SELECT path FROM samsa_entries WHERE parent = ? ORDER BY path', d).toArray()
    return rows.map((r) => String(r.path).slice(d === '' ? 0 : d.length + 1))
  }

  async exists(path: string): Promise<boolean> {
    const p = normalizeStoragePath(path, true)
    return p === '' || this.#entry(p) !== null
  }

  async open(path: string, opts: { create: boolean }): Promise<StoredFile> {
    const p = normalizeStoragePath(path)
    const entry = this.#entry(p)
    if (entry?.kind === DIR) throw new Error(`cannot open ${p}: it is a directory`)
    if (entry === null) {
      if (!opts.create) throw new Error(`no such file: ${p}`)
      this.#db.transactionSync(() => {
        this.#mkdirs(parentStoragePath(p))
        this.#db.exec('INSERT INTO samsa_entries (path, parent, kind, size) VALUES (?, ?, ?, 0)', p, parentStoragePath(p), FILE)
      })
    }
    return new SqlStoredFile(this.#db, p, entry?.size ?? 0)
  }

  async readFile(path: string): Promise<Uint8Array | null> {
    const p = normalizeStoragePath(path)
    const entry = this.#entry(p)
    if (entry === null || entry.kind !== FILE) return null
    return readRange(this.#db, p, 0, entry.size)
  }

  async writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
    const p = normalizeStoragePath(path)
    this.#db.transactionSync(() => {
      this.#mkdirs(parentStoragePath(p))
      this.#db.exec('DELETE FROM samsa_chunks WHERE path = ?', p)
      this.#db.exec('INSERT OR REPLACE INTO samsa_entries (path, parent, kind, size) VALUES (?, ?, ?, ?)', p, parentStoragePath(p), FILE, bytes.length)
      insertChunks(this.#db, p, 0, bytes)
    })
  }

  async remove(path: string): Promise<void> {
    const p = normalizeStoragePath(path)
    this.#db.transactionSync(() => {
      this.#db.exec('DELETE FROM samsa_chunks WHERE path = ?', p)
      this.#db.exec('DELETE FROM samsa_entries WHERE path = ? AND kind = ?', p, FILE)
    })
  }

  async removeDir(path: string): Promise<void> {
    const p = normalizeStoragePath(path)
    // Paths under p/ are those in [p/, p0) ('0' follows '/'): compared bytewise, unlike LIKE, which ignores ASCII case.
    const from = `${p}/`
    const to = `${p}0`
    this.#db.transactionSync(() => {
      this.#db.exec('DELETE FROM samsa_chunks WHERE path >= ? AND path < ?', from, to)
      this.#db.exec('DELETE FROM samsa_entries WHERE path = ? OR (path >= ? AND path < ?)', p, from, to)
    })
  }

  async rename(from: string, to: string): Promise<void> {
    const a = normalizeStoragePath(from)
    const b = normalizeStoragePath(to)
    const entry = this.#entry(a)
    if (entry === null || entry.kind !== FILE) throw new Error(`cannot rename ${a}: no such file`)
    if (a === b) return
    this.#db.transactionSync(() => {
      this.#mkdirs(parentStoragePath(b))
      this.#db.exec('DELETE FROM samsa_chunks WHERE path = ?', b)
      this.#db.exec('DELETE FROM samsa_entries WHERE path = ?', b)
      this.#db.exec('UPDATE samsa_chunks SET path = ? WHERE path = ?', b, a)
      this.#db.exec('UPDATE samsa_entries SET path = ?, parent = ? WHERE path = ?', b, parentStoragePath(b), a)
    })
  }

  async syncDir(dir: string): Promise<void> {
    normalizeStoragePath(dir, true)
  }

  #entry(path: string): { kind: number; size: number } | null {
    const row = this.#db.exec('SELECT kind, size FROM samsa_entries WHERE path = ?', path).toArray()[0]
    return row ? { kind: Number(row.kind), size: Number(row.size) } : null
  }

  /** Inside a transaction: `path` and every parent exist as directories. */
  #mkdirs(path: string): void {
    if (path === '') return
    const entry = this.#entry(path)
    if (entry?.kind === FILE) throw new InvalidStoragePathError(path, 'a file is in the way of this directory')
    if (entry !== null) return
    const parent = parentStoragePath(path)
    this.#mkdirs(parent)
    this.#db.exec('INSERT INTO samsa_entries (path, parent, kind, size) VALUES (?, ?, ?, 0)', path, parent, DIR)
  }
}

class SqlStoredFile implements StoredFile {
  readonly #db: SqlDatabase
  readonly #path: string
  #size: number
  #closed = false

  constructor(db: SqlDatabase, path: string, size: number) {
    this.#db = db
    this.#path = path
    this.#size = size
  }

  size(): number {
    return this.#size
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    this.#open()
    const end = Math.min(this.#size, position + length)
    return end <= position ? new Uint8Array(0) : readRange(this.#db, this.#path, position, end)
  }

  async append(bytes: Uint8Array): Promise<void> {
    this.#open()
    const at = this.#size
    this.#db.transactionSync(() => {
      insertChunks(this.#db, this.#path, at, bytes)
      this.#db.exec('UPDATE samsa_entries SET size = ? WHERE path = ?', at + bytes.length, this.#path)
    })
    this.#size = at + bytes.length
  }

  async sync(): Promise<void> {
    this.#open()
  }

  async truncate(size: number): Promise<void> {
    this.#open()
    if (size >= this.#size) return
    this.#db.transactionSync(() => {
      const head = this.#db.exec('SELECT pos, bytes FROM samsa_chunks WHERE path = ? AND pos < ? ORDER BY pos DESC LIMIT 1', this.#path, size).toArray()[0]
      this.#db.exec('DELETE FROM samsa_chunks WHERE path = ? AND pos >= ?', this.#path, size)
      if (head) {
        const pos = Number(head.pos)
        const kept = blob(head.bytes).subarray(0, size - pos)
        this.#db.exec('UPDATE samsa_chunks SET bytes = ? WHERE path = ? AND pos = ?', toArrayBuffer(kept), this.#path, pos)
      }
      this.#db.exec('UPDATE samsa_entries SET size = ? WHERE path = ?', size, this.#path)
    })
    this.#size = size
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  #open(): void {
    if (this.#closed) throw new Error(`${this.#path} is closed`)
  }
}

/** The bytes [start, end) of a file, from the row holding `start` on (a copy). */
function readRange(db: SqlDatabase, path: string, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start)
  const first = db.exec('SELECT pos FROM samsa_chunks WHERE path = ? AND pos <= ? ORDER BY pos DESC LIMIT 1', path, start).toArray()[0]
  const from = first ? Number(first.pos) : 0
  for (const row of db.exec('SELECT pos, bytes FROM samsa_chunks WHERE path = ? AND pos >= ? AND pos < ? ORDER BY pos', path, from, end).toArray()) {
    const pos = Number(row.pos)
    const bytes = blob(row.bytes)
    const lo = Math.max(start, pos)
    const hi = Math.min(end, pos + bytes.length)
    if (hi > lo) out.set(bytes.subarray(lo - pos, hi - pos), lo - start)
  }
  return out
}

function insertChunks(db: SqlDatabase, path: string, at: number, bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i += MAX_ROW_BYTES) {
    const part = bytes.subarray(i, Math.min(bytes.length, i + MAX_ROW_BYTES))
    db.exec('INSERT OR REPLACE INTO samsa_chunks (path, pos, bytes) VALUES (?, ?, ?)', path, at + i, toArrayBuffer(part))
  }
}

function blob(value: SqlValue | undefined): Uint8Array {
  if (value instanceof ArrayBuffer) return new Uint8Array(value)
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  throw new Error('a storage chunk is not a BLOB')
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.length)
  copy.set(bytes)
  return copy.buffer
}
