import { describe, expect, it } from 'vitest'
import { documentLifecycle } from './page-lifecycle.js'

describe('documentLifecycle: the page lifecycle port over a Document-like event target', () => {
  it('reports hidden/visible (visibilitychange, freeze, resume) and pagehide; the returned function stops it', () => {
    const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' })
    const win = new EventTarget()
    const seen: string[] = []
    const stop = documentLifecycle(doc, win).watch({ hidden: () => seen.push('hidden'), visible: () => seen.push('visible'), pagehide: () => seen.push('pagehide') })
    doc.visibilityState = 'hidden'
    doc.dispatchEvent(new Event('visibilitychange'))
    doc.dispatchEvent(new Event('freeze'))
    doc.dispatchEvent(new Event('resume'))
    doc.visibilityState = 'visible'
    doc.dispatchEvent(new Event('visibilitychange'))
    win.dispatchEvent(new Event('pagehide'))
    expect(seen).toEqual(['hidden', 'hidden', 'visible', 'visible', 'pagehide'])
    stop()
    win.dispatchEvent(new Event('pagehide'))
    doc.dispatchEvent(new Event('visibilitychange'))
    expect(seen).toHaveLength(5)
  })
})
