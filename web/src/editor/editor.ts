// The editor engine: draws the background and the shapes in view on a Canvas 2D (cached Path2D per
// shape, the spatial index picks what is in view), turns pointer input into tool actions, and
// routes every edit through the command stack. No Vue: the view component creates one Editor per
// item and listens to its events.
import { CommandStack } from './commands'
import type { Background } from './background'
import { byZ, ShapeDocument } from './document'
import {
  angleOf,
  angleToward,
  bounds,
  type Rect,
  boxFromCorners,
  deleteVertex,
  hitTest,
  insertVertex,
  kindOf,
  moveVertex,
  normalAngle,
  rotatedCenter,
  rotationHandle,
  translate,
  vertexAt,
  vertices,
  withAngle,
  type Point,
  type Shape,
  type SkeletonNode,
} from './geometry'
import { RasterLayer } from './raster'
import { View } from './view'

export type ToolName = 'select' | 'box' | 'rotated_box' | 'polygon' | 'line' | 'keypoint' | 'skeleton' | 'ellipse' | 'cuboid' | 'brush' | 'eraser'

/** What the editor needs to know about a class. */
export interface EditorClass {
  id: string
  name: string
  color: string
  types: string[]
  skeleton: { nodes: { name: string }[]; edges: [number, number][] } | null
}

export interface EditorEvents {
  selection?: (ids: string[]) => void
  tool?: (tool: ToolName, hint: string) => void
  error?: (message: string) => void
  /** The view moved or zoomed (reported once per drawn frame that shows a new view). */
  view?: (visible: Rect) => void
}

const HANDLE_PX = 5
const HIT_PX = 6
/** How far above a rotated box's top edge its rotation handle sits (screen pixels). */
const ROTATE_HANDLE_PX = 22
/** The step a rotation snaps to with Shift held. */
const ROTATE_SNAP = Math.PI / 12
const FREEHAND_PX = 4
/** How long the view must rest before the shape layer is redrawn sharp at the new zoom. */
const LAYER_REST_MS = 120

type Drag =
  | { kind: 'pan'; last: Point }
  | { kind: 'move'; start: Point; originals: Shape[] }
  | { kind: 'vertex'; id: string; index: number; original: Shape }
  | { kind: 'rotate'; id: string; original: Shape }
  | { kind: 'create'; start: Point; now: Point }
  | { kind: 'paint'; last: Point; changed: boolean }
  | { kind: 'freehand'; points: Point[] }

/** Copied shapes, kept across items (one editor per item; the clipboard outlives it). */
let clipboard: Shape[] = []

