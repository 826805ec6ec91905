/**
 * @module FileLogStorage: LogStorage on a data directory with node:fs FileHandles; every path is confined to the root
 * and every directory change is fsynced. Appends are written synchronously (into the page cache: a few µs, where a
 * thread-pool round trip costs several times that in CPU); fsync, reads and everything else run on the thread pool.
 */
import { writeSync } from 'node:fs'
import { constants, type FileHandle, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { resolve, sep } from 'node:path'
import { StorageFullError, TooManyOpenFilesError, type LogStorage, type StoredFile } from '../../log/log-storage.js'
import { InvalidStoragePathError, parentStoragePath, storagePathSegments } from '../../log/storage-path.js'

const isCode = (e: unknown, code: string): boolean => (e as NodeJS.ErrnoException | null)?.code === code

/** EMFILE (this process) and ENFILE (the system) become TooManyOpenFilesError; anything else is returned as is. */
function mapFdError(e: unknown): unknown {
  if (isCode(e, 'EMFILE') || isCode(e, 'ENFILE')) return new TooManyOpenFilesError((e as Error).message)
  return e
}

/** Runs op, turning a refused file descriptor into TooManyOpenFilesError. */
async function fd<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op()
  } catch (e) {
    throw mapFdError(e)
  }
}

export class FileLogStorage implements LogStorage {
  /** Absolute, resolved data directory; every resolved path equals it or starts with it plus a separator. */
  readonly root: string

  constructor(root: string) {
    this.root = resolve(root)
  }

  /** Absolute path of a storage path, after checking that it cannot leave the root. */
  resolvePath(path: string, allowRoot = false): string {
    const segments = storagePathSegments(path, allowRoot)
    const abs = resolve(this.root, ...segments)
    if (abs !== this.root && !abs.startsWith(this.root + sep)) throw new InvalidStoragePathError(path, 'resolves outside the storage root')
    if (abs === this.root && !allowRoot) throw new InvalidStoragePathError(path, 'names the storage root, not a file')
    return abs
  }

  async ensureDir(path: string): Promise<void> {
    return fd(async () => {
      const segments = storagePathSegments(path, true)
      await mkdir(this.root, { recursive: true })
      for (let i = 1; i <= segments.length; i++) {
        const rel = segments.slice(0, i).join('/')
        try {
          await mkdir(this.resolvePath(rel))
        } catch (e) {
          if (isCode(e, 'EEXIST')) continue
          throw e
        }
        await this.syncDir(parentStoragePath(rel))
      }
    })
  }

  async list(dir: string): Promise<string[]> {
    return fd(async () => {
      try {
        return (await readdir(this.resolvePath(dir, true))).sort()
      } catch (e) {
        if (isCode(e, 'ENOENT')) return []
        throw e
      }
    })
  }

  async exists(path: string): Promise<boolean> {
    return fd(async () => {
      try {
        await stat(this.resolvePath(path))
        return true
      } catch (e) {
        if (isCode(e, 'ENOENT')) return false
        throw e
      }
    })
  }

  async open(path: string, opts: { create: boolean }): Promise<StoredFile> {
    return fd(async () => {
      const abs = this.resolvePath(path)
      const handle = await open(abs, constants.O_RDWR | (opts.create ? constants.O_CREAT : 0), 0o644)
      try {
        const { size } = await handle.stat()
        return new NodeStoredFile(handle, abs, size)
      } catch (e) {
        await handle.close()
        throw e
      }
    })
  }

  async readFile(path: string): Promise<Uint8Array | null> {
    return fd(async () => {
      try {
        const buf = await readFile(this.resolvePath(path))
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
      } catch (e) {
        if (isCode(e, 'ENOENT')) return null
        throw e
      }
    })
  }

  async writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
    return fd(async () => {
      const abs = this.resolvePath(path)
      const tmp = this.resolvePath(`${path}.tmp`)
      const handle = await open(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC, 0o644)
      try {
        await writeFully(handle, bytes, 0)
        await handle.sync()
      } catch (e) {
        await handle.close().catch(() => {})
        await rm(tmp, { force: true }).catch(() => {})
        throw mapWriteError(e, abs)
      }
      await handle.close()
      await rename(tmp, abs)
      await this.syncDir(parentStoragePath(storagePathSegments(path).join('/')))
    })
  }

  async remove(path: string): Promise<void> {
    return fd(async () => {
      await rm(this.resolvePath(path), { force: true })
      await this.syncDir(parentStoragePath(storagePathSegments(path).join('/')))
    })
  }

  async removeDir(path: string): Promise<void> {
    return fd(async () => {
      await rm(this.resolvePath(path), { recursive: true, force: true })
      await this.syncDir(parentStoragePath(storagePathSegments(path).join('/')))
    })
  }

  async rename(from: string, to: string): Promise<void> {
    return fd(async () => {
      await rename(this.resolvePath(from), this.resolvePath(to))
      const a = parentStoragePath(storagePathSegments(from).join('/'))
      const b = parentStoragePath(storagePathSegments(to).join('/'))
      await this.syncDir(b)
      if (a !== b) await this.syncDir(a)
    })
  }

  async syncDir(dir: string): Promise<void> {
    return fd(async () => {
      const handle = await open(this.resolvePath(dir, true), constants.O_RDONLY)
      try {
        await handle.sync()
      } finally {
        await handle.close()
      }
    })
  }
}

async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<number> {
  let done = 0
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done)
    if (bytesWritten === 0) throw new Error('write made no progress')
    done += bytesWritten
  }
  return done
}

function mapWriteError(e: unknown, path: string): unknown {
  if (isCode(e, 'ENOSPC') || isCode(e, 'EDQUOT')) return new StorageFullError(`no space left on device writing ${path}: ${(e as Error).message}`)
  return e
}

class NodeStoredFile implements StoredFile {
  /** Bytes in the file as far as this handle knows (it is the only writer); every append lands at #size. */
  #size: number
  /** Set by a failed sync or by close(); every later call throws it. */
  #failure: Error | null = null
  #closed = false

  constructor(
    readonly handle: FileHandle,
    readonly path: string,
    size: number,
  ) {
    this.#size = size
  }

  size(): number {
    return this.#size
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    this.#check()
    const want = Math.max(0, Math.min(length, this.#size - position))
    const out = new Uint8Array(want)
    let done = 0
    while (done < want) {
      const { bytesRead } = await this.handle.read(out, done, want - done, position + done)
      if (bytesRead === 0) break
      done += bytesRead
    }
    return done === want ? out : out.subarray(0, done)
  }

  /** On ENOSPC, size() counts the bytes that did land, so the caller can truncate back; throws StorageFullError. */
  async append(bytes: Uint8Array): Promise<void> {
    this.#check()
    let done = 0
    try {
      while (done < bytes.length) {
        const bytesWritten = writeSync(this.handle.fd, bytes, done, bytes.length - done, this.#size)
        if (bytesWritten === 0) throw new Error(`write to ${this.path} made no progress`)
        done += bytesWritten
        this.#size += bytesWritten
      }
    } catch (e) {
      throw mapWriteError(e, this.path)
    }
  }

  async sync(): Promise<void> {
    this.#check()
    try {
      await this.handle.datasync()
    } catch (e) {
      this.#failure = e as Error
      throw e
    }
  }

  async truncate(size: number): Promise<void> {
    this.#check()
    await this.handle.truncate(size)
    this.#size = size
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#failure ??= new Error(`${this.path} is closed`)
    await this.handle.close()
  }

  #check(): void {
    if (this.#failure) throw this.#failure
  }
}
