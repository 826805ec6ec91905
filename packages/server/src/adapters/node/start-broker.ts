/**
 * @module The Node composition root: the data-directory lock, file storage, real clock, pino, prom-client, Hono on
 * @hono/node-server for HTTP (http-server.ts), and the broker's own `ws` server for /ws upgrades. Invariants: every
 * setting is checked before the lock and the port are taken, the lock before the port; a start that fails releases
 * what it took, and close() releases the lock last.
 */
import { readFile } from 'node:fs/promises'
import type { Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ServerType } from '@hono/node-server'
import { CloseCodes } from '@samsa/shared'
import { Broker } from '../../broker/broker.js'
import { brokerConfig, type BrokerConfig } from '../../broker/broker-config.js'
import type { Logger } from '../../clock.js'
import type { PartitionLogConfig } from '../../log/partition-log.js'
import { createApp, type SdkFile } from '../../transport/app.js'
import type { Entry } from '../../controller/raft/index.js'
import { incompleteReplicas } from '../../cluster/incomplete-replicas.js'
import { ClusterNode } from '../../cluster/cluster-node.js'
import { nodeView } from './cluster-view.js'
import { brokerReplicaLogs } from '../../cluster/broker-replica-logs.js'
import { ReplicaManager, type ReplicaManagerConfig } from '../../replication/replica-manager.js'
import { peerReplicaLinks } from './replica-links.js'
import { MetadataNode } from '../../controller/metadata-node.js'
import type { MetadataView } from '../../controller/metadata-view.js'
import { defaultQuorumControllerConfig } from '../../controller/metadata/index.js'
import { MetadataObserver } from '../../cluster/metadata-observer.js'
import type { PeerGate } from '../../sessions/session.js'
import { startControllerNode, type ControllerNode, type ControllerVoter } from './controller-node.js'
import { PeerRequests } from './peer-requests.js'
import { acquireDataDirLock } from './data-dir-lock.js'
import { checkDataDirMode } from './data-dir-mode.js'
import { FileLogStorage } from './file-log-storage.js'
import { nativeCrc32c } from './native-crc32c.js'
import { nodeClock } from './node-clock.js'
import { staticFiles } from './static-files.js'
import { createPinoLogger } from './pino-logger.js'
import { createPromMetrics } from './prom-metrics.js'
import { streamWaitingReads } from './stream-metrics.js'
import { attachWebSocketServer } from './ws-upgrade.js'
import { defaultAdvertisedUrl, listenHttp, reportAcceptErrors, requestAddress, urlHost } from './http-server.js'
import { registerClusterMetrics } from './cluster-metrics.js'
import { BrowserPolicy, defaultAllowedHosts } from '../../security/browser-policy.js'
import { refusalReporter } from '../../security/browser-refusals.js'
import { readTlsMaterial, type TlsFiles } from './tls-files.js'
import { leaderFetchTrusting } from './leader-fetch.js'
import { authenticationConfigured, type AuthenticationSettings } from './authentication-files.js'
import { brokerAuthentication, logAuthenticationMode } from './broker-authentication.js'
import { bearerPrincipalOf } from './bearer-principal.js'
import { openAuthorization, type AuthorizationOptions } from './authorization.js'