export class Editor {
  readonly doc = new ShapeDocument()
  readonly stack: CommandStack
  readonly view = new View()
  private readonly ctx: CanvasRenderingContext2D
  private background: Background | null = null
  private paths = new Map<string, { shape: Shape; path: Path2D }>()
  private frame = 0
  private drawnRevision = -1
  private dirty = true
  selected = new Set<string>()
  selectedVertex = -1
  tool: ToolName = 'select'
  classId = ''
  /** The slot new shapes go to (set when the item has several). */
  slot: string | undefined
  private classes = new Map<string, EditorClass>()
  private drag: Drag | null = null
  private draft: Point[] = [] // polygon / line / skeleton clicks so far
  private holeFor: string | null = null
  private pointer: Point = { x: 0, y: 0 }
  private pointers = new Map<number, Point>()
  private pinch: { d: number } | null = null
  private raster: RasterLayer | null = null
  private rasterCanvas: HTMLCanvasElement | null = null
  private rasterShapeId: string | null = null
  private paintLabel = 0
  private paintMaskId: string | null = null
  brushRadius = 12
  /** Draw shapes only inside the image (a video frame: nothing shows past its edges). */
  clipToImage = false
  private readonly cleanup: (() => void)[] = []
  private layer: HTMLCanvasElement | null = null
  private layerView = { scale: 1, tx: 0, ty: 0 }
  private layerTimer: ReturnType<typeof setTimeout> | undefined
  /** The whole layer must be redrawn (a load, a class colour, hidden shapes …). */
  private layerFull = true
  /** Image rectangles of the layer to redraw (where single shapes changed). */
  private dirtyRects: Rect[] = []
  /** Shapes being dragged: drawn live on top of the layer. */
  private live = new Set<string>()
  /** Frames drawn (the benchmark reads it). */
  frames = 0
  lastDrawMs = 0
  /** The view of the last frame drawn, to report changes (events.view). */
  private lastView = ''

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly events: EditorEvents = {},
    private readonly newId: () => string = () => crypto.randomUUID(),
  ) {
    this.ctx = canvas.getContext('2d')!
    this.stack = new CommandStack(this.doc)
    this.cleanup.push(this.doc.onChange((c) => this.onDocChange(c.after, c.before)))
    const on = <K extends keyof HTMLElementEventMap>(type: K, fn: (e: HTMLElementEventMap[K]) => void, opts?: AddEventListenerOptions) => {
      canvas.addEventListener(type, fn as EventListener, opts)
      this.cleanup.push(() => canvas.removeEventListener(type, fn as EventListener))
    }
    on('pointerdown', (e) => this.onDown(e))
    on('pointermove', (e) => this.onMove(e))
    on('pointerup', (e) => this.onUp(e))
    on('pointercancel', (e) => this.onUp(e))
    on('dblclick', () => this.finishDraft())
    on('wheel', (e) => this.onWheel(e), { passive: false })
    on('contextmenu', (e) => e.preventDefault())
  }

  dispose(): void {
    cancelAnimationFrame(this.frame)
    clearTimeout(this.layerTimer)
    this.cleanup.forEach((f) => f())
    this.background?.dispose()
  }

  // --- setup --------------------------------------------------------------------------------

  setClasses(list: EditorClass[]): void {
    this.classes = new Map(list.map((c) => [c.id, c]))
    this.layerFull = true
    if (!this.classes.has(this.classId)) this.classId = list[0]?.id ?? ''
    this.paths.clear()
    this.invalidate()
  }

  setBackground(bg: Background): void {
    this.background?.dispose()
    this.background = bg
    this.resize()
    this.view.fit(bg.width, bg.height)
    this.invalidate()
  }

  get imageSize(): { width: number; height: number } {
    return { width: this.background?.width ?? 0, height: this.background?.height ?? 0 }
  }

  /** Call when the canvas' box changed size. */
  resize(): void {
    const r = this.canvas.getBoundingClientRect()
    const dpr = window.devicePixelRatio || 1
    this.canvas.width = Math.max(1, Math.round(r.width * dpr))
    this.canvas.height = Math.max(1, Math.round(r.height * dpr))
    this.view.width = r.width
    this.view.height = r.height
    this.invalidate()
  }

  // --- drawing ------------------------------------------------------------------------------

  invalidate(): void {
    this.dirty = true
    if (!this.frame) this.frame = requestAnimationFrame(() => this.draw())
  }

  private color(s: Shape): string {
    return this.classes.get(s.class_id)?.color ?? '#888888'
  }

  private path(s: Shape): Path2D {
    const cached = this.paths.get(s.id)
    if (cached && cached.shape === s) return cached.path
    const p = new Path2D()
    switch (kindOf(s)) {
      case 'bounding_box': {
        const b = s.bounding_box!
        p.rect(b.x, b.y, b.w, b.h)
        break
      }
      case 'rotated_box':
        vertices(s)
          .slice(0, 4)
          .forEach((q, i) => (i ? p.lineTo(q.x, q.y) : p.moveTo(q.x, q.y)))
        p.closePath()
        break
      case 'polygon':
        for (const path of s.polygon!.paths) {
          path.forEach((q, i) => (i ? p.lineTo(q.x, q.y) : p.moveTo(q.x, q.y)))
          p.closePath()
        }
        break
      case 'line':
        s.line!.path.forEach((q, i) => (i ? p.lineTo(q.x, q.y) : p.moveTo(q.x, q.y)))
        break
      case 'ellipse': {
        const e = s.ellipse!
        p.ellipse(e.center.x, e.center.y, e.radius.x, e.radius.y, e.angle, 0, Math.PI * 2)
        break
      }
      case 'cuboid': {
        const { front: f, back: b } = s.cuboid!
        p.rect(f.x, f.y, f.w, f.h)
        p.rect(b.x, b.y, b.w, b.h)
        for (const [ax, ay, bx, by] of [
          [f.x, f.y, b.x, b.y],
          [f.x + f.w, f.y, b.x + b.w, b.y],
          [f.x, f.y + f.h, b.x, b.y + b.h],
          [f.x + f.w, f.y + f.h, b.x + b.w, b.y + b.h],
        ] as const) {
          p.moveTo(ax, ay)
          p.lineTo(bx, by)
        }
        break
      }
      case 'skeleton': {
        const nodes = s.skeleton!.nodes
        for (const [a, b] of this.classes.get(s.class_id)?.skeleton?.edges ?? []) {
          const na = nodes[a]
          const nb = nodes[b]
          if (na && nb) {
            p.moveTo(na.x, na.y)
            p.lineTo(nb.x, nb.y)
          }
        }
        break
      }
      default:
        break
    }
    this.paths.set(s.id, { shape: s, path: p })
    return p
  }

  private draw(): void {
    this.frame = 0
    if (!this.dirty) return
    this.dirty = false
    const seen = `${this.view.scale} ${this.view.tx} ${this.view.ty} ${this.view.width} ${this.view.height}`
    if (seen !== this.lastView) {
      this.lastView = seen
      this.events.view?.(this.view.visible())
    }
    const t0 = performance.now()
    const ctx = this.ctx
    const dpr = this.canvas.width / Math.max(1, this.view.width)
    ctx.setTransform(1, 0, 0, 1, 0, 0)
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height)
    const v = this.view
    const scaled = { ...v, scale: v.scale * dpr, tx: v.tx * dpr, ty: v.ty * dpr, visible: () => v.visible() } as View
    this.background?.draw(ctx, scaled)
    ctx.setTransform(scaled.scale, 0, 0, scaled.scale, scaled.tx, scaled.ty)
    if (this.raster && this.rasterCanvas) {
      ctx.imageSmoothingEnabled = false
      ctx.globalAlpha = 0.45
      ctx.drawImage(this.rasterCanvas, 0, 0)
      ctx.globalAlpha = 1
    }
    // the shapes that are not moving come from the layer: redrawn only when they changed, and
    // otherwise stretched and shifted with the view until it rests (then redrawn sharp)
    const L = this.layerView
    if (this.layerFull || !this.layer || this.layer.width !== this.canvas.width || this.layer.height !== this.canvas.height) {
      this.renderLayer(scaled)
    } else {
      if (this.dirtyRects.length) this.patchLayer()
      if (L.scale !== scaled.scale || L.tx !== scaled.tx || L.ty !== scaled.ty) this.scheduleLayer()
    }
    const clip = this.clipToImage && this.background
    if (clip) {
      // shapes (resting and moving) end at the image's edges; handles and drafts do not
      ctx.save()
      ctx.beginPath()
      ctx.rect(0, 0, clip.width, clip.height)
      ctx.clip()
    }
    const k = scaled.scale / L.scale
    ctx.setTransform(k, 0, 0, k, scaled.tx - L.tx * k, scaled.ty - L.ty * k)
    ctx.imageSmoothingEnabled = true
    ctx.drawImage(this.layer!, 0, 0)
    ctx.setTransform(scaled.scale, 0, 0, scaled.scale, scaled.tx, scaled.ty)
    const px = 1 / v.scale // one screen pixel in image pixels
    this.drawShapes(ctx, [...this.live].map((id) => this.doc.get(id)).filter((x): x is Shape => !!x), px)
    if (clip) ctx.restore()
    this.drawSelection(ctx, px)
    this.drawDraft(ctx, px)
    this.frames++
    this.drawnRevision = this.doc.revision
    this.lastDrawMs = performance.now() - t0
  }

  /** Draws the shapes that are not moving, as the view is now, into the layer. */
  private renderLayer(scaled: View): void {
    clearTimeout(this.layerTimer)
    this.layer ??= document.createElement('canvas')
    const c = this.layer
    if (c.width !== this.canvas.width || c.height !== this.canvas.height) {
      c.width = this.canvas.width
      c.height = this.canvas.height
    }
    const ctx = c.getContext('2d')!
    ctx.setTransform(1, 0, 0, 1, 0, 0)
    ctx.clearRect(0, 0, c.width, c.height)
    ctx.setTransform(scaled.scale, 0, 0, scaled.scale, scaled.tx, scaled.ty)
    const shapes = this.doc.inRect(this.view.visible()).filter((s) => !this.live.has(s.id))
    this.drawShapes(ctx, shapes, 1 / this.view.scale)
    this.layerView = { scale: scaled.scale, tx: scaled.tx, ty: scaled.ty }
    this.layerFull = false
    this.dirtyRects = []
  }

  /** Redraws only the dirty rectangles of the layer, at the layer's own transform. */
  private patchLayer(): void {
    const ctx = this.layer!.getContext('2d')!
    const L = this.layerView
    const dpr = this.canvas.width / Math.max(1, this.view.width)
    const margin = (8 * dpr) / L.scale // strokes and point markers reach a few screen pixels out
    for (const r of this.dirtyRects) {
      const x0 = Math.floor((r.x0 - margin) * L.scale + L.tx)
      const y0 = Math.floor((r.y0 - margin) * L.scale + L.ty)
      const x1 = Math.ceil((r.x1 + margin) * L.scale + L.tx)
      const y1 = Math.ceil((r.y1 + margin) * L.scale + L.ty)
      if (x1 < 0 || y1 < 0 || x0 > this.layer!.width || y0 > this.layer!.height) continue
      ctx.save()
      ctx.setTransform(1, 0, 0, 1, 0, 0)
      ctx.beginPath()
      ctx.rect(x0, y0, x1 - x0, y1 - y0)
      ctx.clip()
      ctx.clearRect(x0, y0, x1 - x0, y1 - y0)
      ctx.setTransform(L.scale, 0, 0, L.scale, L.tx, L.ty)
      const area = { x0: (x0 - L.tx) / L.scale, y0: (y0 - L.ty) / L.scale, x1: (x1 - L.tx) / L.scale, y1: (y1 - L.ty) / L.scale }
      this.drawShapes(ctx, this.doc.inRect(area).filter((s) => !this.live.has(s.id)), dpr / L.scale)
      ctx.restore()
    }
    this.dirtyRects = []
  }

  /** Marks where shapes changed, for patchLayer (too many rectangles: redraw it all). */
  private dirtyShapes(shapes: (Shape | null | undefined)[]): void {
    for (const s of shapes) {
      const b = s && bounds(s)
      if (b) this.dirtyRects.push(b)
    }
    if (this.dirtyRects.length > 64) this.layerFull = true
  }

  private scheduleLayer(): void {
    clearTimeout(this.layerTimer)
    this.layerTimer = setTimeout(() => {
      this.layerFull = true
      this.invalidate()
    }, LAYER_REST_MS)
  }

  private drawShapes(ctx: CanvasRenderingContext2D, shapes: Shape[], px: number): void {
    // group by colour: one fill and one stroke style change per class
    const byColor = new Map<string, Shape[]>()
    for (const s of shapes) {
      if (this.doc.state(s.id).hidden) continue
      const c = this.color(s)
      let list = byColor.get(c)
      if (!list) byColor.set(c, (list = []))
      list.push(s)
    }
    ctx.lineJoin = 'miter'
    for (const [color, list] of byColor) {
      ctx.strokeStyle = color
      ctx.fillStyle = color + '33'
      ctx.lineWidth = 1.5 * px
      for (const s of list) {
        const k = kindOf(s)
        if (k === 'keypoint' || k === 'skeleton') {
          if (k === 'skeleton') ctx.stroke(this.path(s))
          ctx.fillStyle = color
          for (const q of vertices(s)) {
            ctx.beginPath()
            ctx.arc(q.x, q.y, 4 * px, 0, Math.PI * 2)
            ctx.fill()
          }
          ctx.fillStyle = color + '33'
          continue
        }
        const p = this.path(s)
        if (k !== 'line') ctx.fill(p, 'evenodd')
        ctx.stroke(p)
      }
    }
  }

  private drawSelection(ctx: CanvasRenderingContext2D, px: number): void {
    ctx.lineWidth = 2 * px
    for (const id of this.selected) {
      const s = this.doc.get(id)
      if (!s) continue
      ctx.strokeStyle = '#ffffff'
      ctx.setLineDash([6 * px, 4 * px])
      if (kindOf(s) !== 'keypoint' && kindOf(s) !== 'skeleton') ctx.stroke(this.path(s))
      ctx.setLineDash([])
      ctx.fillStyle = '#ffffff'
      ctx.strokeStyle = '#1c1f24'
      ctx.lineWidth = 1 * px
      if (s.rotated_box && !this.doc.state(id).locked) {
        // the rotation handle: a round knob on a stem above the middle of the top edge
        const top = vertices(s)[4]!
        const knob = rotationHandle(s.rotated_box, ROTATE_HANDLE_PX * px)
        ctx.strokeStyle = '#ffffff'
        ctx.beginPath()
        ctx.moveTo(top.x, top.y)
        ctx.lineTo(knob.x, knob.y)
        ctx.stroke()
        ctx.strokeStyle = '#1c1f24'
        ctx.beginPath()
        ctx.arc(knob.x, knob.y, (HANDLE_PX / 2 + 1) * px, 0, Math.PI * 2)
        ctx.fill()
        ctx.stroke()
      }
      vertices(s).forEach((q, i) => {
        const h = (i === this.selectedVertex ? HANDLE_PX + 2 : HANDLE_PX) * px
        ctx.fillRect(q.x - h / 2, q.y - h / 2, h, h)
        ctx.strokeRect(q.x - h / 2, q.y - h / 2, h, h)
      })
    }
  }

  private drawDraft(ctx: CanvasRenderingContext2D, px: number): void {
    const color = this.classes.get(this.classId)?.color ?? '#2f5fd0'
    ctx.strokeStyle = color
    ctx.fillStyle = color + '33'
    ctx.lineWidth = 2 * px
    const d = this.drag
    if (d?.kind === 'create') {
      if (this.tool === 'ellipse') {
        ctx.beginPath()
        ctx.ellipse(d.start.x, d.start.y, Math.abs(d.now.x - d.start.x), Math.abs(d.now.y - d.start.y), 0, 0, Math.PI * 2)
        ctx.stroke()
      } else {
        const b = boxFromCorners(d.start, d.now)
        ctx.strokeRect(b.x, b.y, b.w, b.h)
      }
    }
    const pts = d?.kind === 'freehand' ? d.points : this.draft
    if (pts.length) {
      ctx.beginPath()
      pts.forEach((q, i) => (i ? ctx.lineTo(q.x, q.y) : ctx.moveTo(q.x, q.y)))
      if (d?.kind !== 'freehand') ctx.lineTo(this.pointer.x, this.pointer.y)
      ctx.stroke()
      for (const q of pts) ctx.fillRect(q.x - 3 * px, q.y - 3 * px, 6 * px, 6 * px)
    }
    if (this.tool === 'brush' || this.tool === 'eraser') {
      ctx.beginPath()
      ctx.arc(this.pointer.x, this.pointer.y, this.brushRadius, 0, Math.PI * 2)
      ctx.stroke()
    }
  }

  private onDocChange(after: Shape | null, before: Shape | null): void {
    const id = after?.id ?? before?.id
    if (!id) this.layerFull = true
    else if (!this.live.has(id)) this.dirtyShapes([before, after])
    if (id && !after) {
      this.paths.delete(id)
      if (this.selected.delete(id)) this.events.selection?.([...this.selected])
    }
    if (after && after.raster_layer && after.id !== this.rasterShapeId) this.loadRaster(after)
    else if (after?.raster_layer && this.raster) this.loadRaster(after)
    else if (!after && before?.raster_layer) {
      this.raster = null
      this.rasterShapeId = null
    }
    if (!id) {
      this.paths.clear()
      const layer = this.doc.all().find((s) => s.raster_layer)
      if (layer) this.loadRaster(layer)
    }
    this.invalidate()
  }

  // --- raster layer ---------------------------------------------------------------------------

  private loadRaster(layer: Shape): void {
    const { width, height } = this.imageSize
    if (!width || !height || !layer.raster_layer) return
    this.raster = RasterLayer.decode(width, height, layer.raster_layer.dense_rle)
    this.rasterShapeId = layer.id
    this.paintRasterCanvas()
  }

  private paintRasterCanvas(): void {
    const r = this.raster
    if (!r) return
    this.rasterCanvas ??= document.createElement('canvas')
    const c = this.rasterCanvas
    if (c.width !== r.width || c.height !== r.height) {
      c.width = r.width
      c.height = r.height
    }
    const ctx = c.getContext('2d')!
    const img = ctx.createImageData(r.width, r.height)
    const layer = this.rasterShapeId ? this.doc.get(this.rasterShapeId) : undefined
    const colors: number[][] = []
    for (const [maskId, label] of Object.entries(layer?.raster_layer?.mask_annotation_ids_mapping ?? {})) {
      const hex = this.color(this.doc.get(maskId) ?? ({ class_id: '' } as Shape))
      colors[label] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16))
    }
    const d = img.data
    for (let i = 0; i < r.labels.length; i++) {
      const l = r.labels[i]!
      if (!l) continue
      const c3 = colors[l] ?? [255, 0, 255]
      d[i * 4] = c3[0]!
      d[i * 4 + 1] = c3[1]!
      d[i * 4 + 2] = c3[2]!
      d[i * 4 + 3] = 255
    }
    ctx.putImageData(img, 0, 0)
  }

  private rasterClass(): string | undefined {
    return [...this.classes.values()].find((c) => c.types.includes('raster_layer'))?.id
  }

  /** Prepares a stroke: the raster layer and the mask annotation it paints (made on first use). */
  private beginPaint(): boolean {
    const { width, height } = this.imageSize
    const cls = this.classes.get(this.classId)
    if (this.tool === 'brush' && !cls?.types.includes('mask')) {
      this.events.error?.(`The class "${cls?.name ?? '?'}" does not allow masks; pick a mask class first.`)
      return false
    }
    if (!this.rasterClass()) {
      this.events.error?.('Painting masks needs a class with the raster_layer type in this team.')
      return false
    }
    if (width * height > 50_000_000) {
      this.events.error?.('Masks can be painted on images of at most 50 million pixels.')
      return false
    }
    this.raster ??= new RasterLayer(width, height)
    const layer = this.rasterShapeId ? this.doc.get(this.rasterShapeId) : undefined
    const mapping = layer?.raster_layer?.mask_annotation_ids_mapping ?? {}
    const sel = [...this.selected].map((id) => this.doc.get(id)).find((s) => s && kindOf(s) === 'mask')
    if (this.tool === 'eraser') {
      this.paintMaskId = sel?.id ?? null
      this.paintLabel = 0
      return true
    }
    if (sel && mapping[sel.id]) {
      this.paintMaskId = sel.id
      this.paintLabel = mapping[sel.id]!
    } else {
      const used = new Set(Object.values(mapping))
      let label = 1
      while (used.has(label) && label < 255) label++
      this.paintMaskId = null
      this.paintLabel = label
    }
    return true
  }

  /** Ends a stroke: one command updates the raster layer (and adds the new mask annotation). */
  private endPaint(): void {
    const r = this.raster
    if (!r) return
    const layerBefore = this.rasterShapeId ? this.doc.get(this.rasterShapeId) : undefined
    const mapping = { ...(layerBefore?.raster_layer?.mask_annotation_ids_mapping ?? {}) }
    const created: Shape[] = []
    if (this.tool === 'brush' && !this.paintMaskId) {
      const mask: Shape = { id: this.newId(), class_id: this.classId, mask: {}, z: this.doc.maxZ() + 1, ...(this.slot ? { slot: this.slot } : {}) }
      created.push(mask)
      mapping[mask.id] = this.paintLabel
      this.paintMaskId = mask.id
      this.select([mask.id])
    }
    const layer: Shape = {
      ...(layerBefore ?? { id: this.newId(), class_id: this.rasterClass()!, ...(this.slot ? { slot: this.slot } : {}) }),
      raster_layer: { dense_rle: r.encode(), mask_annotation_ids_mapping: mapping, total_pixels: r.width * r.height },
    }
    this.rasterShapeId = layer.id
    this.stack.apply(this.tool === 'brush' ? 'Paint' : 'Erase', [...created, layer])
  }

  // --- input ------------------------------------------------------------------------------------

  private at(e: PointerEvent | WheelEvent): Point {
    const r = this.canvas.getBoundingClientRect()
    return { x: e.clientX - r.left, y: e.clientY - r.top }
  }

  /** The topmost visible, unlocked shape under screen point p. */
  shapeAt(screen: Point): Shape | undefined {
    const p = this.view.toImage(screen)
    const tol = HIT_PX / this.view.scale
    const near = this.doc.inRect({ x0: p.x - tol, y0: p.y - tol, x1: p.x + tol, y1: p.y + tol })
    for (let i = near.length - 1; i >= 0; i--) {
      const s = near[i]!
      const st = this.doc.state(s.id)
      if (!st.hidden && !st.locked && hitTest(s, p, tol)) return s
    }
    return undefined
  }

  private onWheel(e: WheelEvent): void {
    e.preventDefault()
    if (e.shiftKey && this.rotateSelected(e.deltaY > 0 ? 5 : -5)) return
    if (e.ctrlKey || !e.deltaX) this.zoomAt(Math.exp(-e.deltaY * (e.ctrlKey ? 0.01 : 0.0015)), this.at(e))
    else {
      this.view.pan(-e.deltaX, -e.deltaY)
      this.invalidate()
    }
  }

  zoomAt(factor: number, screen?: Point): void {
    this.view.zoomAt(factor, screen ?? { x: this.view.width / 2, y: this.view.height / 2 })
    this.invalidate()
  }

  fit(): void {
    if (this.background) this.view.fit(this.background.width, this.background.height)
    this.invalidate()
  }

  /** Shows the image rectangle r (a deep link to a region: /items/{id}?view=x0,y0,x1,y1). */
  showRect(r: Rect): void {
    this.view.fitRect(r)
    this.invalidate()
  }

  oneToOne(): void {
    this.view.oneToOne()
    this.invalidate()
  }

  private onDown(e: PointerEvent): void {
    this.canvas.setPointerCapture(e.pointerId)
    const sp = this.at(e)
    this.pointers.set(e.pointerId, sp)
    if (this.pointers.size === 2) {
      const [a, b] = [...this.pointers.values()]
      this.pinch = { d: Math.hypot(a!.x - b!.x, a!.y - b!.y) }
      this.drag = null
      return
    }
    const p = this.view.toImage(sp)
    this.pointer = p
    if (e.button === 1 || e.button === 2 || (e.button === 0 && e.altKey && this.tool !== 'select')) {
      this.drag = { kind: 'pan', last: sp }
      return
    }
    switch (this.tool) {
      case 'select':
        return this.downSelect(e, sp, p)
      case 'rotated_box':
        // right after drawing, the box's handles turn and resize it without leaving the tool
        if (this.grabHandle(p, e, (s) => !!s.rotated_box)) return
        this.drag = { kind: 'create', start: p, now: p }
        return
      case 'box':
      case 'ellipse':
      case 'cuboid':
        this.drag = { kind: 'create', start: p, now: p }
        return
      case 'keypoint':
        this.create({ keypoint: { x: p.x, y: p.y } })
        return
      case 'polygon':
        if (this.draft.length === 0 && !e.shiftKey) {
          this.drag = { kind: 'freehand', points: [p] }
          return
        }
        return this.addDraftPoint(p, sp)
      case 'line':
        return this.addDraftPoint(p, sp)
      case 'skeleton':
        return this.addSkeletonNode(p)
      case 'brush':
      case 'eraser':
        if (!this.beginPaint()) return
        this.drag = { kind: 'paint', last: p, changed: this.raster!.disc(p.x, p.y, this.brushRadius, this.paintLabel, this.eraseOnly()) }
        this.paintRasterCanvas()
        this.invalidate()
        return
    }
  }

  private eraseOnly(): number | undefined {
    if (this.tool !== 'eraser' || !this.paintMaskId) return undefined
    const layer = this.rasterShapeId ? this.doc.get(this.rasterShapeId) : undefined
    return layer?.raster_layer?.mask_annotation_ids_mapping[this.paintMaskId]
  }

  /** The drag of the handle of shape s under p: a rotated box's rotation handle, else a vertex; null when none is there. */
  private handleDrag(s: Shape, p: Point): Drag | null {
    const tol = HIT_PX / this.view.scale
    if (s.rotated_box) {
      const knob = rotationHandle(s.rotated_box, ROTATE_HANDLE_PX / this.view.scale)
      if (Math.hypot(knob.x - p.x, knob.y - p.y) <= tol) return { kind: 'rotate', id: s.id, original: s }
    }
    const i = vertexAt(s, p, tol)
    return i >= 0 ? { kind: 'vertex', id: s.id, index: i, original: s } : null
  }

  /** Starts dragging a handle of a selected, unlocked shape that `only` accepts, when p is on one. */
  private grabHandle(p: Point, e: PointerEvent, only: (s: Shape) => boolean = () => true): boolean {
    for (const id of this.selected) {
      const s = this.doc.get(id)
      if (!s || this.doc.state(id).locked || !only(s)) continue
      if (e.altKey) {
        const more = insertVertex(s, p, HIT_PX / this.view.scale)
        if (more) {
          this.stack.apply('Add vertex', [more])
          return true
        }
      }
      const d = this.handleDrag(s, p)
      if (d) {
        if (d.kind === 'vertex') this.selectedVertex = d.index
        else this.canvas.style.cursor = 'grabbing'
        this.drag = d
        this.invalidate()
        return true
      }
    }
    return false
  }

  private downSelect(e: PointerEvent, sp: Point, p: Point): void {
    // a handle of a selected shape first
    if (this.grabHandle(p, e)) return
    const hit = this.shapeAt(sp)
    if (!hit) {
      if (!e.shiftKey) this.select([])
      this.drag = { kind: 'pan', last: sp }
      return
    }
    if (e.shiftKey) {
      const next = new Set(this.selected)
      if (next.has(hit.id)) next.delete(hit.id)
      else next.add(hit.id)
      this.select([...next])
    } else if (!this.selected.has(hit.id)) this.select([hit.id])
    this.selectedVertex = -1
    this.drag = { kind: 'move', start: p, originals: [...this.selected].map((id) => this.doc.get(id)!).filter(Boolean) }
  }

  private onMove(e: PointerEvent): void {
    const sp = this.at(e)
    if (this.pointers.has(e.pointerId)) this.pointers.set(e.pointerId, sp)
    if (this.pinch && this.pointers.size === 2) {
      const [a, b] = [...this.pointers.values()]
      const d = Math.hypot(a!.x - b!.x, a!.y - b!.y)
      this.zoomAt(d / this.pinch.d, { x: (a!.x + b!.x) / 2, y: (a!.y + b!.y) / 2 })
      this.pinch.d = d
      return
    }
    const p = this.view.toImage(sp)
    this.pointer = p
    const d = this.drag
    if (!d) {
      this.setCursor(p)
      if (this.draft.length || this.tool === 'brush' || this.tool === 'eraser') this.invalidate()
      return
    }
    switch (d.kind) {
      case 'pan':
        this.view.pan(sp.x - d.last.x, sp.y - d.last.y)
        d.last = sp
        break
      case 'move': {
        if (!this.live.size) this.setLive(d.originals.map((o) => o.id))
        const dx = p.x - d.start.x
        const dy = p.y - d.start.y
        for (const s of d.originals) this.doc.put(s.id, translate(s, dx, dy))
        break
      }
      case 'vertex':
        if (!this.live.size) this.setLive([d.id])
        this.doc.put(d.id, moveVertex(d.original, d.index, p))
        break
      case 'rotate': {
        if (!this.live.size) this.setLive([d.id])
        const a = angleToward(rotatedCenter(d.original.rotated_box!), p)
        this.doc.put(d.id, withAngle(d.original, normalAngle(a, e.shiftKey ? ROTATE_SNAP : 0)))
        break
      }
      case 'create':
        d.now = p
        break
      case 'freehand': {
        const last = d.points[d.points.length - 1]!
        if (Math.hypot(p.x - last.x, p.y - last.y) * this.view.scale >= FREEHAND_PX) d.points.push(p)
        break
      }
      case 'paint':
        d.changed = this.raster!.stroke(d.last.x, d.last.y, p.x, p.y, this.brushRadius, this.paintLabel, this.eraseOnly()) || d.changed
        d.last = p
        this.paintRasterCanvas()
        break
    }
    this.invalidate()
  }

  /** Shapes drawn live (being dragged) instead of from the layer. */
  private setLive(ids: string[]): void {
    const was = [...this.live]
    this.live = new Set(ids)
    this.dirtyShapes([...was, ...ids].map((id) => this.doc.get(id)))
  }

  private onUp(e: PointerEvent): void {
    this.pointers.delete(e.pointerId)
    if (this.live.size) this.setLive([])
    if (this.pinch) {
      if (this.pointers.size < 2) this.pinch = null
      return
    }
    const d = this.drag
    this.drag = null
    if (!d) return
    switch (d.kind) {
      case 'move': {
        const after = d.originals.map((s) => this.doc.get(s.id)!).filter(Boolean)
        // put the originals back, then record the move as one undoable step
        for (const s of d.originals) this.doc.put(s.id, s)
        if (after.some((s, i) => s !== d.originals[i])) this.stack.apply('Move', after)
        break
      }
      case 'vertex':
      case 'rotate': {
        const after = this.doc.get(d.id)!
        this.doc.put(d.id, d.original)
        if (after !== d.original) this.stack.apply(d.kind === 'rotate' ? 'Rotate' : 'Move vertex', [after])
        if (d.kind === 'rotate') this.setCursor(this.pointer)
        break
      }
      case 'create':
        this.finishDrag(d.start, d.now)
        break
      case 'freehand':
        if (d.points.length >= 3 && this.pathLength(d.points) * this.view.scale > 20) {
          this.draft = d.points
          this.finishDraft()
        } else {
          this.addDraftPoint(d.points[0]!, this.view.toScreen(d.points[0]!))
        }
        break
      case 'paint':
        if (d.changed) this.endPaint()
        break
      default:
        break
    }
    this.invalidate()
  }

  private pathLength(pts: Point[]): number {
    let n = 0
    for (let i = 1; i < pts.length; i++) n += Math.hypot(pts[i]!.x - pts[i - 1]!.x, pts[i]!.y - pts[i - 1]!.y)
    return n
  }

  private finishDrag(a: Point, b: Point): void {
    const minPx = 3 / this.view.scale
    if (Math.abs(a.x - b.x) < minPx && Math.abs(a.y - b.y) < minPx) return
    if (this.tool === 'box') this.create({ bounding_box: boxFromCorners(a, b) })
    else if (this.tool === 'rotated_box') this.create({ rotated_box: { ...boxFromCorners(a, b), angle: 0 } })
    else if (this.tool === 'ellipse') {
      this.create({ ellipse: { center: { x: a.x, y: a.y }, radius: { x: Math.abs(b.x - a.x), y: Math.abs(b.y - a.y) }, angle: 0 } })
    } else if (this.tool === 'cuboid') {
      const front = boxFromCorners(a, b)
      const back = { x: front.x + front.w / 4, y: front.y - front.h / 4, w: front.w, h: front.h }
      this.create({ cuboid: { front, back } })
    }
  }

  private addDraftPoint(p: Point, sp: Point): void {
    const first = this.draft[0]
    if (this.tool === 'polygon' && first && this.draft.length >= 3) {
      const fs = this.view.toScreen(first)
      if (Math.hypot(fs.x - sp.x, fs.y - sp.y) <= HIT_PX * 1.5) return this.finishDraft()
    }
    this.draft.push(p)
    this.hint()
    this.invalidate()
  }

  private addSkeletonNode(p: Point): void {
    const def = this.classes.get(this.classId)?.skeleton
    if (!def) {
      this.events.error?.('This class has no skeleton; pick a skeleton class.')
      return
    }
    this.draft.push(p)
    if (this.draft.length >= def.nodes.length) {
      const nodes: SkeletonNode[] = def.nodes.map((n, i) => ({ name: n.name, x: this.draft[i]!.x, y: this.draft[i]!.y, occluded: false }))
      this.draft = []
      this.create({ skeleton: { nodes } })
    }
    this.hint()
    this.invalidate()
  }

  /** Closes the polygon (or hole) or ends the line being drawn (Enter, double-click). */
  finishDraft(): void {
    const pts = this.draft
    if (this.tool === 'polygon' && pts.length >= 3) {
      this.draft = []
      const owner = this.holeFor ? this.doc.get(this.holeFor) : undefined
      if (owner?.polygon) {
        const withHole = structuredClone(owner)
        withHole.polygon!.paths.push(pts)
        this.stack.apply('Add hole', [withHole])
        this.holeFor = null
        this.select([owner.id])
      } else this.create({ polygon: { paths: [pts] } })
    } else if (this.tool === 'line' && pts.length >= 2) {
      this.draft = []
      this.create({ line: { path: pts } })
    }
    this.hint()
    this.invalidate()
  }

  /** Drops the shape being drawn (Escape); true when there was one. */
  cancelDraft(): boolean {
    const had = this.draft.length > 0 || this.drag !== null || this.holeFor !== null
    this.draft = []
    this.drag = null
    this.holeFor = null
    this.hint()
    this.invalidate()
    return had
  }

  /** Adds a shape of the current class, if the class allows the type. */
  create(geometry: Partial<Shape>): Shape | undefined {
    const cls = this.classes.get(this.classId)
    const type = Object.keys(geometry)[0]!
    if (!cls) {
      this.events.error?.('Create a class for this team first (Classes are listed on the right).')
      return undefined
    }
    if (!cls.types.includes(type)) {
      this.events.error?.(`The class "${cls.name}" does not allow ${type.replace('_', ' ')}; pick another class or tool.`)
      return undefined
    }
    const s: Shape = { id: this.newId(), class_id: cls.id, z: this.doc.maxZ() + 1, ...geometry }
    if (this.slot) s.slot = this.slot
    this.stack.apply(`Add ${type}`, [s])
    this.select([s.id])
    return s
  }

  // --- commands the view calls ---------------------------------------------------------------------

  setTool(tool: ToolName): void {
    this.cancelDraft()
    this.tool = tool
    this.setCursor()
    this.hint()
  }

  /** The tool's cursor, or a hand over the rotation knob of a selected rotated box (at image point p). */
  private setCursor(p?: Point): void {
    const knob = p && [...this.selected].some((id) => {
      const s = this.doc.get(id)
      return !!s?.rotated_box && !this.doc.state(id).locked && this.handleDrag(s, p)?.kind === 'rotate'
    })
    const cursor = knob ? 'grab' : this.tool === 'select' ? 'default' : 'crosshair'
    if (this.canvas.style.cursor !== cursor) this.canvas.style.cursor = cursor
  }

  /** Starts drawing a hole in the selected polygon (the polygon tool's next path). */
  startHole(): boolean {
    const s = [...this.selected].map((id) => this.doc.get(id)).find((x) => x?.polygon)
    if (!s) return false
    this.setTool('polygon')
    this.holeFor = s.id
    this.hint()
    return true
  }

  private hint(): void {
    let h = ''
    if (this.tool === 'polygon') h = this.holeFor ? 'Click the hole\'s points; Enter closes it' : 'Drag to draw freehand, or Shift+click points; Enter or a click on the first point closes'
    else if (this.tool === 'line') h = 'Click points; Enter or double-click ends the line'
    else if (this.tool === 'skeleton') {
      const def = this.classes.get(this.classId)?.skeleton
      h = def ? `Click "${def.nodes[this.draft.length]?.name ?? ''}" (${this.draft.length + 1} of ${def.nodes.length})` : 'Pick a class with a skeleton'
    } else if (this.tool === 'rotated_box') h = 'Drag to draw, then turn it by the knob above its top edge (Shift: 15° steps)'
    else if (this.tool === 'box' || this.tool === 'ellipse' || this.tool === 'cuboid') h = 'Drag to draw'
    else if (this.tool === 'brush' || this.tool === 'eraser') h = `Paint with the pointer; [ and ] change the size (${this.brushRadius} px)`
    else h = 'Click to select, drag to move; Alt+click an edge adds a vertex'
    this.events.tool?.(this.tool, h)
  }

  select(ids: string[]): void {
    this.selected = new Set(ids)
    this.selectedVertex = -1
    this.events.selection?.(ids)
    this.invalidate()
  }

  selectAll(): void {
    this.select(this.doc.all().filter((s) => !this.doc.state(s.id).hidden && bounds(s)).map((s) => s.id))
  }

  deleteSelection(): void {
    if (this.selectedVertex >= 0 && this.selected.size === 1) {
      const s = this.doc.get([...this.selected][0]!)
      const less = s && deleteVertex(s, this.selectedVertex)
      if (less) {
        this.stack.apply('Delete vertex', [less])
        this.selectedVertex = -1
        return
      }
    }
    const ids = [...this.selected].filter((id) => !this.doc.state(id).locked)
    if (!ids.length) return
    const layer = this.rasterShapeId ? this.doc.get(this.rasterShapeId) : undefined
    const masks = ids.filter((id) => this.doc.get(id)?.mask)
    const changed: Shape[] = []
    if (layer?.raster_layer && masks.length && this.raster) {
      // a deleted mask's pixels go too
      const mapping = { ...layer.raster_layer.mask_annotation_ids_mapping }
      for (const id of masks) {
        const label = mapping[id]
        if (label) this.raster.labels.forEach((v, i, a) => v === label && (a[i] = 0))
        delete mapping[id]
      }
      changed.push({ ...layer, raster_layer: { ...layer.raster_layer, dense_rle: this.raster.encode(), mask_annotation_ids_mapping: mapping } })
    }
    this.stack.apply('Delete', changed, ids)
    this.select([])
  }

  nudge(dx: number, dy: number): void {
    const ids = [...this.selected].filter((id) => !this.doc.state(id).locked)
    if (ids.length) this.stack.apply('Move', ids.map((id) => translate(this.doc.get(id)!, dx, dy)))
  }

  /** z-order: +1 brings the selection to the front, −1 sends it to the back. */
  reorder(dir: 1 | -1): void {
    const ids = [...this.selected]
    if (!ids.length) return
    const all = this.doc.all().sort(byZ)
    const base = dir > 0 ? (all.at(-1)?.z ?? 0) + 1 : (all[0]?.z ?? 0) - ids.length
    this.stack.apply(dir > 0 ? 'Bring to front' : 'Send to back', ids.map((id, i) => ({ ...this.doc.get(id)!, z: base + i })))
  }

  /** Turns the selected rotated boxes and ellipses by `degrees` (clockwise); false when none is selected. */
  rotateSelected(degrees: number): boolean {
    const turned = [...this.selected]
      .filter((id) => !this.doc.state(id).locked)
      .map((id) => this.doc.get(id))
      .map((s) => s && angleOf(s) !== null && withAngle(s, angleOf(s)! + (degrees * Math.PI) / 180))
      .filter((s): s is Shape => !!s)
    if (!turned.length) return false
    this.stack.apply('Rotate', turned)
    return true
  }

  setClassOfSelection(classId: string): void {
    const cls = this.classes.get(classId)
    const changed = [...this.selected]
      .map((id) => this.doc.get(id)!)
      .filter((s) => s && cls && cls.types.includes(kindOf(s)))
      .map((s) => {
        const { name: _name, ...rest } = s // Darwin's name is the class's: the server writes it
        return { ...rest, class_id: classId }
      })
    if (changed.length) this.stack.apply('Change class', changed)
  }

  copy(): number {
    clipboard = [...this.selected].map((id) => structuredClone(this.doc.get(id)!)).filter(Boolean)
    return clipboard.length
  }

  /** Pastes copies with new ids (also on another item: the clipboard outlives the item). */
  paste(shapes: Shape[] = clipboard): void {
    if (!shapes.length) return
    const z = this.doc.maxZ()
    const copies = shapes
      .filter((s) => !s.raster_layer && !s.mask)
      .map((s, i) => {
        const c = structuredClone(s)
        delete c.version
        delete c.slot
        return { ...c, id: this.newId(), z: z + 1 + i, ...(this.slot ? { slot: this.slot } : {}) }
      })
    this.stack.apply('Paste', copies)
    this.select(copies.map((c) => c.id))
  }

  get clipboardShapes(): Shape[] {
    return clipboard
  }

  toggleHidden(): void {
    for (const id of this.selected) this.doc.setState(id, { hidden: !this.doc.state(id).hidden })
  }

  toggleLocked(): void {
    for (const id of this.selected) this.doc.setState(id, { locked: !this.doc.state(id).locked })
  }

  undo(): void {
    this.cancelDraft()
    this.stack.undo()
  }

  redo(): void {
    this.stack.redo()
  }

  setBrushRadius(r: number): void {
    this.brushRadius = Math.max(1, Math.min(200, r))
    this.hint()
    this.invalidate()
  }

  /** Redraws every shape on the next frame (the benchmark times it with lastDrawMs). */
  redrawAll(): void {
    this.layerFull = true
    this.invalidate()
  }

  /** For tests and the benchmark: whether everything changed so far has been drawn. */
  get drawn(): boolean {
    return !this.dirty && this.drawnRevision === this.doc.revision
  }
}
