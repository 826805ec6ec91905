/**
 * @module A minimal reader/writer for datadriven test files (the format of cockroachdb/datadriven used by
 * etcd-raft): `# comments`, a command line, `----`, the expected output, then a blank line.
 * Expected output never contains blank lines.
 */

export interface TestCase {
  /** 1-based line of the command, for failure messages. */
  readonly line: number
  /** Comment lines preceding the command, kept when the file is rewritten. */
  readonly comments: readonly string[]
  readonly command: string
  readonly expected: string
}

export interface Command {
  readonly name: string
  /** Positional arguments. */
  readonly args: readonly string[]
  /** key=value arguments; `key=(1,2,3)` gives a list. */
  readonly kv: ReadonlyMap<string, string | string[]>
}

export function parseTestFile(text: string): { cases: TestCase[]; trailing: string[] } {
  const lines = text.split('\n')
  const cases: TestCase[] = []
  let comments: string[] = []
  let i = 0
  while (i < lines.length) {
    const line = lines[i]!
    if (line.startsWith('#') || line.trim() === '') {
      comments.push(line)
      i++
      continue
    }
    const at = i + 1
    const command = line
    i++
    if (lines[i] !== '----') throw new Error(`line ${at}: command "${command}" is not followed by ----`)
    i++
    const out: string[] = []
    while (i < lines.length && lines[i]!.trim() !== '') out.push(lines[i++]!)
    cases.push({ line: at, comments: trimComments(comments), command, expected: out.join('\n') })
    comments = []
  }
  return { cases, trailing: trimComments(comments) }
}

function trimComments(lines: string[]): string[] {
  const out = lines.slice()
  while (out.length > 0 && out[0]!.trim() === '') out.shift()
  while (out.length > 0 && out[out.length - 1]!.trim() === '') out.pop()
  return out
}

export function formatTestFile(cases: readonly { comments: readonly string[]; command: string; actual: string }[], trailing: readonly string[]): string {
  const blocks = cases.map((c) => [...c.comments, c.command, '----', ...(c.actual === '' ? [] : [c.actual])].join('\n'))
  if (trailing.length > 0) blocks.push(trailing.join('\n'))
  return blocks.join('\n\n') + '\n'
}

export function parseCommand(line: string): Command {
  const tokens = line.trim().split(/\s+/)
  const args: string[] = []
  const kv = new Map<string, string | string[]>()
  for (const t of tokens.slice(1)) {
    const eq = t.indexOf('=')
    if (eq < 0) {
      args.push(t)
      continue
    }
    const key = t.slice(0, eq)
    const value = t.slice(eq + 1)
    kv.set(key, value.startsWith('(') && value.endsWith(')') ? value.slice(1, -1).split(',').filter((v) => v !== '') : value)
  }
  return { name: tokens[0]!, args, kv }
}
