import { describe, expect, it } from 'vitest'
import { runSimulation, type SimulationOptions } from './raft-simulation.js'

// The seeded Raft simulation. `npm test` runs seeds 1..300 (SEEDS=<count> for another count); a failing seed is
// printed with the tail of its event trace and replays alone with `SEED=<n> npm run test:sim`.
const single = process.env.SEED === undefined ? undefined : Number(process.env.SEED)
const count = Number(process.env.SEEDS ?? 300)
const seeds = single !== undefined ? [single] : Array.from({ length: count }, (_, i) => i + 1)

/** Odd seeds run 3 voters, even seeds 5; every third seed adds a learner. */
function optionsFor(seed: number): SimulationOptions {
  return { seed, voters: seed % 2 === 1 ? 3 : 5, learners: seed % 3 === 0 ? 1 : 0, chaosTicks: 600, livenessBoundTicks: 400 }
}

function replay(opts: SimulationOptions): string {
  const lines: string[] = []
  try {
    runSimulation({ ...opts, trace: (l) => lines.push(l) })
  } catch {
    // the same failure, now with its trace
  }
  return lines.slice(-80).join('\n')
}

describe('raft simulation (seeded: drops, delays, duplicates, reordering, partitions, crash-restarts)', () => {
  const totals = { ticks: 0, committed: 0, elections: 0, crashes: 0, compactions: 0, reads: 0, messages: 0, maxRecovery: 0 }

  for (const seed of seeds) {
    const opts = optionsFor(seed)
    it(`seed ${seed}: ${opts.voters} voters${opts.learners ? ` + ${opts.learners} learner` : ''}`, () => {
      let result
      try {
        result = runSimulation(opts)
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e)
        throw new Error(`seed ${seed} failed: ${message}\nreplay: SEED=${seed} npm run test:sim\nlast events:\n${replay(opts)}`)
      }
      totals.ticks += result.ticks
      totals.committed += result.committed
      totals.elections += result.elections
      totals.crashes += result.crashes
      totals.compactions += result.compactions
      totals.reads += result.readsServed
      totals.messages += result.messagesSent
      totals.maxRecovery = Math.max(totals.maxRecovery, result.recoveryTicks)
      // A run that commits nothing or never elects would prove little.
      expect(result.committed).toBeGreaterThan(0)
      expect(result.elections).toBeGreaterThan(0)
      if (single !== undefined) console.log(`seed ${seed}:`, result)
    })
  }

  it('exercised the faults it claims (over all seeds)', () => {
    if (single !== undefined) return
    console.log(`raft simulation: ${seeds.length} seeds,`, totals)
    expect(totals.crashes).toBeGreaterThan(0)
    expect(totals.compactions).toBeGreaterThan(0)
    expect(totals.reads).toBeGreaterThan(0)
  })
})
