/**
 * @module The offset `samsa groups reset-offsets` commits for one partition, from what its leader answers: the log
 * start (earliest), the high watermark (latest) and, for a time, the first offset at or after it. A given offset is
 * clamped to [earliest, latest]: a committed offset outside the readable range would only make consumers reset again.
 */
export type ResetSpec = { readonly kind: 'earliest' } | { readonly kind: 'latest' } | { readonly kind: 'offset'; readonly offset: number } | { readonly kind: 'datetime'; readonly timestampMs: number }

export function planReset(spec: ResetSpec, at: { readonly earliest: number; readonly latest: number; readonly byTime: number | null }): number {
  switch (spec.kind) {
    case 'earliest':
      return at.earliest
    case 'latest':
      return at.latest
    case 'offset':
      return Math.min(Math.max(spec.offset, at.earliest), at.latest)
    case 'datetime':
      // No record at or after the time: the high watermark (nothing to reprocess).
      return at.byTime === null || at.byTime < 0 ? at.latest : Math.min(Math.max(at.byTime, at.earliest), at.latest)
  }
}
