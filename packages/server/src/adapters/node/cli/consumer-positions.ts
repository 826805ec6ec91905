/**
 * @module The positions of `samsa consume --consumer-id`: one small JSON file per broker + topic + consumer id under
 * the state directory (default ~/.samsa), holding each partition's next offset. Written after records are printed
 * (at least once: a crash between printing and writing prints those records again), always whole: a temp file is
 * written and fsynced, then renamed over the old one, so a reader sees the old positions or the new, never a mix.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { CliError } from './cli-error.js'

export const defaultStateDir = () => join(homedir(), '.samsa')

interface PositionsFile {
  readonly broker: string
  readonly topic: string
  readonly consumerId: string
  /** partition → next offset to print. */
  readonly positions: Record<string, number>
}

export class ConsumerPositions {
  readonly path: string
  readonly #file: Omit<PositionsFile, 'positions'>
  readonly #positions = new Map<number, number>()

  private constructor(path: string, file: Omit<PositionsFile, 'positions'>) {
    this.path = path
    this.#file = file
  }

  static async load(stateDir: string, broker: string, topic: string, consumerId: string): Promise<ConsumerPositions> {
    // encodeURIComponent keeps every name a single path segment ("." and ".." are not possible: the topic is checked by the broker first).
    const path = join(stateDir, 'consumers', encodeURIComponent(broker), topic, `${encodeURIComponent(consumerId)}.json`)
    const store = new ConsumerPositions(path, { broker, topic, consumerId })
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return store
      throw new CliError(`cannot read the stored positions of consumer ${JSON.stringify(consumerId)} in ${path}: ${(e as Error).message}`)
    }
    let parsed: Partial<PositionsFile>
    try {
      parsed = JSON.parse(text) as Partial<PositionsFile>
    } catch {
      throw new CliError(`${path} is not JSON; delete the file to start over`)
    }
    for (const [p, offset] of Object.entries(parsed.positions ?? {})) {
      if (!Number.isSafeInteger(offset) || offset < 0 || !/^\d+$/.test(p)) throw new CliError(`${path} holds a bad position ${p}: ${String(offset)}; delete the file to start over`)
      store.#positions.set(Number(p), offset)
    }
    return store
  }

  /** The next offset to print of each partition that has one. */
  get positions(): ReadonlyMap<number, number> {
    return this.#positions
  }

  /** Records the next offsets of printed records and writes the file (temp + fsync + rename). */
  async commit(next: ReadonlyMap<number, number>): Promise<void> {
    if (next.size === 0) return
    for (const [p, offset] of next) this.#positions.set(p, offset)
    const file: PositionsFile = { ...this.#file, positions: Object.fromEntries([...this.#positions].sort((a, b) => a[0] - b[0])) }
    await mkdir(dirname(this.path), { recursive: true })
    const temp = `${this.path}.${process.pid}.tmp`
    const handle = await open(temp, 'w')
    try {
      await handle.writeFile(`${JSON.stringify(file)}\n`)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, this.path)
  }
}
