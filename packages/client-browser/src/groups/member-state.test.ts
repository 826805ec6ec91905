import { SamsaError } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { afterError, assigned, errorAction, heartbeatRequest, initialMemberState, nextStep, onHeartbeat, revoked, type MemberConfig } from './member-state.js'

const config: MemberConfig = { groupId: 'g', memberId: 'm1', instanceId: null, topics: ['t'], rebalanceTimeoutMs: 60_000, assignor: null }
const tp = (partition: number, topic = 't') => ({ topic, partition })
const answer = (memberEpoch: number, assignment: { topic: string; partitions: number[] }[] | null) => ({ memberId: 'm1', memberEpoch, heartbeatIntervalMs: 500, assignment })

describe('member-state: the pure core of a group member', () => {
  it('joins at epoch 0 with the full subscription and an empty owned list', () => {
    const q = heartbeatRequest(config, initialMemberState(5_000))
    expect(q).toEqual({ groupId: 'g', memberId: 'm1', memberEpoch: 0, instanceId: null, rebalanceTimeoutMs: 60_000, subscribedTopicNames: ['t'], serverAssignor: null, ownedPartitions: [] })
  })

  it('an assignment is started, then the next heartbeat names the owned partitions; unchanged fields are null after that', () => {
    const join = initialMemberState(5_000)
    let s = onHeartbeat(join, heartbeatRequest(config, join), answer(1, [{ topic: 't', partitions: [1, 0] }]))
    expect(s.epoch).toBe(1)
    expect(s.heartbeatIntervalMs).toBe(500)
    expect(nextStep(s)).toEqual({ assign: [tp(0), tp(1)] })
    s = assigned(s, [tp(0), tp(1)])
    expect(nextStep(s)).toBeNull()
    const q = heartbeatRequest(config, s)
    expect(q).toMatchObject({ memberEpoch: 1, subscribedTopicNames: null, serverAssignor: null, ownedPartitions: [{ topic: 't', partitions: [0, 1] }] })
    s = onHeartbeat(s, q, answer(1, null))
    expect(heartbeatRequest(config, s).ownedPartitions).toBeNull()
  })

  it('a new assignment revokes first; what is new is assigned only after the heartbeat without the revoked ones', () => {
    let s = assigned(onHeartbeat(initialMemberState(1), heartbeatRequest(config, initialMemberState(1)), answer(1, [{ topic: 't', partitions: [0, 1] }])), [tp(0), tp(1)])
    s = onHeartbeat(s, heartbeatRequest(config, s), answer(2, [{ topic: 't', partitions: [1, 2] }]))
    expect(nextStep(s)).toEqual({ revoke: [tp(0)] })
    s = revoked(s, [tp(0)])
    const ack = heartbeatRequest(config, s)
    expect(ack.ownedPartitions).toEqual([{ topic: 't', partitions: [1] }])
    s = onHeartbeat(s, ack, answer(2, null))
    expect(nextStep(s)).toEqual({ assign: [tp(2)] })
  })

  it('leaving sends −1, or −2 for a static member', () => {
    const s = onHeartbeat(initialMemberState(1), heartbeatRequest(config, initialMemberState(1)), answer(3, []))
    expect(heartbeatRequest(config, s, true).memberEpoch).toBe(-1)
    expect(heartbeatRequest({ ...config, instanceId: 'tab-1' }, s, true).memberEpoch).toBe(-2)
  })

  it('errors: coordinator moves refind, fencing rejoins at epoch 0 owning nothing, the rest is fatal or retried', () => {
    expect(errorAction(new SamsaError('NOT_COORDINATOR', 'x'))).toBe('refind')
    expect(errorAction(new SamsaError('COORDINATOR_NOT_AVAILABLE', 'x'))).toBe('refind')
    expect(errorAction(new SamsaError('COORDINATOR_LOAD_IN_PROGRESS', 'x'))).toBe('refind')
    expect(errorAction(new SamsaError('FENCED_MEMBER_EPOCH', 'x'))).toBe('rejoin')
    expect(errorAction(new SamsaError('UNKNOWN_MEMBER_ID', 'x'))).toBe('rejoin')
    expect(errorAction(new SamsaError('UNRELEASED_INSTANCE_ID', 'x'))).toBe('retry')
    expect(errorAction(new SamsaError('FENCED_INSTANCE_ID', 'x'))).toBe('fatal')
    expect(errorAction(new SamsaError('NETWORK_EXCEPTION', 'x'))).toBe('refind')
    expect(errorAction({ errorName: 'NETWORK_EXCEPTION', retriable: false })).toBe('fatal') // the client closed
    expect(errorAction(new SamsaError('GROUP_AUTHORIZATION_FAILED', 'x'))).toBe('fatal')
    let s = assigned(onHeartbeat(initialMemberState(1), heartbeatRequest(config, initialMemberState(1)), answer(4, [{ topic: 't', partitions: [0] }])), [tp(0)])
    s = afterError(s, 'rejoin')
    expect(s).toMatchObject({ epoch: 0, owned: [], target: [] })
    expect(heartbeatRequest(config, s)).toMatchObject({ memberId: 'm1', memberEpoch: 0, subscribedTopicNames: ['t'], ownedPartitions: [] })
  })

  it('after a failed heartbeat (refind) the next one sends the full subscription again, keeping epoch and partitions', () => {
    let s = assigned(onHeartbeat(initialMemberState(1), heartbeatRequest(config, initialMemberState(1)), answer(4, [{ topic: 't', partitions: [0] }])), [tp(0)])
    s = afterError(s, 'refind')
    expect(heartbeatRequest(config, s)).toMatchObject({ memberEpoch: 4, subscribedTopicNames: ['t'], ownedPartitions: [{ topic: 't', partitions: [0] }] })
  })
})
