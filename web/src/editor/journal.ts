// The offline journal: the edits not yet acknowledged by the server, per item, in IndexedDB, so
// a dropped connection, a crash or a closed tab loses nothing. The editor writes the journal on
// every change and clears it once the server has the edits; on opening an item it replays what
// it finds (see saver.ts).
import type { Shape } from './geometry'
import type { Batch } from './saver'

export interface JournalEntry {
  itemId: string
  /** The annotation version the edits were made on (If-Match on replay). */
  baseVersion: number
  /** id → the shape as the user left it, or null for a deletion. */
  shapes: Record<string, Shape | null>
  /**
   * The batch that was on its way when the entry was written, with its Idempotency-Key: replayed
   * as it was, so that a save whose answer was lost (the tab closed first) is answered from the
   * server's record of it instead of conflicting with itself.
   */
  inflight?: { key: string; batch: Batch; snapshots: Record<string, Shape | null> }
  savedAt: number
}

export interface JournalStore {
  get(itemId: string): Promise<JournalEntry | undefined>
  put(entry: JournalEntry): Promise<void>
  delete(itemId: string): Promise<void>
}

/** For tests, and for browsers without IndexedDB (private modes): lives as long as the page. */
export class MemoryJournal implements JournalStore {
  readonly entries = new Map<string, JournalEntry>()
  async get(itemId: string): Promise<JournalEntry | undefined> {
    const e = this.entries.get(itemId)
    return e && structuredClone(e)
  }
  async put(entry: JournalEntry): Promise<void> {
    this.entries.set(entry.itemId, structuredClone(entry))
  }
  async delete(itemId: string): Promise<void> {
    this.entries.delete(itemId)
  }
}

const DB = 'loupe-editor'
const STORE = 'journal'

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'))
  })
}

export class IndexedDbJournal implements JournalStore {
  private db: Promise<IDBDatabase> | null = null

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise((resolve, reject) => {
      const r = indexedDB.open(DB, 1)
      r.onupgradeneeded = () => r.result.createObjectStore(STORE, { keyPath: 'itemId' })
      r.onsuccess = () => resolve(r.result)
      r.onerror = () => reject(r.error ?? new Error('IndexedDB cannot be opened'))
    })
    return this.db
  }

  private async store(mode: IDBTransactionMode): Promise<IDBObjectStore> {
    return (await this.open()).transaction(STORE, mode).objectStore(STORE)
  }

  async get(itemId: string): Promise<JournalEntry | undefined> {
    return (await request((await this.store('readonly')).get(itemId))) as JournalEntry | undefined
  }

  async put(entry: JournalEntry): Promise<void> {
    await request((await this.store('readwrite')).put(entry))
  }

  async delete(itemId: string): Promise<void> {
    await request((await this.store('readwrite')).delete(itemId))
  }
}

/** IndexedDB when the browser has it, else memory. */
export function defaultJournal(): JournalStore {
  return typeof indexedDB === 'undefined' ? new MemoryJournal() : new IndexedDbJournal()
}
