/** @module The Durable Streams routes' gauges: waiting long polls and SSE connections, and the reads refused at the cap. */
import { Counter, Gauge, type Registry } from 'prom-client'
import { WaitingReads } from '../../transport/durable-streams/stream-reads.js'

/** A WaitingReads capped at `max` whose count and refusals the registry reports when scraped. */
export function streamWaitingReads(registry: Registry, max: number): WaitingReads {
  const waiting = new WaitingReads(max)
  new Gauge({
    name: 'samsa_stream_waiting_reads',
    help: 'HTTP stream long polls and SSE connections waiting for records (at most maxWaitingStreamReads)',
    registers: [registry],
    collect() {
      this.set(waiting.count)
    },
  })
  new Counter({
    name: 'samsa_stream_reads_refused_total',
    help: 'HTTP stream long polls and SSE reads refused with 503 because maxWaitingStreamReads were waiting',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(waiting.refused)
    },
  })
  return waiting
}
