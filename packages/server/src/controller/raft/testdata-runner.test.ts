import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { formatTestFile, parseTestFile } from './testing/datadriven.js'
import { InteractionEnv } from './testing/interaction-env.js'

// Interaction tests: each testdata/*.txt file is a script of commands with the expected output after `----`.
// UPDATE=1 rewrites the expected output from the actual one (review the diff before committing it).
const dir = fileURLToPath(new URL('./testdata/', import.meta.url))
const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()

describe('raft interaction tests (testdata/*.txt)', () => {
  it('has the scenarios the controller relies on', () => {
    for (const name of ['campaign', 'pre-vote', 'check-quorum', 'isolated-leader', 'log-divergence', 'figure-8', 'snapshot-catch-up', 'restart-lost-tail', 'read-index']) {
      expect(files).toContain(`${name}.txt`)
    }
  })

  for (const file of files) {
    it(file, () => {
      const path = join(dir, file)
      const { cases, trailing } = parseTestFile(readFileSync(path, 'utf8'))
      const env = new InteractionEnv()
      const actual = cases.map((c) => ({ ...c, actual: env.run(c.command) }))
      if (process.env.UPDATE === '1') {
        writeFileSync(path, formatTestFile(actual, trailing))
        return
      }
      for (const c of actual) {
        expect(c.actual, `${file}:${c.line}: ${c.command}`).toBe(c.expected)
      }
    })
  }
})
