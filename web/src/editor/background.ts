// What the shapes are drawn on: the item's image, either one bitmap (the preview or original) or
// a DeepZoom pyramid whose tiles are fetched for the level and region in view only; or a video's
// frame, a rectangle of a window's sprite.
import type { View } from './view'

export interface Background {
  readonly width: number
  readonly height: number
  /** Draws what is in view; calls `invalidate` when more pixels arrive (a tile loaded). */
  draw(ctx: CanvasRenderingContext2D, view: View): void
  dispose(): void
}

/** One bitmap covering the image (it may be a downscaled preview: drawn stretched to width × height). */
export class BitmapBackground implements Background {
  constructor(
    private readonly image: CanvasImageSource,
    readonly width: number,
    readonly height: number,
  ) {}

  draw(ctx: CanvasRenderingContext2D, view: View): void {
    ctx.setTransform(view.scale, 0, 0, view.scale, view.tx, view.ty)
    ctx.imageSmoothingEnabled = view.scale < 2
    ctx.drawImage(this.image, 0, 0, this.width, this.height)
  }

  dispose(): void {}
}

/**
 * A video frame: a rectangle of a sprite holding several frames, drawn stretched to width × height
 * (the video's size, in which shapes are). `show` swaps the frame without touching the view.
 */
export class FrameBackground implements Background {
  private source: CanvasImageSource | null = null
  private rect = { x: 0, y: 0, w: 1, h: 1 }
  /** Draws nothing (the frame is shown by something under the canvas: a playing <video>). */
  private seeThrough = false

  constructor(
    readonly width: number,
    readonly height: number,
  ) {}

  show(source: CanvasImageSource, rect: { x: number; y: number; w: number; h: number }): void {
    this.source = source
    this.rect = rect
    this.seeThrough = false
  }

  /** Draws nothing until the next show(): what is under the canvas shows through. */
  clear(): void {
    this.seeThrough = true
  }

  draw(ctx: CanvasRenderingContext2D, view: View): void {
    if (this.seeThrough) return
    ctx.setTransform(view.scale, 0, 0, view.scale, view.tx, view.ty)
    if (!this.source) {
      ctx.fillStyle = '#000'
      ctx.fillRect(0, 0, this.width, this.height)
      return
    }
    ctx.imageSmoothingEnabled = true
    const r = this.rect
    ctx.drawImage(this.source, r.x, r.y, r.w, r.h, 0, 0, this.width, this.height)
  }

  dispose(): void {
    this.source = null
  }
}

export interface DeepZoomInfo {
  width: number
  height: number
  tileSize: number
  overlap: number
  format: string
}

/** Reads a .dzi descriptor (XML). */
export function parseDzi(xml: string): DeepZoomInfo {
  const attr = (name: string) => {
    const m = new RegExp(`${name}="([^"]*)"`).exec(xml)
    if (!m) throw new Error(`the DeepZoom descriptor has no ${name}`)
    return m[1]!
  }
  return {
    width: Number(attr('Width')),
    height: Number(attr('Height')),
    tileSize: Number(attr('TileSize')),
    overlap: Number(attr('Overlap')),
    format: attr('Format'),
  }
}

/** The DeepZoom level whose pixels are closest to one per screen pixel at `scale`. */
export function levelFor(info: DeepZoomInfo, scale: number): number {
  const max = Math.ceil(Math.log2(Math.max(info.width, info.height)))
  const want = max + Math.ceil(Math.log2(Math.max(scale, 1 / 2 ** max)))
  return Math.max(0, Math.min(max, want))
}

export class TiledBackground implements Background {
  private readonly cache = new Map<string, HTMLImageElement>()
  private readonly maxLevel: number
  readonly width: number
  readonly height: number

  constructor(
    private readonly info: DeepZoomInfo,
    /** URL of tile (level, col, row). */
    private readonly tileUrl: (level: number, col: number, row: number) => string,
    private readonly invalidate: () => void,
    private readonly maxTiles = 600,
  ) {
    this.width = info.width
    this.height = info.height
    this.maxLevel = Math.ceil(Math.log2(Math.max(info.width, info.height)))
  }

  private tile(level: number, col: number, row: number): HTMLImageElement {
    const key = `${level}/${col}_${row}`
    let img = this.cache.get(key)
    if (img) {
      this.cache.delete(key) // most recently used last
      this.cache.set(key, img)
      return img
    }
    img = new Image()
    img.decoding = 'async'
    img.onload = () => this.invalidate()
    img.src = this.tileUrl(level, col, row)
    this.cache.set(key, img)
    while (this.cache.size > this.maxTiles) {
      const oldest = this.cache.keys().next().value as string
      this.cache.get(oldest)!.src = ''
      this.cache.delete(oldest)
    }
    return img
  }

  private drawLevel(ctx: CanvasRenderingContext2D, view: View, level: number, fetch: boolean): void {
    const { tileSize: ts, overlap } = this.info
    const f = 2 ** (this.maxLevel - level) // image pixels per level pixel
    const lw = Math.ceil(this.width / f)
    const lh = Math.ceil(this.height / f)
    const r = view.visible()
    const c0 = Math.max(0, Math.floor(r.x0 / f / ts))
    const c1 = Math.min(Math.ceil(lw / ts) - 1, Math.floor(r.x1 / f / ts))
    const r0 = Math.max(0, Math.floor(r.y0 / f / ts))
    const r1 = Math.min(Math.ceil(lh / ts) - 1, Math.floor(r.y1 / f / ts))
    for (let row = r0; row <= r1; row++) {
      for (let col = c0; col <= c1; col++) {
        const key = `${level}/${col}_${row}`
        const img = fetch ? this.tile(level, col, row) : this.cache.get(key)
        if (!img || !img.complete || img.naturalWidth === 0) continue
        const ox = col === 0 ? 0 : overlap
        const oy = row === 0 ? 0 : overlap
        const x = col * ts - ox
        const y = row * ts - oy
        ctx.drawImage(img, x * f, y * f, img.naturalWidth * f, img.naturalHeight * f)
      }
    }
  }

  draw(ctx: CanvasRenderingContext2D, view: View): void {
    ctx.setTransform(view.scale, 0, 0, view.scale, view.tx, view.ty)
    ctx.imageSmoothingEnabled = true
    const level = levelFor(this.info, view.scale)
    // a coarse level first (already loaded, or small) so the screen is never blank, then the sharp one
    const coarse = Math.max(0, level - 3)
    this.drawLevel(ctx, view, coarse, true)
    if (level !== coarse) this.drawLevel(ctx, view, level - 1, false)
    this.drawLevel(ctx, view, level, true)
  }

  dispose(): void {
    for (const img of this.cache.values()) img.src = ''
    this.cache.clear()
  }
}
