/**
 * @module The exclusive lock on a broker's data directory: `<dataDir>/broker.lock`, created atomically (link(2), which
 * fails if it exists, like O_EXCL) holding the owner's pid and process start time. A lock whose owner is gone (kill -9, crash, reboot, a reused
 * pid) is stale and is taken over; a live owner makes `acquireDataDirLock` fail with DataDirLockedError.
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'

export const LOCK_FILE_NAME = 'broker.lock'

/** What the lock file holds. startTime is the kernel's start time of the pid (Linux /proc), null elsewhere. */
interface LockHolder {
  readonly pid: number
  readonly startTime: string | null
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(`data directory ${dataDir} is locked by another broker (pid ${holderPid}); stop that broker or use another --data directory`)
    this.name = 'DataDirLockedError'
  }
}

export interface DataDirLock {
  readonly path: string
  /** Removes the lock file if it is still this process's lock. Idempotent. */
  release(): Promise<void>
}

/** Lock files this process holds: a file naming this pid and start time but absent here was left by an earlier life of this pid (a container restarted as pid 1). */
const heldHere = new Set<string>()

/** A takeover guard older than this was left by a process that died inside the few microseconds it is held. */
const STALE_GUARD_MS = 10_000

export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true })
  const path = join(dataDir, LOCK_FILE_NAME)
  const me: LockHolder = { pid: process.pid, startTime: processStartTime(process.pid) }
  const content = `${JSON.stringify(me)}\n`
  for (let attempt = 0; attempt < 5; attempt++) {
    // The lock appears whole or not at all: written to a private file, then hard-linked into place (link fails on EEXIST).
    const draft = `${path}.${process.pid}.${randomUUID()}`
    const fh = await open(draft, 'w')
    try {
      await fh.writeFile(content)
      await fh.sync()
    } finally {
      await fh.close()
    }
    try {
      await link(draft, path)
      heldHere.add(path)
      let released = false
      return {
        path,
        async release() {
          if (released) return
          released = true
          heldHere.delete(path)
          if ((await readFile(path, 'utf8').catch(() => null)) === content) await unlink(path).catch(() => {})
        },
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    } finally {
      await unlink(draft).catch(() => {})
    }
    const seen = await readFile(path, 'utf8').catch(() => null)
    if (seen === null) continue // released meanwhile
    const holder = parseHolder(seen)
    if (holder && isAlive(holder, path)) throw new DataDirLockedError(dataDir, holder.pid)
    await removeStale(path, seen)
  }
  throw new Error(`could not take the lock ${path}: it changed hands repeatedly while starting`)
}

/** Removes the stale lock file only if it still holds `seen`, under a guard file so two takeovers never both succeed. */
async function removeStale(path: string, seen: string): Promise<void> {
  const guard = `${path}.takeover`
  try {
    await (await open(guard, 'wx')).close()
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    const age = await stat(guard).then((s) => Date.now() - s.mtimeMs, () => 0)
    if (age > STALE_GUARD_MS) await unlink(guard).catch(() => {})
    return
  }
  try {
    if ((await readFile(path, 'utf8').catch(() => null)) === seen) await unlink(path).catch(() => {})
  } finally {
    await unlink(guard).catch(() => {})
  }
}

function parseHolder(text: string): LockHolder | null {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>
    if (typeof v.pid !== 'number' || !Number.isInteger(v.pid) || v.pid <= 0) return null
    return { pid: v.pid, startTime: typeof v.startTime === 'string' ? v.startTime : null }
  } catch {
    return null // torn or foreign content: written by a process that died before finishing it
  }
}

function isAlive(holder: LockHolder, path: string): boolean {
  if (holder.pid === process.pid) return heldHere.has(path) && holder.startTime === processStartTime(process.pid)
  try {
    process.kill(holder.pid, 0)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false
  }
  // The pid exists (or belongs to another user: EPERM). It is the holder unless its start time says the pid was reused.
  const now = processStartTime(holder.pid)
  return holder.startTime === null || now === null || now === holder.startTime
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); null where /proc is unavailable. */
function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) is parenthesised and may contain spaces: count fields after its closing paren.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}
