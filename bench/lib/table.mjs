// Plain-text tables for the human summary.

export function formatTable(headers, rows) {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))))]
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)))
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n')
}

export function fmtInt(n) {
  if (n === null || n === undefined) return null
  return Math.round(n).toLocaleString('en-US')
}

export function fmtNum(n, digits = 2) {
  if (n === null || n === undefined || !Number.isFinite(n)) return null
  return n.toFixed(digits)
}
