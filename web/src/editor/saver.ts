// Autosave: the document's changes become batches (create / update / delete, all or nothing)
// sent with If-Match (the version the edits were made on) and an Idempotency-Key (the same key
// when a batch is retried, so a save whose answer was lost is not applied twice; the journal keeps
// the batch in flight and its key, so this holds across a closed tab too). Changes are
// journaled first (journal.ts); a network failure keeps them and retries with growing pauses;
// a 412 stops saving and asks the user to keep their version or take the server's.
import type { ShapeDocument } from './document'
import type { Shape } from './geometry'
import type { JournalEntry, JournalStore } from './journal'

export interface Batch {
  create: Shape[]
  update: Shape[]
  delete: string[]
}

export interface SaveTransport {
  /** Resolves with the new version; rejects with SaveConflict (412) or SaveOffline (no answer). */
  save(batch: Batch, version: number, idempotencyKey: string): Promise<number>
  /** The server's current set (for a conflict). */
  load(): Promise<{ version: number; shapes: Shape[] }>
}

export class SaveConflict extends Error {}
export class SaveOffline extends Error {}

export type SaveState = 'saved' | 'pending' | 'saving' | 'offline' | 'conflict' | 'error'

/** What the save badge says in a state: `detail` for an error, `pending` changes kept offline (when known). */
export function saveStateLabel(state: SaveState, detail: string, pending?: number): string {
  switch (state) {
    case 'saved':
      return 'All changes saved'
    case 'pending':
      return 'Unsaved changes…'
    case 'saving':
      return 'Saving…'
    case 'offline':
      return pending === undefined ? 'Offline — changes kept on this device' : `Offline — ${pending} change(s) kept on this device`
    case 'conflict':
      return 'Someone else changed this item'
    case 'error':
      return `Not saved: ${detail}`
  }
  return ''
}

export interface SaverOptions {
  debounceMs?: number
  retryMs?: (attempt: number) => number
  newKey?: () => string
  onState?: (state: SaveState, detail?: string) => void
  onConflict?: (server: { version: number; shapes: Shape[] }) => void
  /** Members never sent (the editor's own and the server's read-only ones). */
  strip?: string[]
}

