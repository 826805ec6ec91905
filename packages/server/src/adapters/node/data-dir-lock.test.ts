import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { acquireDataDirLock, DataDirLockedError, LOCK_FILE_NAME } from './data-dir-lock.js'

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})
async function freshDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'samsa-lock-'))
  dirs.push(d)
  return d
}
/** The pid of a process that has exited (and was reaped), so no process has it right now. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  return Number(r.stdout)
}

describe('acquireDataDirLock', () => {
  it('is exclusive while held, names the holder pid, and is free again after release', async () => {
    const dir = await freshDir()
    const lock = await acquireDataDirLock(dir)
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE_NAME), 'utf8')).pid).toBe(process.pid)
    const second = await acquireDataDirLock(dir).then(() => null, (e: unknown) => e)
    expect(second).toBeInstanceOf(DataDirLockedError)
    expect((second as Error).message).toBe(`data directory ${dir} is locked by another broker (pid ${process.pid}); stop that broker or use another --data directory`)
    await lock.release()
    await lock.release()
    const again = await acquireDataDirLock(dir)
    await again.release()
  })

  it('takes over a lock left by a dead process, a torn lock file, and one left by an earlier life of this pid', async () => {
    const dir = await freshDir()
    const path = join(dir, LOCK_FILE_NAME)
    for (const stale of [JSON.stringify({ pid: deadPid(), startTime: null }), '{"pid":', JSON.stringify({ pid: process.pid, startTime: 'earlier' })]) {
      await writeFile(path, stale)
      const lock = await acquireDataDirLock(dir)
      expect(JSON.parse(await readFile(path, 'utf8')).pid).toBe(process.pid)
      await lock.release()
    }
  })

  it('refuses a lock held by another live process', async () => {
    const dir = await freshDir()
    // pid 1 is alive in any environment; its start time is unknown to the file, so it counts as the holder.
    await writeFile(join(dir, LOCK_FILE_NAME), JSON.stringify({ pid: 1, startTime: null }))
    await expect(acquireDataDirLock(dir)).rejects.toThrow(/\(pid 1\)/)
  })

  it('lets exactly one of many concurrent takeovers of a stale lock win', async () => {
    const dir = await freshDir()
    await writeFile(join(dir, LOCK_FILE_NAME), JSON.stringify({ pid: deadPid(), startTime: null }))
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => acquireDataDirLock(dir)))
    const won = results.filter((r) => r.status === 'fulfilled')
    expect(won).toHaveLength(1)
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DataDirLockedError)
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release()
  })
})
