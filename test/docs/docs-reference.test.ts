/**
 * The docs stay a reference of the code: every public option and member of the SDK appears in docs/client.md,
 * every link and every `*.md` name in the docs points at a file (and heading) that exists, and no page carries a
 * leftover HTML comment (only the generated-file notice and `api-slot` markers, which say where an API will go).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../support/child-broker.js'

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8')
const DOC_FILES = ['README.md', ...readdirSync(join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]

/** Public member names of an interface or class declared in a source file (no #private, no constructor, no computed names). */
export function publicMembers(source: string, name: string): string[] {
  const file = ts.createSourceFile('x.ts', source, ts.ScriptTarget.Latest, true)
  let found: ts.InterfaceDeclaration | ts.ClassDeclaration | undefined
  file.forEachChild((node) => {
    if ((ts.isInterfaceDeclaration(node) || ts.isClassDeclaration(node)) && node.name?.text === name) found = node
  })
  if (found === undefined) throw new Error(`no interface or class ${name}`)
  const names: string[] = []
  for (const m of found.members) {
    if (ts.isConstructorDeclaration(m) || m.name === undefined) continue
    const modifiers = ts.canHaveModifiers(m) ? (ts.getModifiers(m) ?? []) : []
    if (modifiers.some((x) => x.kind === ts.SyntaxKind.PrivateKeyword || x.kind === ts.SyntaxKind.ProtectedKeyword || x.kind === ts.SyntaxKind.StaticKeyword)) continue
    if (ts.isPrivateIdentifier(m.name) || ts.isComputedPropertyName(m.name)) continue
    // A quoted member ('unsynced-changes') is named by its text.
    names.push(ts.isStringLiteral(m.name) ? m.name.text : m.name.getText(file))
  }
  return names
}

const SDK = 'packages/client-browser/src'
const API: readonly { file: string; name: string }[] = [
  { file: `${SDK}/client.ts`, name: 'ClientOptions' },
  { file: `${SDK}/client.ts`, name: 'SamsaClient' },
  { file: `${SDK}/client.ts`, name: 'CloseOptions' },
  { file: `${SDK}/client.ts`, name: 'CloseResult' },
  { file: `${SDK}/admin/admin.ts`, name: 'Admin' },
  { file: `${SDK}/validation/admin-arguments.ts`, name: 'CreateTopicOptions' },
  { file: `${SDK}/producer/producer-options.ts`, name: 'ProducerOptions' },
  { file: `${SDK}/producer/producer-options.ts`, name: 'ProducerRecord' },
  { file: `${SDK}/producer/producer-options.ts`, name: 'PendingCount' },
  { file: `${SDK}/producer/producer.ts`, name: 'Producer' },
  { file: `${SDK}/consumer/consumer.ts`, name: 'ConsumerOptions' },
  { file: `${SDK}/consumer/consumer.ts`, name: 'Consumer' },
  { file: `${SDK}/consumer/subscribe-options.ts`, name: 'SubscribeOptions' },
  { file: `${SDK}/consumer/subscription.ts`, name: 'Subscription' },
  { file: `${SDK}/consumer/consumer-record.ts`, name: 'ConsumerRecord' },
  { file: `${SDK}/consumer/gap.ts`, name: 'Gap' },
  { file: `${SDK}/groups/group-consumer.ts`, name: 'GroupConsumerOptions' },
  { file: `${SDK}/groups/group-consumer.ts`, name: 'GroupSubscribeOptions' },
  { file: `${SDK}/groups/group-consumer.ts`, name: 'GroupConsumer' },
  { file: `${SDK}/groups/group-subscription.ts`, name: 'GroupSubscription' },
  { file: `${SDK}/groups/page-lifecycle.ts`, name: 'LifecycleListener' },
  { file: `${SDK}/connection/connection-state.ts`, name: 'ConnectionState' },
  { file: `${SDK}/connection/connection-state.ts`, name: 'ConnectionReason' },
  { file: `${SDK}/connection/connection.ts`, name: 'StatusChange' },
  { file: `${SDK}/storage/indexeddb-storage.ts`, name: 'IndexedDbStorageOptions' },
  { file: 'packages/shared/src/errors.ts', name: 'SamsaError' },
  { file: `${SDK}/yjs/provider.ts`, name: 'SamsaYjsProvider' },
  { file: `${SDK}/yjs/provider-options.ts`, name: 'SamsaYjsProviderOptions' },
  { file: `${SDK}/yjs/provider-options.ts`, name: 'SamsaYjsProviderEvents' },
  { file: `${SDK}/yjs/doc-store.ts`, name: 'YjsDocStore' },
]

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
const anchorsOf = (markdown: string) =>
  new Set(
    [...markdown.replace(/^(`{3,}).*\n[\s\S]*?^\1\s*$/gm, '').matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) =>
      m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-'),
    ),
  )

describe('docs/client.md documents the SDK as it is', () => {
  const doc = read('docs/client.md')
  it.each(API)('every public member of $name ($file) is named in client.md', ({ file, name }) => {
    const members = publicMembers(read(file), name)
    expect(members.length).toBeGreaterThan(0)
    // Named inside an inline code span: `name`, `sub.name()`, `{ name, other }`.
    const missing = members.filter((m) => !new RegExp('`[^`\\n]*\\b' + m + '\\b[^`\\n]*`').test(doc))
    expect(missing, `document these in docs/client.md (as \`${name}\` members or options)`).toEqual([])
  })

  it('the member extraction sees interfaces and classes and skips private members', () => {
    const src = 'export interface A { readonly x: number; y?(): void; \'z-z\': () => void }\nexport class B { readonly a = 1; #b = 2; private c = 3; static d = 4; constructor() {} get e() { return 1 } f(): void {} [Symbol.iterator]() {} }'
    expect(publicMembers(src, 'A')).toEqual(['x', 'y', 'z-z'])
    expect(publicMembers(src, 'B')).toEqual(['a', 'e', 'f'])
  })
})

describe('links and leftovers', () => {
  it.each(DOC_FILES)('%s links only to files and headings that exist', (file) => {
    const text = read(file)
    const broken: string[] = []
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue
      const [path, anchor] = target!.split('#') as [string, string | undefined]
      const resolved = path === '' ? file : relative(REPO_ROOT, join(REPO_ROOT, dirname(file), path))
      if (!existsSync(join(REPO_ROOT, resolved))) broken.push(`${target} (no file ${resolved})`)
      else if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(read(resolved)).has(anchor)) broken.push(`${target} (no heading #${anchor} in ${resolved})`)
    }
    expect(broken).toEqual([])
  })

  it.each(DOC_FILES)('%s names only markdown files the repository has', (file) => {
    const have = new Set(DOC_FILES.map((f) => f.split('/').pop()!))
    const named = [...read(file).matchAll(/\b([\w-]+\.md)\b/g)].map((m) => m[1]!)
    expect(named.filter((n) => !have.has(n) && !existsSync(join(REPO_ROOT, n)))).toEqual([])
  })

  it.each(DOC_FILES)('%s has no leftover HTML comment', (file) => {
    const comments = [...read(file).matchAll(/<!--([\s\S]*?)-->/g)].map((m) => m[1]!.trim())
    expect(comments.filter((c) => !c.startsWith('api-slot:') && !c.startsWith('Generated by scripts/generate-protocol-doc.mjs'))).toEqual([])
  })

  it.each(DOC_FILES)('%s never refers back to text it does not have ("as before", "as above")', (file) => {
    expect(read(file)).not.toMatch(/\bas (before|above)\b/i)
  })
})