/** Structural equality of two JSON values. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  return ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}

interface InFlight {
  key: string
  batch: Batch
  snapshots: Map<string, Shape | null>
}

export class Saver {
  /** The server's copy of each shape as of `version`. */
  private server = new Map<string, Shape>()
  version = 0
  private dirty = new Set<string>()
  /** Shapes whose deletion the server acknowledged: a read that began before must not bring them back. */
  private gone = new Set<string>()
  private inflight: InFlight | null = null
  private timer: ReturnType<typeof setTimeout> | undefined
  private attempts = 0
  private stopped = false
  state: SaveState = 'saved'
  private unlisten: () => void
  private readonly strip: string[]

  constructor(
    private readonly itemId: string,
    private readonly doc: ShapeDocument,
    private readonly transport: SaveTransport,
    private readonly journal: JournalStore,
    private readonly options: SaverOptions = {},
  ) {
    this.strip = options.strip ?? ['version', 'source_version']
    this.unlisten = doc.onChange((c) => {
      const id = c.after?.id ?? c.before?.id
      if (!id) return
      this.dirty.add(id)
      this.touched()
    })
  }

  /** Starts from the server's set (call before the user edits). */
  reset(version: number, shapes: Shape[]): void {
    this.version = version
    this.server = new Map(shapes.map((s) => [s.id, s]))
    this.dirty.clear()
    this.gone.clear()
    this.inflight = null
  }

  /**
   * Shapes loaded after `reset` (the viewport moved) become part of the server's set as far as
   * the saver knows: returns those it did not know, the ones to add to the document. A shape the
   * user changed or deleted meanwhile is not taken again.
   */
  adopt(shapes: Shape[]): Shape[] {
    const fresh: Shape[] = []
    for (const s of shapes) {
      if (this.server.has(s.id) || this.gone.has(s.id) || this.dirty.has(s.id) || this.inflight?.snapshots.has(s.id)) continue
      this.server.set(s.id, s)
      fresh.push(s)
    }
    return fresh
  }

  /** Edits not yet acknowledged (dirty or in flight). */
  get pendingCount(): number {
    return this.dirty.size + (this.inflight?.snapshots.size ?? 0)
  }

  dispose(): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.unlisten()
  }

  private setState(s: SaveState, detail?: string): void {
    this.state = s
    this.options.onState?.(s, detail)
  }

  private touched(): void {
    if (this.state === 'conflict') return
    void this.writeJournal()
    if (this.state !== 'offline' && this.state !== 'saving') this.setState('pending')
    this.schedule(this.options.debounceMs ?? 600)
  }

  private schedule(ms: number): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => void this.flush(), ms)
  }

  /** The journal: every unacknowledged shape as the user has it now. */
  async writeJournal(): Promise<void> {
    const ids = new Set([...this.dirty, ...(this.inflight?.snapshots.keys() ?? [])])
    if (ids.size === 0) {
      await this.journal.delete(this.itemId)
      return
    }
    const shapes: Record<string, Shape | null> = {}
    for (const id of ids) shapes[id] = this.doc.get(id) ?? null
    const entry: JournalEntry = { itemId: this.itemId, baseVersion: this.version, shapes, savedAt: Date.now() }
    const f = this.inflight
    if (f) entry.inflight = { key: f.key, batch: f.batch, snapshots: Object.fromEntries(f.snapshots) }
    await this.journal.put(entry)
  }

  /** Applies a journal left by an earlier page (edits not yet saved) as the user's edits. */
  async replay(): Promise<number> {
    const entry = await this.journal.get(this.itemId)
    if (!entry) return 0
    this.version = entry.baseVersion
    // the batch in flight goes again first, with its key (the server may have applied it already)
    if (entry.inflight) {
      const { key, batch, snapshots } = entry.inflight
      this.inflight = { key, batch, snapshots: new Map(Object.entries(snapshots)) }
    }
    const n = Object.keys(entry.shapes).length
    for (const [id, shape] of Object.entries(entry.shapes)) this.doc.put(id, shape)
    // what the batch in flight carries as it is now needs no second batch
    for (const [id, snap] of this.inflight?.snapshots ?? []) if (sameJson(entry.shapes[id] ?? null, snap)) this.dirty.delete(id)
    return n
  }

  private clean(s: Shape): Shape {
    const out: Shape = { ...s }
    for (const k of this.strip) delete out[k]
    return out
  }

  private nextBatch(): InFlight | null {
    const batch: Batch = { create: [], update: [], delete: [] }
    const snapshots = new Map<string, Shape | null>()
    for (const id of this.dirty) {
      const cur = this.doc.get(id) ?? null
      const srv = this.server.get(id) ?? null
      if (cur && !srv) batch.create.push(this.clean(cur))
      else if (cur && srv && !sameJson(this.clean(cur), this.clean(srv))) batch.update.push(this.clean(cur))
      else if (!cur && srv) batch.delete.push(id)
      else continue
      snapshots.set(id, cur)
    }
    this.dirty.clear()
    if (snapshots.size === 0) return null
    return { key: this.options.newKey?.() ?? crypto.randomUUID(), batch, snapshots }
  }

  /** Sends what is pending now (the timer calls it; tests and "save now" too). */
  async flush(): Promise<void> {
    if (this.stopped || this.state === 'conflict' || this.state === 'saving') return
    clearTimeout(this.timer)
    const fresh = !this.inflight
    this.inflight ??= this.nextBatch()
    if (!this.inflight) {
      await this.writeJournal()
      this.setState('saved')
      return
    }
    const f = this.inflight
    this.setState('saving')
    try {
      if (fresh) await this.writeJournal() // the key is kept before the batch leaves
      this.version = await this.transport.save(f.batch, this.version, f.key)
      for (const [id, s] of f.snapshots) {
        if (s) {
          this.server.set(id, s)
          this.gone.delete(id)
        } else {
          this.server.delete(id)
          this.gone.add(id)
        }
      }
      this.inflight = null
      this.attempts = 0
      await this.writeJournal()
      this.setState(this.dirty.size ? 'pending' : 'saved')
      if (this.dirty.size) this.schedule(0)
    } catch (e) {
      if (e instanceof SaveConflict) {
        // the batch was not applied: its ids are pending again, for whichever side the user picks
        for (const id of f.snapshots.keys()) this.dirty.add(id)
        this.inflight = null
        this.setState('conflict')
        this.options.onConflict?.(await this.transport.load())
      } else if (e instanceof SaveOffline) {
        this.attempts++
        this.setState('offline', e.message)
        this.schedule(this.options.retryMs?.(this.attempts) ?? Math.min(15_000, 500 * 2 ** this.attempts))
      } else {
        // refused (422, 403 …): those edits cannot be saved as they are; keep them journaled
        for (const id of f.snapshots.keys()) this.dirty.add(id)
        this.inflight = null
        this.setState('error', e instanceof Error ? e.message : String(e))
      }
    }
  }

  /** Conflict resolved in the user's favour: their whole version goes over the server's. */
  keepMine(server: { version: number; shapes: Shape[] }): void {
    this.version = server.version
    this.server = new Map(server.shapes.map((s) => [s.id, s]))
    this.dirty = new Set([...this.server.keys(), ...this.doc.all().map((s) => s.id)])
    this.setState('pending')
    void this.flush()
  }

  /** Conflict resolved in the server's favour: its set replaces the user's edits. */
  takeTheirs(server: { version: number; shapes: Shape[] }): void {
    this.doc.load(server.shapes)
    this.reset(server.version, server.shapes)
    void this.journal.delete(this.itemId)
    this.setState('saved')
  }

  /** Try again now (the browser is back online). */
  retry(): void {
    if (this.state === 'offline' || this.state === 'error') {
      if (this.state === 'error') this.state = 'pending'
      void this.flush()
    }
  }
}
