import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import * as shared from '../index.js'
// @ts-ignore: a plain .mjs script without type declarations
import { generateProtocolDoc, protocolDocUrl, topComment } from '../../../../scripts/generate-protocol-doc.mjs'

describe('docs/protocol.md', () => {
  it('is up to date with the code (if not, run: npx tsc -b packages/shared && node scripts/generate-protocol-doc.mjs)', () => {
    const committed = readFileSync(protocolDocUrl, 'utf8')
    const generated: string = generateProtocolDoc(shared)
    expect(committed === generated, 'docs/protocol.md is out of date: run `npx tsc -b packages/shared && node scripts/generate-protocol-doc.mjs`').toBe(true)
  })

  it('documents every exchange, every error code and every close code', () => {
    const doc: string = generateProtocolDoc(shared)
    for (const e of Object.values(shared.exchanges)) expect(doc).toContain(`### ${e.name}\n`)
    for (const e of Object.values(shared.ErrorCodes)) expect(doc).toContain(`| ${e.code} | ${e.name} | ${e.retriable ? 'yes' : 'no'} |`)
    for (const [name, code] of Object.entries(shared.CloseCodes)) expect(doc).toMatch(new RegExp(`\\| ${code} \\| ${name} \\| \\S`))
  })

  it('takes each layout from the comment at the top of its source file', () => {
    expect(topComment('/**\n * @module x: y.\n *\n * Request:  a u8\n */\ncode')).toEqual(['x: y.', '', 'Request:  a u8'])
    expect(topComment('const x = 1')).toEqual([])
  })
})
