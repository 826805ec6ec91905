/** @module Every request/response exchange, by api key. */
import type { Exchange } from './exchange.js'
import { alterPartition } from './messages/alter-partition.js'
import { allocateProducerIds } from './messages/allocate-producer-ids.js'
import { brokerHeartbeat } from './messages/broker-heartbeat.js'
import { brokerRegistration } from './messages/broker-registration.js'
import { createTopic } from './messages/create-topic.js'
import { credit } from './messages/credit.js'
import { deleteTopic } from './messages/delete-topic.js'
import { fetch } from './messages/fetch.js'
import { fetchMetadata } from './messages/fetch-metadata.js'
import { hello } from './messages/hello.js'
import { initProducerId } from './messages/init-producer-id.js'
import { listOffsets } from './messages/list-offsets.js'
import { metadata } from './messages/metadata.js'
import { offsetForLeaderEpoch } from './messages/offset-for-leader-epoch.js'
import { ping } from './messages/ping.js'
import { produce } from './messages/produce.js'
import { reauthenticate } from './messages/reauthenticate.js'
import { findCoordinator } from './messages/find-coordinator.js'
import { consumerGroupHeartbeat } from './messages/consumer-group-heartbeat.js'
import { offsetCommit } from './messages/offset-commit.js'
import { offsetFetch } from './messages/offset-fetch.js'
import { listGroups } from './messages/list-groups.js'
import { describeGroups } from './messages/describe-groups.js'
import { subscribe } from './messages/subscribe.js'
import { unsubscribe } from './messages/unsubscribe.js'

export const exchanges = { hello, metadata, createTopic, deleteTopic, initProducerId, produce, fetch, listOffsets, subscribe, unsubscribe, credit, ping, offsetForLeaderEpoch, brokerRegistration, brokerHeartbeat, allocateProducerIds, alterPartition, fetchMetadata, reauthenticate, findCoordinator, consumerGroupHeartbeat, offsetCommit, offsetFetch, listGroups, describeGroups } as const

export const exchangeByApiKey: ReadonlyMap<number, Exchange<unknown, unknown>> = new Map(
  Object.values(exchanges).map((e) => [e.apiKey, e as Exchange<unknown, unknown>]),
)
