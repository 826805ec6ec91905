/**
 * @module The page lifecycle port of a group member: hidden (visibilitychange → hidden, or freeze), shown again
 * (visibilitychange → visible, or resume) and pagehide. The core never reads `document`; `documentLifecycle` adapts
 * a Document-like event target, and Node services have no lifecycle (`noLifecycle`).
 */

export interface LifecycleListener {
  /** The page was hidden or frozen: stop delivering (keep the partitions). */
  hidden(): void
  /** The page is visible again: heartbeat at once and resume delivery. */
  visible(): void
  /** The page is going away (maybe into the back/forward cache): commit delivered positions now. */
  pagehide(): void
}

export interface PageLifecycle {
  /** Starts reporting to `listener`; returns the function that stops it. */
  watch(listener: LifecycleListener): () => void
}

/** The parts of `document` (and `window` for pagehide) the adapter uses. */
export interface DocumentLike {
  readonly visibilityState: string
  addEventListener(type: string, listener: () => void): void
  removeEventListener(type: string, listener: () => void): void
}

export const noLifecycle: PageLifecycle = { watch: () => () => {} }

/** Adapts `document` (visibilitychange, freeze, resume) and `window` (pagehide; default the document itself). */
export function documentLifecycle(doc: DocumentLike, win: Pick<DocumentLike, 'addEventListener' | 'removeEventListener'> = doc): PageLifecycle {
  return {
    watch(listener) {
      const onVisibility = () => (doc.visibilityState === 'hidden' ? listener.hidden() : listener.visible())
      const onFreeze = () => listener.hidden()
      const onResume = () => listener.visible()
      const onPageHide = () => listener.pagehide()
      doc.addEventListener('visibilitychange', onVisibility)
      doc.addEventListener('freeze', onFreeze)
      doc.addEventListener('resume', onResume)
      win.addEventListener('pagehide', onPageHide)
      return () => {
        doc.removeEventListener('visibilitychange', onVisibility)
        doc.removeEventListener('freeze', onFreeze)
        doc.removeEventListener('resume', onResume)
        win.removeEventListener('pagehide', onPageHide)
      }
    },
  }
}

/** The default: the global document (and window) in a browser, none elsewhere. */
export function defaultLifecycle(): PageLifecycle {
  const g = globalThis as { document?: DocumentLike; addEventListener?: DocumentLike['addEventListener']; removeEventListener?: DocumentLike['removeEventListener'] }
  if (g.document === undefined || typeof g.addEventListener !== 'function' || typeof g.removeEventListener !== 'function') return noLifecycle
  return documentLifecycle(g.document, { addEventListener: g.addEventListener.bind(globalThis), removeEventListener: g.removeEventListener!.bind(globalThis) })
}
