// The view transform: screen = image × scale + (tx, ty). Coordinates the user sees and edits are
// always image pixels; only drawing and pointer input cross this boundary.
import type { Point, Rect } from './geometry'

export class View {
  scale = 1
  tx = 0
  ty = 0
  width = 1
  height = 1

  toImage(p: Point): Point {
    return { x: (p.x - this.tx) / this.scale, y: (p.y - this.ty) / this.scale }
  }

  toScreen(p: Point): Point {
    return { x: p.x * this.scale + this.tx, y: p.y * this.scale + this.ty }
  }

  /** The image rectangle on screen now. */
  visible(): Rect {
    const a = this.toImage({ x: 0, y: 0 })
    const b = this.toImage({ x: this.width, y: this.height })
    return { x0: a.x, y0: a.y, x1: b.x, y1: b.y }
  }

  /** Whole image in view, centred, with a margin. */
  fit(imageW: number, imageH: number, margin = 16): void {
    this.fitRect({ x0: 0, y0: 0, x1: imageW, y1: imageH }, margin)
  }

  /** The image rectangle r in view, centred, with a margin. */
  fitRect(r: Rect, margin = 16): void {
    const w = r.x1 - r.x0
    const h = r.y1 - r.y0
    const s = Math.min((this.width - 2 * margin) / w, (this.height - 2 * margin) / h)
    this.scale = s > 0 && Number.isFinite(s) ? s : 1
    this.tx = (this.width - w * this.scale) / 2 - r.x0 * this.scale
    this.ty = (this.height - h * this.scale) / 2 - r.y0 * this.scale
  }

  /** Zooms by `factor` keeping the image point under screen point `at` in place. */
  zoomAt(factor: number, at: Point, min = 1 / 256, max = 64): void {
    const s = Math.min(max, Math.max(min, this.scale * factor))
    const ip = this.toImage(at)
    this.scale = s
    this.tx = at.x - ip.x * s
    this.ty = at.y - ip.y * s
  }

  /** 1:1 (one image pixel per screen pixel) around the centre of the view. */
  oneToOne(): void {
    this.zoomAt(1 / this.scale, { x: this.width / 2, y: this.height / 2 })
  }

  pan(dx: number, dy: number): void {
    this.tx += dx
    this.ty += dy
  }
}
