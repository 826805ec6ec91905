/**
 * @module `samsa cluster up`: a local development cluster in the foreground. N nodes run in this one process: node
 * ids 1..N, ports base..base+N−1, data in `<data>/<id>`; nodes 1..V (`--voters`, default all) are combined-mode
 * nodes (controller voter and broker each), the rest broker-only nodes. It prints
 * each node's URL, then one `cluster ready` line once there is an active controller and every broker is registered
 * and unfenced. SIGINT/SIGTERM stops every node: controlled shutdowns while a quorum remains to decide them. The
 * nodes share a cluster secret made for this run (never written anywhere), so no other process can join as a peer.
 */
import { randomBytes } from 'node:crypto'
import { join, resolve } from 'node:path'
import { Option, type Command } from 'commander'
import type { Logger } from '../../../clock.js'
import { createPinoLogger, type LogFormat } from '../pino-logger.js'
import { startBroker, type RunningBroker } from '../start-broker.js'
import { intArg } from './arg-parsers.js'
import { CliError } from './cli-error.js'
import { LOG_LEVELS } from './start-command.js'

/** The most voters a development quorum gets (Raft quorums are 1, 3, 5 or 7 in practice). */
export const MAX_CLUSTER_UP_NODES = 7
const READY_POLL_MS = 100

interface UpOptions {
  nodes: number
  voters?: number
  host: string
  basePort: number
  sessionTimeoutMs?: number
  data: string
  fsync: 'always' | 'interval' | 'never'
  logFormat?: LogFormat
  logLevel: string
  allowAnonymous?: boolean
}

interface Member {
  readonly id: number
  /** A controller voter (else a broker-only node). */
  readonly voter: boolean
  readonly dataDir: string
  readonly running: RunningBroker
}

/** An active controller and every one of `members` registered and unfenced, as each node sees it; else null. */
export function clusterReady(members: readonly Member[]): { leaderId: number; term: number } | null {
  const statuses = members.map((m) => m.running.cluster!.status())
  const active = statuses.find((s) => s.controller.active)
  if (!active) return null
  const allUnfenced = statuses.every((s) => !s.fenced && s.nodes.length === members.length && s.nodes.every((n) => !n.fenced))
  return allUnfenced ? { leaderId: active.brokerId, term: active.controller.term } : null
}

/**
 * Stops every member: broker-only nodes first, the active controller last. A controlled shutdown needs a controller
 * quorum to commit it, so a member is stopped controlled only while the voters still running are a majority of them.
 */
export async function stopMembers(members: readonly Member[], logger: Logger): Promise<void> {
  const voters = members.filter((m) => m.voter).length
  const majority = Math.floor(voters / 2) + 1
  const rank = (m: Member) => (m.voter ? 1 : 0) + Number(m.running.cluster?.status().controller.active ?? false)
  const order = [...members].sort((a, b) => rank(a) - rank(b))
  let votersRunning = voters
  for (const m of order) {
    const controlled = votersRunning >= majority
    logger.info({ node: m.id, controlled }, 'stopping node')
    await m.running.close({ controlled })
    if (m.voter) votersRunning--
  }
}

