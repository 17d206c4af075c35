// The shapes of one item being edited: a map by id, kept in step with the spatial index, with
// every change reported to listeners (the renderer redraws, the saver records it). Changes come
// only through commands (commands.ts), so each is undoable.
import { bounds, type Rect, type Shape } from './geometry'
import { SpatialIndex } from './spatial'

export type Change = { type: 'add' | 'update' | 'remove'; before: Shape | null; after: Shape | null }

/** What the editor keeps per shape beside the API's object (not saved). */
export interface ShapeState {
  hidden: boolean
  locked: boolean
}

export class ShapeDocument {
  private readonly shapes = new Map<string, Shape>()
  private readonly states = new Map<string, ShapeState>()
  readonly index = new SpatialIndex()
  private readonly listeners = new Set<(c: Change) => void>()
  /** Bumped on every change; renderers compare it to know the scene changed. */
  revision = 0

  get size(): number {
    return this.shapes.size
  }

  all(): Shape[] {
    return [...this.shapes.values()]
  }

  get(id: string): Shape | undefined {
    return this.shapes.get(id)
  }

  state(id: string): ShapeState {
    let s = this.states.get(id)
    if (!s) this.states.set(id, (s = { hidden: false, locked: false }))
    return s
  }

  setState(id: string, patch: Partial<ShapeState>): void {
    Object.assign(this.state(id), patch)
    this.revision++
    this.emit({ type: 'update', before: null, after: null })
  }

  onChange(fn: (c: Change) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private emit(c: Change): void {
    for (const fn of this.listeners) fn(c)
  }

  private file(s: Shape): void {
    const r = bounds(s)
    if (r) this.index.set(s.id, r)
    else this.index.delete(s.id)
  }

  /** Replaces everything (a load): not a change of the user's, so not reported. */
  load(shapes: Shape[]): void {
    this.shapes.clear()
    this.index.clear()
    for (const s of shapes) {
      this.shapes.set(s.id, s)
      this.file(s)
    }
    this.revision++
    this.emit({ type: 'update', before: null, after: null })
  }

  /**
   * Adds shapes loaded from the server after the first load (the viewport moved): not a change of
   * the user's, so not reported as one. Shapes already here are left as they are.
   */
  merge(shapes: Shape[]): void {
    for (const s of shapes) {
      if (this.shapes.has(s.id)) continue
      this.shapes.set(s.id, s)
      this.file(s)
    }
    this.revision++
    this.emit({ type: 'update', before: null, after: null })
  }

  /** Puts `after` in place of the shape with its id (adding it when new); null removes `id`. */
  put(id: string, after: Shape | null): void {
    const before = this.shapes.get(id) ?? null
    if (after) {
      this.shapes.set(id, after)
      this.file(after)
    } else {
      this.shapes.delete(id)
      this.index.delete(id)
    }
    this.revision++
    this.emit({ type: before && after ? 'update' : after ? 'add' : 'remove', before, after })
  }

  /** Shapes whose bounds meet r, in drawing order (z, then id). */
  inRect(r: Rect): Shape[] {
    return this.index
      .search(r)
      .map((id) => this.shapes.get(id)!)
      .sort(byZ)
  }

  /** Shapes without bounds (tags, masks, the raster layer). */
  unbounded(): Shape[] {
    return this.all().filter((s) => bounds(s) === null)
  }

  maxZ(): number {
    let z = 0
    for (const s of this.shapes.values()) z = Math.max(z, s.z ?? 0)
    return z
  }
}

export function byZ(a: Shape, b: Shape): number {
  return (a.z ?? 0) - (b.z ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}
