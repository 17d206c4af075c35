// The slot's raster layer: one label (0 … 255) per pixel, Darwin's `dense_rle` encoding
// ([label, count, label, count, …] over rows), and the mapping from mask annotation ids to labels.
// Brush and eraser strokes paint discs of a label into it.

export class RasterLayer {
  readonly labels: Uint8Array

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.labels = new Uint8Array(width * height)
  }

  static decode(width: number, height: number, rle: number[]): RasterLayer {
    const r = new RasterLayer(width, height)
    let at = 0
    for (let i = 0; i + 1 < rle.length; i += 2) {
      const n = Math.min(rle[i + 1]!, r.labels.length - at)
      r.labels.fill(rle[i]!, at, at + n)
      at += n
    }
    return r
  }

  encode(): number[] {
    const out: number[] = []
    const l = this.labels
    let cur = l[0] ?? 0
    let run = 0
    for (let i = 0; i < l.length; i++) {
      if (l[i] === cur) run++
      else {
        out.push(cur, run)
        cur = l[i]!
        run = 1
      }
    }
    if (run) out.push(cur, run)
    return out
  }

  /** Paints a disc of `label` (0 erases) centred on (cx, cy); returns whether a pixel changed. */
  disc(cx: number, cy: number, radius: number, label: number, onlyOver?: number): boolean {
    let changed = false
    const r2 = radius * radius
    const y0 = Math.max(0, Math.floor(cy - radius))
    const y1 = Math.min(this.height - 1, Math.ceil(cy + radius))
    for (let y = y0; y <= y1; y++) {
      const dy = y + 0.5 - cy
      const half = Math.sqrt(Math.max(0, r2 - dy * dy))
      const x0 = Math.max(0, Math.floor(cx - half))
      const x1 = Math.min(this.width - 1, Math.ceil(cx + half) - 1)
      const row = y * this.width
      for (let x = x0; x <= x1; x++) {
        const v = this.labels[row + x]!
        if (v === label || (onlyOver !== undefined && v !== onlyOver)) continue
        this.labels[row + x] = label
        changed = true
      }
    }
    return changed
  }

  /** A stroke from a to b: discs every half radius along the segment. */
  stroke(ax: number, ay: number, bx: number, by: number, radius: number, label: number, onlyOver?: number): boolean {
    const d = Math.hypot(bx - ax, by - ay)
    const steps = Math.max(1, Math.ceil(d / Math.max(1, radius / 2)))
    let changed = false
    for (let i = 0; i <= steps; i++) {
      const t = i / steps
      changed = this.disc(ax + (bx - ax) * t, ay + (by - ay) * t, radius, label, onlyOver) || changed
    }
    return changed
  }

  count(label: number): number {
    let n = 0
    for (const v of this.labels) if (v === label) n++
    return n
  }
}
