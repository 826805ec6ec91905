/**
 * @module LogStorage: the storage port under partition logs. Paths are '/'-separated and relative to the
 * storage root; implementations reject any path that would leave the root. FileLogStorage (adapters/node)
 * and MemoryLogStorage both pass log-storage.contract.ts.
 */

export interface StoredFile {
  /** Current size in bytes, including bytes not yet synced. */
  size(): number
  /** Reads up to length bytes at position; shorter only at the end of the file. */
  read(position: number, length: number): Promise<Uint8Array>
  /** Appends at the end. Not durable until sync() resolves. */
  append(bytes: Uint8Array): Promise<void>
  /** Makes every appended byte durable (fdatasync). A failure is sticky: the caller must stop using the file. */
  sync(): Promise<void>
  /** Cuts the file to size bytes. */
  truncate(size: number): Promise<void>
  close(): Promise<void>
}

export interface LogStorage {
  /** Creates the directory and its parents if missing, and makes the new entries durable. */
  ensureDir(path: string): Promise<void>
  /** Names (not paths) of the entries in a directory; [] when it does not exist. */
  list(dir: string): Promise<string[]>
  exists(path: string): Promise<boolean>
  /** Opens a file for reading and appending, creating it when create is true. */
  open(path: string, opts: { create: boolean }): Promise<StoredFile>
  /** Reads a whole small file (checkpoints, metadata); null when it does not exist. */
  readFile(path: string): Promise<Uint8Array | null>
  /** Atomically replaces a small file: write temp → sync → rename → sync dir. */
  writeFileAtomic(path: string, bytes: Uint8Array): Promise<void>
  remove(path: string): Promise<void>
  /** Removes a directory and everything in it. */
  removeDir(path: string): Promise<void>
  rename(from: string, to: string): Promise<void>
  /** Makes the directory's entries (creations, renames, removals) durable. */
  syncDir(dir: string): Promise<void>
}

/** Raised by storage implementations when the device is out of space (ENOSPC), so callers can map it to a retriable error. */
export class StorageFullError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'StorageFullError'
  }
}

/**
 * Raised by storage implementations when the process or the system has no file descriptor left (EMFILE, ENFILE).
 * Nothing was written: callers map it to a retriable error and never treat it as damage to a log.
 */
export class TooManyOpenFilesError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TooManyOpenFilesError'
  }
}
