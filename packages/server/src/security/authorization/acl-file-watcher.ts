/**
 * @module Keeps the ACL table current with its file: a poll on the injected clock compares the file's stamp (its
 * mtime and size, from the source port) and reloads when it changed.
 *
 * Invariants: the first load must succeed (a broker does not start on a bad ACL file); afterwards a file that cannot
 * be read or parsed keeps the previous table, and is reported once per change (one warn line and one audit line),
 * not once per poll. No I/O of its own: the adapter gives the source (adapters/node: node:fs).
 */
import type { Clock, Logger, Timer } from '../../clock.js'
import { audit } from '../audit-log.js'
import { parseAclFile, type AclTable } from './acl-file.js'

export interface AclFileSource {
  /** Where the file is, for log lines. */
  readonly path: string
  /** Changes whenever the file does (e.g. `${mtimeMs}:${size}`); null when the file is missing. */
  stamp(): Promise<string | null>
  read(): Promise<string>
}

export interface AclFileWatcherOptions {
  readonly source: AclFileSource
  readonly clock: Clock
  readonly logger: Logger
  /** How often the file's stamp is checked. */
  readonly pollIntervalMs: number
  /** Called after a new table is in force. */
  readonly onReload?: () => void
}

export class AclFileWatcher {
  readonly #opts: AclFileWatcherOptions
  #table: AclTable
  /** The stamp of the file last loaded, or last refused (a refused version is reported once). */
  #stamp: string | null
  #timer: Timer | null = null
  #stopped = false
  /** Resolves after each poll (tests wait on it instead of sleeping). */
  #polled: (() => void)[] = []

  private constructor(opts: AclFileWatcherOptions, table: AclTable, stamp: string | null) {
    this.#opts = opts
    this.#table = table
    this.#stamp = stamp
  }

  /** Loads the file (throws a RangeError naming it when it is missing or bad), then polls it. */
  static async open(opts: AclFileWatcherOptions): Promise<AclFileWatcher> {
    const stamp = await opts.source.stamp()
    if (stamp === null) throw new RangeError(`ACL file ${opts.source.path} does not exist`)
    let table: AclTable
    try {
      table = parseAclFile(await opts.source.read())
    } catch (e) {
      throw new RangeError(`ACL file ${opts.source.path}: ${e instanceof Error ? e.message : String(e)}`)
    }
    const w = new AclFileWatcher(opts, table, stamp)
    opts.logger.info({ path: opts.source.path, principals: table.size }, `ACL file loaded: ${table.size} principals`)
    w.#schedule()
    return w
  }

  /** The table in force. */
  get table(): AclTable {
    return this.#table
  }

  /** Resolves once the next poll has run. */
  nextPoll(): Promise<void> {
    return new Promise((resolve) => this.#polled.push(resolve))
  }

  stop(): void {
    this.#stopped = true
    if (this.#timer) this.#opts.clock.clearTimeout(this.#timer)
    this.#timer = null
  }

  #schedule(): void {
    if (this.#stopped) return
    this.#timer = this.#opts.clock.setTimeout(() => {
      this.#timer = null
      void this.#poll().finally(() => {
        const waiting = this.#polled
        this.#polled = []
        for (const fn of waiting) fn()
        this.#schedule()
      })
    }, this.#opts.pollIntervalMs)
  }

  async #poll(): Promise<void> {
    const { source, logger } = this.#opts
    let stamp: string | null
    try {
      stamp = await source.stamp()
    } catch (e) {
      stamp = `unreadable: ${e instanceof Error ? e.message : String(e)}`
    }
    if (stamp === this.#stamp) return
    this.#stamp = stamp
    try {
      if (stamp === null) throw new RangeError('the file is missing')
      const table = parseAclFile(await source.read())
      if (this.#stopped) return
      this.#table = table
      this.#opts.onReload?.()
      logger.info({ path: source.path, principals: table.size }, `ACL file reloaded: ${table.size} principals`)
      audit(logger, { action: 'acl.reload', outcome: 'allowed', resource: source.path })
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e)
      logger.warn({ path: source.path, reason }, `ACL file ${source.path} not reloaded, the previous ACLs stay in force: ${reason}`)
      audit(logger, { action: 'acl.reload', outcome: 'refused', resource: source.path, reason })
    }
  }
}