export function registerClusterUp(cluster: Command): void {
  cluster
    .command('up')
    .description('run a local development cluster in the foreground: N nodes, each a controller voter and a broker, or broker-only beyond --voters (Ctrl-C stops it)')
    .addOption(new Option('--nodes <n>', 'number of nodes (ids 1..N)').argParser(intArg(1, MAX_CLUSTER_UP_NODES)).default(3))
    .addOption(new Option('--voters <v>', 'nodes 1..V are controller voters (an odd count: 1, 3 or 5 tolerate 0, 1 or 2 failed voters), the others broker-only nodes (default: every node)').argParser(intArg(1, MAX_CLUSTER_UP_NODES)))
    .addOption(new Option('--host <host>', 'the host every node listens on and is reached at (its URLs are ws://HOST:PORT)').default('127.0.0.1'))
    .addOption(new Option('--base-port <port>', 'port of node 1; node N listens on base+N-1').argParser(intArg(1, 65535)).default(8081))
    .addOption(new Option('--session-timeout-ms <ms>', 'a broker not heard from for this long is fenced and loses its partition leadership (default 2000)').argParser(intArg(100, 600_000)))
    .addOption(new Option('--data <dir>', 'parent data directory: node N keeps its data in <dir>/N').default('./data'))
    .addOption(new Option('--fsync <mode>', 'always, interval or never (see docs/operations.md)').choices(['always', 'interval', 'never']).default('always'))
    .addOption(new Option('--log-format <format>', 'log output (default: pretty on a terminal, else json)').choices(['pretty', 'json']))
    .addOption(new Option('--log-level <level>', 'least severe level logged').choices(LOG_LEVELS).default('info'))
    .option('--allow-anonymous', 'let the nodes serve a --host other than loopback open, without authentication')
    .action(async (o: UpOptions) => {
      if (o.basePort + o.nodes - 1 > 65535) throw new CliError(`--base-port ${o.basePort} with --nodes ${o.nodes} goes past port 65535`)
      const logger = createPinoLogger({ level: o.logLevel, format: o.logFormat ?? (process.stderr.isTTY ? 'pretty' : 'json') })
      const ids = Array.from({ length: o.nodes }, (_, i) => i + 1)
      const voterCount = o.voters ?? o.nodes
      if (voterCount > o.nodes) throw new CliError(`--voters ${voterCount} is more than --nodes ${o.nodes}`)
      if (o.host === '0.0.0.0' || o.host === '::') throw new CliError(`--host ${o.host} binds every interface but is no address to reach a node at: give the machine's address or name`)
      const urlHost = o.host.includes(':') ? `[${o.host}]` : o.host
      const urls = ids.map((id) => ({ id, url: `ws://${urlHost}:${o.basePort + id - 1}` }))
      const controllers = urls.slice(0, voterCount)
      const clusterSecret = new Uint8Array(randomBytes(32))
      const members: Member[] = []
      let stopping: Promise<void> | null = null
      const stop = (reason: string): Promise<void> => {
        stopping ??= (async () => {
          logger.info({ reason }, 'stopping the cluster')
          await stopMembers(members, logger)
        })()
        return stopping
      }
      const onSignal = (signal: NodeJS.Signals) => {
        stop(signal).then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed')
            process.exit(1)
          },
        )
      }
      process.on('SIGTERM', onSignal)
      process.on('SIGINT', onSignal)
      for (const id of ids) {
        if (stopping) break
        const dataDir = join(resolve(o.data), String(id))
        try {
          const running = await startBroker({
            host: o.host,
            port: o.basePort + id - 1,
            dataDir,
            logger: logger.child({ node: id }),
            nodeId: id,
            controllers,
            clusterSecret,
            config: { log: { fsync: o.fsync }, allowAnonymous: o.allowAnonymous === true },
            ...(o.sessionTimeoutMs !== undefined && { clusterTiming: { sessionTimeoutMs: o.sessionTimeoutMs } }),
          })
          if (stopping) {
            await running.close({ controlled: false })
            break
          }
          members.push({ id, voter: id <= voterCount, dataDir, running })
        } catch (e) {
          await stop(`node ${id} failed to start`)
          throw new CliError(`node ${id} (port ${o.basePort + id - 1}, data ${dataDir}) failed to start: ${CliError.describe(e)}`)
        }
        const role = id <= voterCount ? '' : 'broker-only, '
        process.stdout.write(`node ${id}: ${urls[id - 1]!.url}  (${role}http://${urlHost}:${o.basePort + id - 1}/, data ${dataDir})\n`)
      }
      if (o.fsync !== 'always') logger.warn({ fsync: o.fsync }, 'acknowledged records may be lost on a crash or power failure in this fsync mode')
      // Wait for the quorum and the brokers' registrations (no deadline: a developer sees the nodes' logs meanwhile).
      while (!stopping) {
        const ready = clusterReady(members)
        if (ready) {
          const list = urls.map((c) => c.url).join(',')
          process.stdout.write(`cluster ready: ${o.nodes} node${o.nodes === 1 ? '' : 's'}${voterCount < o.nodes ? ` (${voterCount} voter${voterCount === 1 ? '' : 's'})` : ''}, controller leader ${ready.leaderId} (term ${ready.term}); --broker ${list}\n`)
          return
        }
        await new Promise((r) => setTimeout(r, READY_POLL_MS))
      }
    })
}
