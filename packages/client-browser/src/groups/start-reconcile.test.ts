import { describe, expect, it } from 'vitest'
import { chooseStart } from './start-reconcile.js'

describe('start-reconcile: committed offset vs the page’s stored position, by (leaderEpoch, offset)', () => {
  it('nothing committed and nothing stored: the reset policy', () => {
    expect(chooseStart(null, null)).toEqual({ from: 'reset' })
    expect(chooseStart({ offset: -1, leaderEpoch: -1 }, null)).toEqual({ from: 'reset' })
  })

  it('only one of them: that one', () => {
    expect(chooseStart({ offset: 7, leaderEpoch: 2 }, null)).toEqual({ from: 'committed', position: { offset: 7, leaderEpoch: 2 } })
    expect(chooseStart(null, { offset: 4, leaderEpoch: 1 })).toEqual({ from: 'stored', position: { offset: 4, leaderEpoch: 1 } })
  })

  it('same epoch: the higher offset (a page whose process() ran ahead of its lost group commit keeps its position)', () => {
    expect(chooseStart({ offset: 7, leaderEpoch: 2 }, { offset: 9, leaderEpoch: 2 })).toEqual({ from: 'stored', position: { offset: 9, leaderEpoch: 2 } })
    expect(chooseStart({ offset: 9, leaderEpoch: 2 }, { offset: 7, leaderEpoch: 2 })).toEqual({ from: 'committed', position: { offset: 9, leaderEpoch: 2 } })
    expect(chooseStart({ offset: 9, leaderEpoch: 2 }, { offset: 9, leaderEpoch: 2 })).toEqual({ from: 'committed', position: { offset: 9, leaderEpoch: 2 } })
  })

  it('a later leader epoch wins over a higher offset (the other may be past a truncation)', () => {
    expect(chooseStart({ offset: 5, leaderEpoch: 3 }, { offset: 9, leaderEpoch: 2 })).toEqual({ from: 'committed', position: { offset: 5, leaderEpoch: 3 } })
    expect(chooseStart({ offset: 9, leaderEpoch: 2 }, { offset: 5, leaderEpoch: 3 })).toEqual({ from: 'stored', position: { offset: 5, leaderEpoch: 3 } })
  })

  it('an unknown epoch (−1) on either side compares offsets', () => {
    expect(chooseStart({ offset: 5, leaderEpoch: -1 }, { offset: 9, leaderEpoch: 2 })).toEqual({ from: 'stored', position: { offset: 9, leaderEpoch: 2 } })
    expect(chooseStart({ offset: 9, leaderEpoch: 3 }, { offset: 5, leaderEpoch: -1 })).toEqual({ from: 'committed', position: { offset: 9, leaderEpoch: 3 } })
  })
})
