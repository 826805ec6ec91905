/**
 * @module What the app keeps in the browser (IndexedDB database `samsa-demo`, separate from the SDK's): the profile
 * (display name and this browser's sender id), the known rooms (so the list shows while the broker is down), the
 * open room and scroll anchor, and the outgoing messages not yet seen acknowledged (shown as pending after a
 * reload). Consumer positions (what was read) live in the SDK's offset store, not here.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb'

export interface Profile {
  readonly name: string
  readonly sender: string
}

export interface KnownRoom {
  readonly name: string
  /** Last known log start and high watermark of partition 0 (for unread counts while offline). */
  readonly logStart: number | null
  readonly highWatermark: number | null
  /** Set once the broker said the topic is gone; the room stays listed (marked) until the user removes it. */
  readonly deleted: boolean
}

export interface Outgoing {
  readonly id: string
  readonly room: string
  readonly text: string
  readonly author: string
  readonly at: number
}

interface Schema extends DBSchema {
  settings: { key: string; value: unknown }
  rooms: { key: string; value: KnownRoom }
  outgoing: { key: string; value: Outgoing; indexes: { 'by-at': number } }
}

export class LocalStore {
  readonly #db: IDBPDatabase<Schema>
  private constructor(db: IDBPDatabase<Schema>) {
    this.#db = db
  }

  static async open(name = 'samsa-demo'): Promise<LocalStore> {
    const db = await openDB<Schema>(name, 1, {
      upgrade(db) {
        db.createObjectStore('settings')
        db.createObjectStore('rooms', { keyPath: 'name' })
        db.createObjectStore('outgoing', { keyPath: 'id' }).createIndex('by-at', 'at')
      },
      blocking() {
        // Another tab upgrades the schema: let it.
        db.close()
      },
    })
    return new LocalStore(db)
  }

  async profile(): Promise<Profile | null> {
    return ((await this.#db.get('settings', 'profile')) as Profile | undefined) ?? null
  }
  async setProfile(p: Profile): Promise<void> {
    await this.#db.put('settings', p, 'profile')
  }
  async setting<T>(key: string): Promise<T | null> {
    return ((await this.#db.get('settings', key)) as T | undefined) ?? null
  }
  async setSetting(key: string, value: unknown): Promise<void> {
    if (value === null) await this.#db.delete('settings', key)
    else await this.#db.put('settings', value, key)
  }

  rooms(): Promise<KnownRoom[]> {
    return this.#db.getAll('rooms')
  }
  async putRoom(room: KnownRoom): Promise<void> {
    await this.#db.put('rooms', room)
  }
  async removeRoom(name: string): Promise<void> {
    await this.#db.delete('rooms', name)
  }

  /** Outgoing messages in the order they were written. */
  outgoing(): Promise<Outgoing[]> {
    return this.#db.getAllFromIndex('outgoing', 'by-at')
  }
  async addOutgoing(o: Outgoing): Promise<void> {
    await this.#db.put('outgoing', o)
  }
  async removeOutgoing(id: string): Promise<void> {
    await this.#db.delete('outgoing', id)
  }

  close(): void {
    this.#db.close()
  }
}
