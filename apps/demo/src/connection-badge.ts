/** @module The connection badge's label from the SDK's connection state. */
import type { ConnectionState } from '@samsa/client-browser'

export type BadgeLabel = 'connected' | 'reconnecting' | 'offline' | 'closed'

/** Attempts after which a broker that does not answer counts as offline rather than "reconnecting". */
const OFFLINE_AFTER_ATTEMPTS = 3

/**
 * connected; closed (final); offline when the platform has no network, when this page life never reached the
 * broker, or after OFFLINE_AFTER_ATTEMPTS failed attempts in a row; reconnecting otherwise.
 */
export function badgeLabel(state: ConnectionState, everConnected: boolean): BadgeLabel {
  if (state.status === 'connected') return 'connected'
  if (state.status === 'closed') return 'closed'
  if (!state.online) return 'offline'
  if (!everConnected && state.attempt >= 1) return 'offline'
  if (state.attempt >= OFFLINE_AFTER_ATTEMPTS) return 'offline'
  return 'reconnecting'
}
