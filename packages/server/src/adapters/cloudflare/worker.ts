/**
 * @module The Cloudflare Worker entry: routes each request to a Durable Object of its broker namespace — the
 * namespace's catalog object, or a topic's object under `/t/<topic>` (object-names.ts). Everything else is answered
 * by the object; the Worker holds no state.
 */
import { routeToObject } from './object-names.js'
import type { DurableObjectNamespaceBinding } from './workers-types.js'

export { SamsaBrokerObject } from './broker-object.js'

export interface WorkerEnv {
  readonly SAMSA_BROKER: DurableObjectNamespaceBinding
}

export default {
  fetch(req: Request, env: WorkerEnv): Promise<Response> {
    return routeToObject(req, env.SAMSA_BROKER)
  },
}