export interface StartBrokerOptions {
  readonly host?: string
  /** 0 picks a free port. */
  readonly port?: number
  readonly dataDir: string
  /**
   * The ws:// or wss:// base URL clients are told to use (metadata). Default: ws://host:port, with 127.0.0.1 for
   * a wildcard host (0.0.0.0, ::), which is no address a client can connect to.
   */
  readonly advertisedUrl?: string
  readonly logger?: Logger
  readonly config?: Partial<Omit<BrokerConfig, 'log' | 'advertisedUrl'>> & { log?: Partial<PartitionLogConfig> }
  /** This node's id in the cluster (also its brokerId); required with `controllers`. */
  readonly nodeId?: number
  /**
   * The controller quorum's voters. When given with this node among them, the node runs a Raft controller with them
   * over broker-to-broker WebSockets and a broker (combined mode); with this node not among them, it is a broker-only
   * node: it observes the metadata log from the voters and registers as a broker. When absent (the default) the
   * broker is a single node as before.
   */
  readonly controllers?: readonly ControllerVoter[]
  /** Controller tuning (tests): tick length and election timeout in ticks. */
  readonly controllerTiming?: { readonly tickMs?: number; readonly electionTicks?: number }
  /**
   * Cluster tuning: the broker session timeout (default 2 s; heartbeats every third of it), metadata snapshots every
   * N entries (default 1,000), preferred-leader elections every N ms (default 30 s; 0: never).
   */
  readonly clusterTiming?: { readonly sessionTimeoutMs?: number; readonly snapshotEveryEntries?: number; readonly preferredLeaderIntervalMs?: number }
  /** Replication tuning of a cluster node (replica.lag.time.max.ms, ISR check interval, follower fetch sizes). */
  readonly replication?: Partial<ReplicaManagerConfig>
  /**
   * Tests of the bare quorum only: applies committed controller entries itself, and the node runs no metadata log
   * (no broker registration, metadata from the local broker as on a single node).
   */
  readonly controllerApply?: (entry: Entry) => unknown
  /**
   * Serve https:// and wss:// with this certificate and key (PEM files; `reloadTls()` reads them again), and trust
   * `caFile` (besides Node's default store) on outbound wss:// peer links. The default advertised URL is then wss://.
   */
  readonly tls?: TlsFiles
  /** Client authentication: any key, JWKS file or URL turns it on (config.authEnabled); see broker-authentication.ts. */
  readonly authentication?: AuthenticationSettings
  /** The cluster secret (≥ 32 bytes) peers prove membership with; required for a cluster with authentication. */
  readonly clusterSecret?: Uint8Array
  /** Authorization: on/off, the ACL file, a protected /metrics (authorization.ts). */
  readonly authorization?: AuthorizationOptions
}

export interface RunningBroker {
  readonly broker: Broker
  readonly port: number
  /** http://host:port (https:// with TLS) */
  readonly httpUrl: string
  /** The advertised base URL clients are given (ws://host:port unless advertisedUrl was set). */
  readonly url: string
  /** The controller quorum member, when `controllers` was given with this node among them. */
  readonly controller: ControllerNode | null
  /** The cluster member (metadata log, registration, partition roles), when `controllers` was given without `controllerApply`. */
  readonly cluster: ClusterNode | null
  /** This node's partition replicas (leader and follower roles), on a cluster member. */
  readonly replicas: ReplicaManager | null
  /**
   * Closes every connection (1001), flushes and fsyncs every log. A cluster member first asks the controller for a
   * controlled shutdown (leadership moved away) unless `controlled` is false (then its session simply expires).
   */
  close(opts?: { readonly controlled?: boolean }): Promise<void>
  /**
   * Reads the TLS certificate and key files again and serves them to new connections; established connections keep
   * theirs (nothing is dropped). Rejects, keeping the current ones, when the files cannot be read or do not match.
   * Resolves at once without TLS.
   */
  reloadTls(): Promise<void>
}

const require = createRequire(import.meta.url)

function cachedFile(resolve: () => string): () => Promise<string | null> {
  let cached: Promise<string | null> | null = null
  return () => (cached ??= readFile(resolve(), 'utf8').catch(() => null))
}

