/**
 * @module The parts a client can be given: producer() and consumer(). Each checks its options, builds from the
 * kernel's deps and registers what it made with the kernel, so the client's close() covers it. The lock manager for
 * producer identities is chosen on the first producer() (the client's `locks`, else the default one).
 */
import type { ClientKernel } from './client-kernel.js'
import { Consumer, type ConsumerOptions } from './consumer/consumer.js'
import { Producer, type ProducerOptions } from './producer/producer.js'
import { defaultLockManager, type LockManagerLike } from './storage/identity-lock.js'
import { checkConsumerOptions, checkProducerOptions } from './validation/index.js'

export function producerPart(kernel: ClientKernel): { producer(options?: ProducerOptions): Producer } {
  let locks: LockManagerLike | undefined
  return {
    producer(options = {}) {
      checkProducerOptions(options)
      locks ??= kernel.options.locks ?? defaultLockManager()
      const p = new Producer(options, kernel.producerDeps(locks))
      kernel.producers.add(p)
      return p
    },
  }
}

export function consumerPart(kernel: ClientKernel): { consumer(options?: ConsumerOptions): Consumer } {
  return {
    consumer(options = {}) {
      checkConsumerOptions(options)
      const c = new Consumer(options, kernel.consumerDeps())
      kernel.consumers.add(c)
      return c
    },
  }
}
