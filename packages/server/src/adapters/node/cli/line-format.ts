/**
 * @module The text line format shared by `produce` (reading) and `consume` (printing), so what one prints the
 * other reads back:
 *
 *   [<partition> TAB <offset> TAB][<headers> TAB][<key> <key-separator>]<value>
 *
 * <headers> is `name=value` pairs joined by the header separator (default `,`); an empty field means no headers.
 * produce reads the headers field with --headers and the key with --key-separator (split at the first separator;
 * the value may contain it); consume prints them with --print-headers and --print-key (a null key prints as
 * `null`), and partition and offset with --print-offset (produce does not read those).
 */
import type { ConsumerRecord } from '@samsa/client-browser'

export interface LineFormat {
  /** null: the whole line (after the headers) is the value. */
  readonly keySeparator: string | null
  readonly headers: boolean
  readonly headerSeparator: string
}

export interface ParsedLine {
  readonly key: string | null
  readonly value: string
  readonly headers?: Readonly<Record<string, string>>
}

/** Returns the record of one input line, or a string saying what is wrong with it. */
export function parseLine(line: string, f: LineFormat, defaultKey: string | null): ParsedLine | string {
  let rest = line
  let headers: Record<string, string> | undefined
  if (f.headers) {
    const tab = rest.indexOf('\t')
    if (tab < 0) return 'it has no tab after its headers field (write a tab first for a record without headers)'
    const field = rest.slice(0, tab)
    rest = rest.slice(tab + 1)
    headers = {}
    for (const pair of field === '' ? [] : field.split(f.headerSeparator)) {
      const eq = pair.indexOf('=')
      if (eq <= 0) return `header ${JSON.stringify(pair)} is not name=value`
      headers[pair.slice(0, eq)] = pair.slice(eq + 1)
    }
  }
  let key = defaultKey
  if (f.keySeparator !== null) {
    const at = rest.indexOf(f.keySeparator)
    if (at < 0) return `it has no key separator ${JSON.stringify(f.keySeparator)}`
    key = rest.slice(0, at)
    rest = rest.slice(at + f.keySeparator.length)
  }
  return headers ? { key, value: rest, headers } : { key, value: rest }
}

export interface PrintFormat {
  readonly offset: boolean
  readonly headers: boolean
  readonly key: boolean
  readonly keySeparator: string
  readonly headerSeparator: string
}

const dec = new TextDecoder()
const text = (b: Uint8Array | null) => (b === null ? null : dec.decode(b))

export function formatText(r: ConsumerRecord, f: PrintFormat): string {
  let line = f.offset ? `${r.partition}\t${r.offset}\t` : ''
  if (f.headers) line += `${Object.entries(r.headers).map(([k, v]) => `${k}=${v}`).join(f.headerSeparator)}\t`
  if (f.key) line += `${text(r.key) ?? 'null'}${f.keySeparator}`
  return `${line}${text(r.value) ?? ''}\n`
}

export function formatJson(r: ConsumerRecord): string {
  return `${JSON.stringify({ topic: r.topic, partition: r.partition, offset: r.offset, key: text(r.key), value: text(r.value), timestamp: r.timestamp, headers: r.headers })}\n`
}
