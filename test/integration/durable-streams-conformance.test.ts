/**
 * The official Durable Streams conformance suite (@durable-streams/server-conformance-tests, pinned) against a real
 * Samsa broker: every test the suite does not skip must pass, except those docs/durable-streams.md lists.
 */
import { afterAll, beforeAll } from 'vitest'
import { runConformanceTests } from '@durable-streams/server-conformance-tests'
import { startBrokerFixture, type BrokerFixture } from '../support/broker-fixture.js'

const LONG_POLL_TIMEOUT_MS = 2_000
const options = { baseUrl: '', longPollTimeoutMs: LONG_POLL_TIMEOUT_MS }
let fixture: BrokerFixture

beforeAll(async () => {
  fixture = await startBrokerFixture({ streamLongPollTimeoutMs: LONG_POLL_TIMEOUT_MS, log: { fsync: 'never' } })
  options.baseUrl = fixture.running.httpUrl
})

afterAll(async () => {
  await fixture?.dispose()
})

runConformanceTests(options)
