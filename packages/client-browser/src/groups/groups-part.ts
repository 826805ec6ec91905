/**
 * @module The consumer part of a client with consumer groups: `consumer({ groupId })` makes a GroupConsumer, any other
 * options a plain Consumer. Only the `@samsa/client-browser/groups` entry imports it, so clients of the other entries
 * do not bundle the group code.
 */
import type { ClientKernel } from '../client-kernel.js'
import { consumerPart } from '../client-parts.js'
import type { Consumer, ConsumerOptions } from '../consumer/consumer.js'
import { checkGroupConsumerOptions } from './group-arguments.js'
import { GroupConsumer, type GroupConsumerOptions } from './group-consumer.js'

export interface GroupConsumerFactory {
  /** A member of the consumer group `options.groupId`. */
  consumer(options: GroupConsumerOptions): GroupConsumer
  /** A plain consumer (positions per page, every partition it subscribes). */
  consumer(options?: ConsumerOptions): Consumer
}

const isGroup = (options: ConsumerOptions | GroupConsumerOptions | undefined): options is GroupConsumerOptions => options !== undefined && typeof options === 'object' && options !== null && 'groupId' in options

export function groupConsumerPart(kernel: ClientKernel): GroupConsumerFactory {
  const plain = consumerPart(kernel)
  function consumer(options: GroupConsumerOptions): GroupConsumer
  function consumer(options?: ConsumerOptions): Consumer
  function consumer(options?: ConsumerOptions | GroupConsumerOptions): Consumer | GroupConsumer {
    if (!isGroup(options)) return plain.consumer(options)
    checkGroupConsumerOptions(options)
    const c = new GroupConsumer(options, kernel.consumerDeps(), kernel.options.locks)
    kernel.consumers.add(c)
    return c
  }
  return { consumer }
}