export async function startBroker(opts: StartBrokerOptions): Promise<RunningBroker> {
  const host = opts.host ?? '127.0.0.1'
  if (opts.controllers !== undefined) {
    if (opts.nodeId === undefined) throw new RangeError('a node with controllers needs its nodeId')
    if (opts.controllerApply && !opts.controllers.some((v) => v.id === opts.nodeId)) throw new RangeError(`nodeId ${opts.nodeId} is not among the controllers (${opts.controllers.map((v) => v.id).join(', ')}): a bare quorum node must be a voter`)
  }
  // A node given the controllers but not among them is a broker-only node (an observer of the metadata log).
  const brokerOnly = opts.controllers !== undefined && !opts.controllers.some((v) => v.id === opts.nodeId)
  // Every setting (the advertised URL included) is checked before the lock and the port are taken.
  const nodeConfig = { ...(opts.nodeId !== undefined && opts.config?.brokerId === undefined ? { brokerId: opts.nodeId } : {}), authEnabled: authenticationConfigured(opts.authentication) }
  const checked = brokerConfig({ ...opts.config, ...nodeConfig, ...(opts.advertisedUrl !== undefined ? { advertisedUrl: opts.advertisedUrl } : {}) })
  const peerSecret = opts.clusterSecret ? { clusterSecret: opts.clusterSecret } : {}
  const auth = await brokerAuthentication(host, checked, { ...opts, clustered: opts.controllers !== undefined })
  const logger = opts.logger ?? createPinoLogger()
  const metrics = createPromMetrics()
  const storage = new FileLogStorage(opts.dataDir)
  const headersTimeoutMs = opts.config?.headersTimeoutMs ?? brokerConfig().headersTimeoutMs

  // The lock comes first: a second broker on this directory must not even bind a port.
  const tls = opts.tls ? await readTlsMaterial(opts.tls) : null
  const peerTls = tls?.ca ? { ca: tls.ca } : {}
  const lock = await acquireDataDirLock(opts.dataDir)
  let server: ServerType | null = null
  let broker!: Broker
  let replicas: ReplicaManager | null = null
  let replicaPeers: PeerRequests | null = null
  let metadataNode: MetadataNode | null = null
  let observer: MetadataObserver | null = null
  /** The metadata log as this node has it: its MetadataNode (a voter) or its MetadataObserver (broker-only). */
  let metadataView: MetadataView | null = null
  let cluster: ClusterNode | null = null
  let config: BrokerConfig
  let stopAuthorization = () => {}
  // Listen before recovery so a busy port fails before any recovery work; requests wait for the broker.
  let handler: (req: Request, env: unknown) => Response | Promise<Response> = () => new Response('starting', { status: 503 })
  try {
    // A cluster node's directory started as a single node, or the reverse, would lose data: refused before anything is read for serving.
    const mode = opts.controllers === undefined ? 'single-node' : opts.controllerApply ? null : 'cluster-node'
    if (mode) await checkDataDirMode(storage, opts.dataDir, mode)
    server = await listenHttp({
      host,
      port: opts.port ?? 8080,
      tls,
      headersTimeoutMs,
      requestTimeoutMs: opts.config?.requestTimeoutMs ?? brokerConfig().requestTimeoutMs,
      fetch: (req, env) => handler(req, env),
    })
    const port = (server.address() as AddressInfo).port
    config = brokerConfig({ ...opts.config, ...nodeConfig, advertisedUrl: opts.advertisedUrl ?? defaultAdvertisedUrl(host, port, tls !== null) })
    const crc32c = nativeCrc32c()
    if (opts.controllers && !opts.controllerApply) {
      // A replicating node: the ReplicaManager is the broker's leadership from the start (high watermarks are set by
      // replication). Its logs, links and AlterPartition are bound below, once the broker and the cluster exist.
      const cfg = config
      replicaPeers = new PeerRequests({ nodeId: opts.nodeId!, clusterId: cfg.clusterId, ...peerSecret, urls: new Map(), logger, timeoutMs: cfg.requestTimeoutMs, maxInFlight: cfg.maxInFlightRequestsPerConnection, link: 'replica', ...peerTls })
      replicas = new ReplicaManager(opts.replication ?? {}, {
        brokerId: cfg.brokerId,
        clock: nodeClock,
        logger,
        logs: brokerReplicaLogs(() => broker),
        links: peerReplicaLinks(replicaPeers),
        alterPartition: { alterPartition: (req) => (cluster ? cluster.alterPartition(req) : Promise.reject(new Error('the cluster member is not started'))) },
        // Roles (and so reads that find damage) begin only once the cluster member exists.
        incompleteReplicas: { reportIncomplete: (topic, partition) => cluster?.reportIncompleteReplica(topic, partition) },
      })
    }
    const { authorizer, stop } = await openAuthorization({ ...(config.authEnabled ? { enabled: true } : {}), ...opts.authorization }, config.aclPollIntervalMs, logger)
    stopAuthorization = stop
    broker = await Broker.start(config, { storage, clock: nodeClock, logger, metrics, authorizer, ...(crc32c ? { crc32c } : {}), ...(replicas ? { leadership: replicas } : {}), ...auth })
  } catch (e) {
    stopAuthorization()
    replicaPeers?.close()
    await replicas?.stop()
    server?.close()
    await lock.release()
    throw e
  }
  let controller: ControllerNode | null = null
  let peerRequests: PeerRequests | null = null
  let brokerGate: PeerGate | null = null
  if (opts.controllers) {
    try {
      if (!opts.controllerApply && config.brokerId !== opts.nodeId) throw new RangeError(`a cluster node's broker id (${config.brokerId}) is its node id (${opts.nodeId})`)
      const timing = opts.clusterTiming ?? {}
      const voterIds = opts.controllers.map((v) => v.id)
      if (brokerOnly) {
        // No Raft here: the metadata log comes from the voters (fetchMetadata), over the same link as controller requests.
        const peers = new PeerRequests({ nodeId: opts.nodeId!, clusterId: config.clusterId, ...peerSecret, urls: new Map(opts.controllers.map((v) => [v.id, v.url])), logger, timeoutMs: config.requestTimeoutMs, link: 'controller', ...peerTls })
        peerRequests = peers
        observer = new MetadataObserver({
          nodeId: opts.nodeId!,
          voters: voterIds,
          fetch: (id, req) => peers.request(id, 'fetchMetadata', req),
          clock: nodeClock,
          logger,
          sessionTimeoutMs: timing.sessionTimeoutMs ?? defaultQuorumControllerConfig.sessionTimeoutMs,
        })
        metadataView = observer
        observer.start()
        // Other brokers connect here as cluster peers (replica fetches from the partitions this node leads); it takes no Raft messages.
        const self = opts.nodeId!
        brokerGate = { isPeer: (id) => id !== self, onRaftMessages: () => {} }
        logger.info({ nodeId: self, voters: opts.controllers }, `broker-only node ${self}; controllers ${voterIds.join(',')}`)
      } else if (!opts.controllerApply) {
        metadataNode = new MetadataNode({
          nodeId: opts.nodeId!,
          clock: nodeClock,
          random: Math.random,
          logger,
          controller: {
            maxPartitionsPerTopic: config.maxPartitionsPerTopic,
            maxTopics: config.maxTopics,
            maxPartitions: config.maxPartitions,
            ...(timing.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: timing.sessionTimeoutMs } : {}),
          },
          ...(opts.controllerTiming?.tickMs !== undefined ? { pollMs: opts.controllerTiming.tickMs } : {}),
          ...(timing.snapshotEveryEntries !== undefined ? { snapshotEveryEntries: timing.snapshotEveryEntries } : {}),
          ...(timing.preferredLeaderIntervalMs !== undefined ? { preferredLeaderIntervalMs: timing.preferredLeaderIntervalMs } : {}),
        })
        metadataView = metadataNode
      }
      const metadata = metadataNode
      if (!brokerOnly) {
        controller = await startControllerNode({
          nodeId: opts.nodeId!,
          clusterId: config.clusterId,
          ...peerSecret,
          voters: opts.controllers,
          storage,
          logger,
          registry: metrics.registry,
          ...peerTls,
          ...(opts.controllerApply ? { apply: opts.controllerApply } : {}),
          ...(metadata ? { apply: (e: Entry) => metadata.apply(e), restore: (s: import('../../controller/raft/index.js').Snapshot) => metadata.restore(s) } : {}),
          ...opts.controllerTiming,
        })
      }
      if (metadata && controller) {
        metadata.attach(controller.driver)
        peerRequests = new PeerRequests({ nodeId: opts.nodeId!, clusterId: config.clusterId, ...peerSecret, urls: new Map(opts.controllers.map((v) => [v.id, v.url])), logger, timeoutMs: config.requestTimeoutMs, link: 'controller', ...peerTls })
      }
      if (metadataView && peerRequests) {
        cluster = new ClusterNode({
          brokerId: config.brokerId,
          clusterId: config.clusterId,
          advertisedUrl: config.advertisedUrl,
          metadata: metadataView,
          ...(metadata ? { controller: metadata } : {}),
          peers: peerRequests,
          clock: nodeClock,
          logger,
          requestTimeoutMs: config.requestTimeoutMs,
          incompleteReplicas: incompleteReplicas(broker),
        })
        broker.useCluster(cluster)
        const roles = replicas!
        cluster.start(roles, () => roles.settled())
        const member = cluster
        registerClusterMetrics(metrics.registry, metadataView, member, roles, metadata ?? null)
      }
    } catch (e) {
      metadataNode?.stop()
      observer?.stop()
      peerRequests?.close()
      replicaPeers?.close()
      await replicas?.stop()
      await controller?.close()
      await broker.shutdown()
      stopAuthorization()
      server.close()
      await lock.release()
      throw e
    }
  }
  const port = (server.address() as AddressInfo).port
  const url = config.advertisedUrl
  const httpUrl = `${tls ? 'https' : 'http'}://${urlHost(host)}:${port}`
  metrics.attach(broker)
  // The names this node answers to: localhost, its bind host, its advertised host (and, in a cluster, the URL the
  // voters list for it, which is what peers put in Host), plus --allowed-hosts.
  const selfVoterUrl = opts.controllers?.find((v) => v.id === opts.nodeId)?.url
  const clusterMember = cluster
  const browserPolicy = new BrowserPolicy({
    allowedOrigins: config.allowedOrigins,
    clusterUrls: () => [...(opts.controllers?.map((v) => v.url) ?? []), ...(clusterMember?.status().nodes.map((n) => n.url) ?? [])],
    allowedHosts: [...defaultAllowedHosts(host, config.advertisedUrl), ...(selfVoterUrl ? defaultAllowedHosts(host, selfVoterUrl) : []), ...config.allowedHosts],
  })
  const refused = refusalReporter(logger, metrics)

  const wss = attachWebSocketServer(server as import('node:http').Server, {
    broker,
    logger,
    maxFrameBytes: config.maxFrameBytes,
    connectionError: (stage) => metrics.connectionError(stage),
    browserPolicy,
    refused,
    ...(controller ? { peers: controller.gate } : brokerGate ? { peers: brokerGate } : {}),
  })
  reportAcceptErrors(server, () => metrics.connectionError('http'), logger)
  const sdkFiles: Partial<Record<SdkFile, () => Promise<string | null>>> = {}
  const app = createApp({
    broker,
    browserPolicy,
    refused,
    secure: tls !== null,
    ...(auth.authenticator ? { principalOf: bearerPrincipalOf(broker, auth.authenticator, config.allowAnonymous, (c) => requestAddress(c.env)) } : {}),
    metricsText: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
    // The build copies the built demo app (apps/demo/dist) into packages/server/demo, so an installed @samsa/server carries it.
    staticAsset: staticFiles(fileURLToPath(new URL('../../../demo/', import.meta.url))),
    streams: {
      prefix: config.durableStreamsPrefix, longPollTimeoutMs: config.streamLongPollTimeoutMs, waitingReads: streamWaitingReads(metrics.registry, config.maxWaitingStreamReads), maxReadBytes: config.maxPushBytes,
      catalogDeadlineMs: config.requestTimeoutMs,
      // In a cluster: the stream catalog's produce and fetch on its leader, over the replica links' peer connections.
      ...(replicaPeers && cluster ? { peers: replicaPeers } : {}),
      // Requests proxied to a leader trust the CA the peer links trust.
      ...(tls?.ca ? { leaderFetch: leaderFetchTrusting(tls.ca) } : {}),
    },
    sdkFile: (name) => (sdkFiles[name] ??= cachedFile(() => join(dirname(require.resolve('@samsa/client-browser')), name)))(),
    remoteAddressOf: (c) => requestAddress(c.env),
    cluster: () => nodeView({ brokerId: config.brokerId, voters: opts.controllers, controller, cluster, metadataView }),
    ...(opts.authorization?.protectMetrics ? { protectMetrics: true } : {}),
  })
  handler = (req, env) => app.fetch(req, env)
  logger.info({ url: httpUrl, advertisedUrl: url, dataDir: opts.dataDir, fsync: config.log.fsync, topics: broker.listTopics().length }, 'broker listening')
  logAuthenticationMode(logger, host, httpUrl, config)
  const running = server

  let closing: Promise<void> | null = null
  return {
    broker,
    port,
    httpUrl,
    url,
    controller,
    cluster,
    replicas,
    reloadTls: async () => {
      if (!opts.tls) return
      const next = await readTlsMaterial(opts.tls)
      ;(running as HttpsServer).setSecureContext({ cert: next.cert, key: next.key })
      logger.info({ certFile: opts.tls.certFile }, 'TLS certificate reloaded')
    },
    close: (closeOpts) =>
      (closing ??= (async () => {
        try {
          if (cluster && closeOpts?.controlled !== false) await cluster.close(Math.min(2_000, config.requestTimeoutMs))
          cluster?.lifecycle.stop()
          metadataNode?.stop()
          observer?.stop()
          peerRequests?.close()
          replicaPeers?.close()
          await replicas?.stop()
          await controller?.close()
          stopAuthorization()
          const shutdown = broker.shutdown()
          for (const client of wss.clients) client.close(CloseCodes.GOING_AWAY, 'broker shutting down')
          await shutdown
          await new Promise<void>((resolve) => {
            running.close(() => resolve())
            for (const client of wss.clients) client.terminate()
            ;(running as { closeAllConnections?: () => void }).closeAllConnections?.()
          })
        } finally {
          await lock.release()
        }
        logger.info({}, 'broker stopped')
      })()),
  }
}
