/** @module One-line text forms of the Raft core's data, for interaction tests and failure reports. */
import type { Entry, HardState, Message, Snapshot } from '../messages.js'
import type { RaftStatus, Ready } from '../raft-node.js'

const decoder = new TextDecoder()

export function text(data: Uint8Array): string {
  return JSON.stringify(decoder.decode(data))
}

export function describeEntry(e: Entry): string {
  return `${e.term}/${e.index} ${text(e.data)}`
}

export function describeEntries(es: readonly Entry[]): string {
  return `[${es.map(describeEntry).join(', ')}]`
}

export function describeHardState(hs: HardState): string {
  return `term:${hs.term} vote:${hs.vote} commit:${hs.commit}`
}

export function describeSnapshot(s: Snapshot): string {
  const m = s.metadata
  const learners = m.learners.length > 0 ? ` learners:(${m.learners.join(',')})` : ''
  return `index:${m.index} term:${m.term} voters:(${m.voters.join(',')})${learners} data:${text(s.data)}`
}

export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} term:${m.term}`
  switch (m.type) {
    case 'append':
      return `${head} log:${m.logTerm}/${m.index} commit:${m.commit}${m.entries.length > 0 ? ` entries:${describeEntries(m.entries)}` : ''}`
    case 'appendResponse':
      return m.reject ? `${head} rejected index:${m.index} hint:${m.logTerm}/${m.rejectHint}` : `${head} index:${m.index}`
    case 'vote':
    case 'preVote':
      return `${head} log:${m.logTerm}/${m.index}`
    case 'voteResponse':
    case 'preVoteResponse':
      return m.reject ? `${head} rejected` : head
    case 'heartbeat':
      return `${head} commit:${m.commit}${m.context ? ` ctx:${text(m.context)}` : ''}`
    case 'heartbeatResponse':
      return `${head}${m.context ? ` ctx:${text(m.context)}` : ''}`
    case 'snapshot':
      return `${head} snapshot:[${describeSnapshot(m.snapshot)}]`
    case 'propose':
      return `${head} entries:${describeEntries(m.entries)}`
    case 'readIndex':
      return `${head} ctx:${text(m.context)}`
    case 'readIndexResponse':
      return `${head} index:${m.index} ctx:${text(m.context)}`
  }
}

/** The Ready as indented lines. */
export function describeReady(rd: Ready): string[] {
  const out: string[] = []
  if (rd.softState) out.push(`State:${rd.softState.role} Lead:${rd.softState.lead}`)
  if (rd.hardState) out.push(`HardState ${describeHardState(rd.hardState)}`)
  if (rd.entries.length > 0) out.push('Entries:', ...rd.entries.map(describeEntry))
  if (rd.snapshot) out.push(`Snapshot ${describeSnapshot(rd.snapshot)}`)
  if (rd.committedEntries.length > 0) out.push('CommittedEntries:', ...rd.committedEntries.map(describeEntry))
  if (rd.messages.length > 0) out.push('Messages:', ...rd.messages.map(describeMessage))
  if (rd.readStates.length > 0) out.push('ReadStates:', ...rd.readStates.map((rs) => `index:${rs.index} ctx:${text(rs.context)}`))
  return out
}

export function describeStatus(s: RaftStatus): string[] {
  const out = [`${s.id}: ${s.role} term:${s.term} vote:${s.vote} lead:${s.lead} commit:${s.commit} applied:${s.applied} log:${s.firstIndex}..${s.lastIndex}`]
  if (s.progress) {
    for (const [id, p] of s.progress) {
      out.push(`  ${id}: ${p.state} match:${p.match} next:${p.next}${p.isLearner ? ' learner' : ''}${p.recentActive ? ' active' : ''}${p.inflight > 0 ? ` inflight:${p.inflight}` : ''}`)
    }
  }
  return out
}
