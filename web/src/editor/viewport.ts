// Loading an item's annotations by viewport. An item with more than VIEWPORT_THRESHOLD shapes is
// not read whole: the editor asks GET /api/v1/items/{id}/annotations?bbox=… for the part of the
// image around the view (VIEWPORT_MARGIN of the view's size on every side, within the image) and
// again when the view leaves what was loaded. Loaded shapes stay loaded; edits and autosave work
// on them exactly as on a whole set (Saver.adopt makes each batch of them part of the server's
// set as the saver knows it). Pure: fetching and applying are the caller's.
import { bounds, type Rect, type Shape } from './geometry'

/** Items with more shapes than this load by viewport (docs/ANNOTATIONS.md, "Viewport reads"). */
export const VIEWPORT_THRESHOLD = 2000
/** How much beyond the view is loaded, as a fraction of the view's width and height, each side. */
export const VIEWPORT_MARGIN = 0.5

/**
 * The rectangle to load for a view: the view grown by `margin` of its size on each side, within
 * the image, in whole pixels (outward); the whole image when the view shows none of it.
 */
export function wantedRect(visible: Rect, width: number, height: number, margin = VIEWPORT_MARGIN): Rect {
  const mx = (visible.x1 - visible.x0) * margin
  const my = (visible.y1 - visible.y0) * margin
  const r = clampToImage({ x0: visible.x0 - mx, y0: visible.y0 - my, x1: visible.x1 + mx, y1: visible.y1 + my }, width, height)
  if (!r) return { x0: 0, y0: 0, x1: width, y1: height }
  return { x0: Math.floor(r.x0), y0: Math.floor(r.y0), x1: Math.ceil(r.x1), y1: Math.ceil(r.y1) }
}

/** The part of `r` inside the image; null when none of it is. */
export function clampToImage(r: Rect, width: number, height: number): Rect | null {
  const c = { x0: Math.max(0, r.x0), y0: Math.max(0, r.y0), x1: Math.min(width, r.x1), y1: Math.min(height, r.y1) }
  return c.x0 < c.x1 && c.y0 < c.y1 ? c : null
}

export function contains(outer: Rect, inner: Rect): boolean {
  return outer.x0 <= inner.x0 && outer.y0 <= inner.y0 && outer.x1 >= inner.x1 && outer.y1 >= inner.y1
}

function meets(a: Rect, b: Rect): boolean {
  return a.x0 <= b.x1 && b.x0 <= a.x1 && a.y0 <= b.y1 && b.y0 <= a.y1
}

/** A rectangle from "x0,y0,x1,y1" (a URL's view=…): four finite numbers with x0 < x1, y0 < y1; else null. */
export function parseRect(text: unknown): Rect | null {
  if (typeof text !== 'string') return null
  const n = text.split(',').map((v) => (v.trim() === '' ? NaN : Number(v)))
  if (n.length !== 4 || !n.every(Number.isFinite)) return null
  const [x0, y0, x1, y1] = n as [number, number, number, number]
  return x0 < x1 && y0 < y1 ? { x0, y0, x1, y1 } : null
}

/** The `bbox` query value of a rectangle. */
export function bboxParam(r: Rect): string {
  return `${r.x0},${r.y0},${r.x1},${r.y1}`
}

/** What the server answers for a rectangle: the set's version and the shapes that may show in it. */
export interface ViewportSet {
  version: number
  shapes: Shape[]
}

export class ViewportLoader {
  /** Rectangles whose shapes are loaded. */
  readonly regions: Rect[] = []
  private pending: Promise<void> | null = null
  private again: Rect | null = null

  constructor(
    private readonly width: number,
    private readonly height: number,
    private readonly fetchRect: (r: Rect) => Promise<ViewportSet>,
    /** Takes the shapes of a loaded rectangle (adds the new ones to the document). */
    private readonly apply: (set: ViewportSet) => void,
    private readonly margin = VIEWPORT_MARGIN,
  ) {}

  /** Whether the part of the image in view is loaded. */
  covers(visible: Rect): boolean {
    const v = clampToImage(visible, this.width, this.height)
    return !v || this.regions.some((r) => contains(r, v))
  }

  /** The first load, for the view the editor opens with. */
  async start(visible: Rect): Promise<ViewportSet> {
    const want = wantedRect(visible, this.width, this.height, this.margin)
    const set = await this.fetchRect(want)
    this.remember(want)
    return set
  }

  /**
   * The view moved: loads around it unless it is covered. One request at a time; a view that
   * moves on meanwhile is loaded next (only the latest).
   */
  update(visible: Rect): Promise<void> {
    if (this.covers(visible)) return this.pending ?? Promise.resolve()
    if (this.pending) {
      this.again = visible
      return this.pending
    }
    const want = wantedRect(visible, this.width, this.height, this.margin)
    this.pending = this.fetchRect(want)
      .then((set) => {
        this.apply(set)
        this.remember(want)
      })
      .finally(() => {
        this.pending = null
        const next = this.again
        this.again = null
        if (next) void this.update(next)
      })
    return this.pending
  }

  /** Of a whole set (the server's after a conflict), the shapes this loader would have loaded. */
  withinLoaded(shapes: Shape[]): Shape[] {
    return shapes.filter((s) => {
      const b = bounds(s)
      return !b || this.regions.some((r) => meets(r, b))
    })
  }

  /** The bounding rectangle of everything loaded (to ask the server for, before withinLoaded). */
  loadedBounds(): Rect | null {
    if (!this.regions.length) return null
    return this.regions.reduce((a, r) => ({ x0: Math.min(a.x0, r.x0), y0: Math.min(a.y0, r.y0), x1: Math.max(a.x1, r.x1), y1: Math.max(a.y1, r.y1) }))
  }

  private remember(r: Rect): void {
    // a rectangle inside another adds nothing; one that holds others replaces them
    if (this.regions.some((x) => contains(x, r))) return
    for (let i = this.regions.length - 1; i >= 0; i--) if (contains(r, this.regions[i]!)) this.regions.splice(i, 1)
    this.regions.push(r)
  }
}
