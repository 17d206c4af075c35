// A uniform-grid spatial index over shape bounds: shapes are filed in every cell their bounds
// cover, a query visits only the cells of the rectangle asked about. For the editor's workload
// (thousands of shapes of similar size, frequent moves) it is as fast as an R-tree and far simpler.
import type { Rect } from './geometry'

export class SpatialIndex {
  private readonly cells = new Map<number, Set<string>>()
  private readonly rects = new Map<string, Rect>()

  /** `cell`: side of a grid cell in image pixels. */
  constructor(private readonly cell = 256) {}

  get size(): number {
    return this.rects.size
  }

  private key(cx: number, cy: number): number {
    // two 21-bit signed cell coordinates in one number (images up to ±2^20 cells wide)
    return (cx + 0x100000) * 0x200000 + (cy + 0x100000)
  }

  private span(r: Rect): [number, number, number, number] {
    const c = this.cell
    return [Math.floor(r.x0 / c), Math.floor(r.y0 / c), Math.floor(r.x1 / c), Math.floor(r.y1 / c)]
  }

  /** Files `id` under `r` (replacing where it was). */
  set(id: string, r: Rect): void {
    this.delete(id)
    this.rects.set(id, r)
    const [a, b, c, d] = this.span(r)
    for (let x = a; x <= c; x++) {
      for (let y = b; y <= d; y++) {
        const k = this.key(x, y)
        let set = this.cells.get(k)
        if (!set) this.cells.set(k, (set = new Set()))
        set.add(id)
      }
    }
  }

  delete(id: string): void {
    const r = this.rects.get(id)
    if (!r) return
    this.rects.delete(id)
    const [a, b, c, d] = this.span(r)
    for (let x = a; x <= c; x++) {
      for (let y = b; y <= d; y++) {
        const k = this.key(x, y)
        const set = this.cells.get(k)
        set?.delete(id)
        if (set && set.size === 0) this.cells.delete(k)
      }
    }
  }

  /** Ids whose bounds meet `r`. */
  search(r: Rect): string[] {
    const out = new Set<string>()
    const [a, b, c, d] = this.span(r)
    // a query larger than the filed area: test every rectangle instead of every cell
    if ((c - a + 1) * (d - b + 1) > this.cells.size) {
      for (const [id, q] of this.rects) if (q.x0 <= r.x1 && r.x0 <= q.x1 && q.y0 <= r.y1 && r.y0 <= q.y1) out.add(id)
      return [...out]
    }
    for (let x = a; x <= c; x++) {
      for (let y = b; y <= d; y++) {
        const set = this.cells.get(this.key(x, y))
        if (!set) continue
        for (const id of set) {
          if (out.has(id)) continue
          const q = this.rects.get(id)!
          if (q.x0 <= r.x1 && r.x0 <= q.x1 && q.y0 <= r.y1 && r.y0 <= q.y1) out.add(id)
        }
      }
    }
    return [...out]
  }

  clear(): void {
    this.cells.clear()
    this.rects.clear()
  }
}
