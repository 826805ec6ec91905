/** @module The --broker option shared by every client command. */
import { Option } from 'commander'

export const DEFAULT_BROKER = 'ws://127.0.0.1:8080'

export const brokerOption = () => new Option('--broker <url>', 'broker base URL(s), comma-separated').env('SAMSA_BROKER').default(DEFAULT_BROKER)
