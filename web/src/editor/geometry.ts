// Shapes in image pixels, as the API stores them (Darwin JSON 2.0 members: one geometry key per
// annotation), and the pure geometry the editor needs: bounds, hit tests, moves, vertex edits.
// No DOM, no Vue: everything here is unit-tested under Node.

export interface Point {
  x: number
  y: number
}

export interface Rect {
  x0: number
  y0: number
  x1: number
  y1: number
}

export interface BoxGeom {
  x: number
  y: number
  w: number
  h: number
}

export interface EllipseGeom {
  center: Point
  radius: Point
  angle: number
}

/**
 * A rotated box: the box before rotation (top-left x, y and size w, h) turned by `angle` radians
 * about its centre, positive clockwise on screen (y down), like the ellipse's angle.
 */
export interface RotatedBoxGeom extends BoxGeom {
  angle: number
}

export interface SkeletonNode extends Point {
  name: string
  occluded?: boolean
}

/** The geometry keys the editor draws and edits, in the API's spelling. */
export type Kind = 'bounding_box' | 'rotated_box' | 'polygon' | 'line' | 'keypoint' | 'skeleton' | 'ellipse' | 'cuboid' | 'tag' | 'mask' | 'raster_layer'

export const KINDS: Kind[] = ['bounding_box', 'rotated_box', 'polygon', 'line', 'keypoint', 'skeleton', 'ellipse', 'cuboid', 'tag', 'mask', 'raster_layer']

/** One annotation: the API's object (unknown members kept), with the members the editor uses typed. */
export interface Shape {
  id: string
  class_id: string
  slot?: string
  z?: number
  bounding_box?: BoxGeom
  rotated_box?: RotatedBoxGeom
  polygon?: { paths: Point[][] }
  line?: { path: Point[] }
  keypoint?: Point
  skeleton?: { nodes: SkeletonNode[] }
  ellipse?: EllipseGeom
  cuboid?: { front: BoxGeom; back: BoxGeom }
  tag?: Record<string, unknown>
  mask?: Record<string, unknown>
  raster_layer?: { dense_rle: number[]; mask_annotation_ids_mapping: Record<string, number>; total_pixels: number }
  [member: string]: unknown
}

/** The shape's geometry key; a bounding_box beside another shape is that shape's companion box. */
export function kindOf(s: Shape): Kind {
  for (const k of KINDS) if (k !== 'bounding_box' && s[k] !== undefined) return k
  return 'bounding_box'
}

export function rectOfPoints(points: Point[]): Rect {
  let x0 = Infinity
  let y0 = Infinity
  let x1 = -Infinity
  let y1 = -Infinity
  for (const p of points) {
    if (p.x < x0) x0 = p.x
    if (p.y < y0) y0 = p.y
    if (p.x > x1) x1 = p.x
    if (p.y > y1) y1 = p.y
  }
  return { x0, y0, x1, y1 }
}

function boxPoints(b: BoxGeom): Point[] {
  return [
    { x: b.x, y: b.y },
    { x: b.x + b.w, y: b.y },
    { x: b.x + b.w, y: b.y + b.h },
    { x: b.x, y: b.y + b.h },
  ]
}

/** A box's handles in its own frame (−1 … 1 on each axis): corners in boxPoints order, then the edges' midpoints (top, right, bottom, left). */
const BOX_HANDLES: readonly (readonly [number, number])[] = [
  [-1, -1],
  [1, -1],
  [1, 1],
  [-1, 1],
  [0, -1],
  [1, 0],
  [0, 1],
  [-1, 0],
]

/** The rotated box's centre. */
export function rotatedCenter(r: RotatedBoxGeom): Point {
  return { x: r.x + r.w / 2, y: r.y + r.h / 2 }
}

/** The image point at (u, v) of the rotated box's own frame (origin at its centre, axes along its edges). */
function fromRotated(r: RotatedBoxGeom, u: number, v: number): Point {
  const c = rotatedCenter(r)
  const cos = Math.cos(r.angle)
  const sin = Math.sin(r.angle)
  return { x: c.x + u * cos - v * sin, y: c.y + u * sin + v * cos }
}

/** Image point p in the rotated box's own frame (the inverse of fromRotated). */
function toRotated(r: RotatedBoxGeom, p: Point): Point {
  const c = rotatedCenter(r)
  const cos = Math.cos(r.angle)
  const sin = Math.sin(r.angle)
  const dx = p.x - c.x
  const dy = p.y - c.y
  return { x: dx * cos + dy * sin, y: -dx * sin + dy * cos }
}

/** The rotated box's corners (in boxPoints order, turned) and its edges' midpoints (top, right, bottom, left). */
export function rotatedHandles(r: RotatedBoxGeom): Point[] {
  return BOX_HANDLES.map(([u, v]) => fromRotated(r, (u * r.w) / 2, (v * r.h) / 2))
}

/** Where the rotation handle is: `offset` image pixels above the middle of the box's top edge, turned with the box. */
export function rotationHandle(r: RotatedBoxGeom, offset: number): Point {
  return fromRotated(r, 0, -r.h / 2 - offset)
}

/** The angle that points the rotation handle of a box centred at c toward p, in (−π, π]. */
export function angleToward(c: Point, p: Point): number {
  return Math.atan2(p.x - c.x, c.y - p.y)
}

/** The angle a in (−π, π]; with `step` (radians), snapped to the nearest multiple of it first. */
export function normalAngle(a: number, step = 0): number {
  const snapped = step > 0 ? Math.round(a / step) * step : a
  const r = snapped - 2 * Math.PI * Math.floor((snapped + Math.PI) / (2 * Math.PI))
  return r === -Math.PI ? Math.PI : r
}

/** A copy of a rotated box or an ellipse turned to `angle` (null for other shapes). */
export function withAngle(s: Shape, angle: number): Shape | null {
  const a = normalAngle(angle)
  if (s.rotated_box) return { ...s, rotated_box: { ...s.rotated_box, angle: a } }
  if (s.ellipse) return { ...s, ellipse: { ...s.ellipse, angle: a } }
  return null
}

/** The angle of a rotated box or an ellipse (null for other shapes). */
export function angleOf(s: Shape): number | null {
  return s.rotated_box?.angle ?? s.ellipse?.angle ?? null
}

/** The corners of an ellipse's bounding box, rotation included. */
function ellipseRect(e: EllipseGeom): Rect {
  const c = Math.cos(e.angle)
  const s = Math.sin(e.angle)
  const hw = Math.sqrt((e.radius.x * c) ** 2 + (e.radius.y * s) ** 2)
  const hh = Math.sqrt((e.radius.x * s) ** 2 + (e.radius.y * c) ** 2)
  return { x0: e.center.x - hw, y0: e.center.y - hh, x1: e.center.x + hw, y1: e.center.y + hh }
}

/** Every vertex the user can drag, in order (polygon paths one after another). */
export function vertices(s: Shape): Point[] {
  switch (kindOf(s)) {
    case 'bounding_box': // also a shape with no geometry at all (a video track: its shapes are per frame)
      return s.bounding_box ? boxPoints(s.bounding_box) : []
    case 'polygon':
      return s.polygon!.paths.flat()
    case 'line':
      return s.line!.path
    case 'keypoint':
      return [s.keypoint!]
    case 'skeleton':
      return s.skeleton!.nodes
    case 'rotated_box':
      return rotatedHandles(s.rotated_box!)
    case 'cuboid':
      return [...boxPoints(s.cuboid!.front), ...boxPoints(s.cuboid!.back)]
    case 'ellipse':
      return [s.ellipse!.center]
    default:
      return []
  }
}

/** Bounds in image pixels; null for shapes without geometry (tags, masks, the raster layer). */
export function bounds(s: Shape): Rect | null {
  const k = kindOf(s)
  if (k === 'ellipse') return ellipseRect(s.ellipse!)
  if (k === 'rotated_box') return rectOfPoints(rotatedHandles(s.rotated_box!).slice(0, 4))
  const v = vertices(s)
  return v.length ? rectOfPoints(v) : null
}

export function rectsMeet(a: Rect, b: Rect): boolean {
  return a.x0 <= b.x1 && b.x0 <= a.x1 && a.y0 <= b.y1 && b.y0 <= a.y1
}

/** Distance from p to the segment a–b. */
export function segmentDistance(p: Point, a: Point, b: Point): number {
  const dx = b.x - a.x
  const dy = b.y - a.y
  const len2 = dx * dx + dy * dy
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2))
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy))
}

/** Even-odd point in polygon over all paths: a point inside a hole is outside the shape. */
export function insidePaths(p: Point, paths: Point[][]): boolean {
  let inside = false
  for (const path of paths) {
    for (let i = 0, j = path.length - 1; i < path.length; j = i++) {
      const a = path[i]!
      const b = path[j]!
      if (a.y > p.y !== b.y > p.y && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) inside = !inside
    }
  }
  return inside
}

function nearPath(p: Point, path: Point[], tol: number, closed: boolean): boolean {
  const n = path.length
  for (let i = 0; i < n - (closed ? 0 : 1); i++) {
    if (segmentDistance(p, path[i]!, path[(i + 1) % n]!) <= tol) return true
  }
  return false
}

/** Whether p (image pixels) hits the shape: inside an area, or within `tol` of a line or point. */
export function hitTest(s: Shape, p: Point, tol: number): boolean {
  switch (kindOf(s)) {
    case 'bounding_box': {
      const b = s.bounding_box!
      return p.x >= b.x - tol && p.x <= b.x + b.w + tol && p.y >= b.y - tol && p.y <= b.y + b.h + tol
    }
    case 'rotated_box': {
      const r = s.rotated_box!
      const q = toRotated(r, p)
      return Math.abs(q.x) <= r.w / 2 + tol && Math.abs(q.y) <= r.h / 2 + tol
    }
    case 'polygon':
      return insidePaths(p, s.polygon!.paths) || s.polygon!.paths.some((path) => nearPath(p, path, tol, true))
    case 'line':
      return nearPath(p, s.line!.path, tol, false)
    case 'keypoint':
      return Math.hypot(p.x - s.keypoint!.x, p.y - s.keypoint!.y) <= tol
    case 'skeleton':
      return s.skeleton!.nodes.some((n) => Math.hypot(p.x - n.x, p.y - n.y) <= tol)
    case 'ellipse': {
      const e = s.ellipse!
      const c = Math.cos(-e.angle)
      const sn = Math.sin(-e.angle)
      const dx = p.x - e.center.x
      const dy = p.y - e.center.y
      const u = (dx * c - dy * sn) / Math.max(e.radius.x + tol, 1e-9)
      const v = (dx * sn + dy * c) / Math.max(e.radius.y + tol, 1e-9)
      return u * u + v * v <= 1
    }
    case 'cuboid': {
      const { front, back } = s.cuboid!
      const inBox = (b: BoxGeom) => p.x >= b.x - tol && p.x <= b.x + b.w + tol && p.y >= b.y - tol && p.y <= b.y + b.h + tol
      return inBox(front) || inBox(back)
    }
    default:
      return false
  }
}

function clone<T>(v: T): T {
  return structuredClone(v)
}

/** A copy of the shape moved by (dx, dy). */
export function translate(s: Shape, dx: number, dy: number): Shape {
  const out = clone(s)
  const mv = (p: Point) => {
    p.x += dx
    p.y += dy
  }
  if (out.bounding_box) {
    out.bounding_box.x += dx
    out.bounding_box.y += dy
  }
  switch (kindOf(out)) {
    case 'rotated_box':
      out.rotated_box!.x += dx
      out.rotated_box!.y += dy
      break
    case 'polygon':
      out.polygon!.paths.forEach((path) => path.forEach(mv))
      break
    case 'line':
      out.line!.path.forEach(mv)
      break
    case 'keypoint':
      mv(out.keypoint!)
      break
    case 'skeleton':
      out.skeleton!.nodes.forEach(mv)
      break
    case 'ellipse':
      mv(out.ellipse!.center)
      break
    case 'cuboid':
      for (const b of [out.cuboid!.front, out.cuboid!.back]) {
        b.x += dx
        b.y += dy
      }
      break
    default:
      break
  }
  return out
}

/** The index (in `vertices` order) of the vertex within tol of p, or -1. */
export function vertexAt(s: Shape, p: Point, tol: number): number {
  const v = vertices(s)
  let best = -1
  let bestD = tol
  v.forEach((q, i) => {
    const d = Math.hypot(q.x - p.x, q.y - p.y)
    if (d <= bestD) {
      best = i
      bestD = d
    }
  })
  return best
}

/** A box from two corners, normalised (w, h ≥ 0). */
export function boxFromCorners(a: Point, b: Point): BoxGeom {
  return { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(a.x - b.x), h: Math.abs(a.y - b.y) }
}

/**
 * The rotated box with handle i (rotatedHandles order) at p, resized in its own frame: a corner
 * keeps the opposite corner where it is, an edge the opposite edge; the angle stays.
 */
function resizeRotated(r: RotatedBoxGeom, i: number, p: Point): RotatedBoxGeom {
  const [hu, hv] = BOX_HANDLES[i] ?? [0, 0]
  const q = toRotated(r, p)
  let u0 = -r.w / 2
  let u1 = r.w / 2
  let v0 = -r.h / 2
  let v1 = r.h / 2
  if (hu < 0) u0 = q.x
  if (hu > 0) u1 = q.x
  if (hv < 0) v0 = q.y
  if (hv > 0) v1 = q.y
  const w = Math.abs(u1 - u0)
  const h = Math.abs(v1 - v0)
  const c = fromRotated(r, (u0 + u1) / 2, (v0 + v1) / 2)
  return { x: c.x - w / 2, y: c.y - h / 2, w, h, angle: r.angle }
}

/** A copy with vertex i (in `vertices` order) at p. A box keeps its opposite corner (a rotated box also its opposite edge). */
export function moveVertex(s: Shape, i: number, p: Point): Shape {
  const out = clone(s)
  const k = kindOf(out)
  if (k === 'bounding_box') {
    const corners = boxPoints(out.bounding_box!)
    out.bounding_box = boxFromCorners(corners[(i + 2) % 4]!, p)
    return out
  }
  if (k === 'rotated_box') {
    out.rotated_box = resizeRotated(out.rotated_box!, i, p)
    return out
  }
  if (k === 'ellipse') {
    out.ellipse!.center = { x: p.x, y: p.y }
    return out
  }
  if (k === 'cuboid') {
    const which = i < 4 ? 'front' : 'back'
    const corners = boxPoints(out.cuboid![which])
    out.cuboid![which] = boxFromCorners(corners[(i % 4 + 2) % 4]!, p)
    return out
  }
  const v = vertices(out)
  const q = v[i]
  if (q) {
    q.x = p.x
    q.y = p.y
  }
  return out
}

/** Which polygon path and position a flat vertex index is. */
function pathIndex(paths: Point[][], i: number): [number, number] {
  let rest = i
  for (let pi = 0; pi < paths.length; pi++) {
    const len = paths[pi]!.length
    if (rest < len) return [pi, rest]
    rest -= len
  }
  return [-1, -1]
}

/** A copy without vertex i (polygon paths keep ≥ 3 points, lines ≥ 2); null when it would break the shape. */
export function deleteVertex(s: Shape, i: number): Shape | null {
  const out = clone(s)
  const k = kindOf(out)
  if (k === 'polygon') {
    const [pi, vi] = pathIndex(out.polygon!.paths, i)
    const path = out.polygon!.paths[pi]
    if (!path || path.length <= 3) return null
    path.splice(vi, 1)
    return out
  }
  if (k === 'line') {
    if (out.line!.path.length <= 2) return null
    out.line!.path.splice(i, 1)
    return out
  }
  return null
}

/** A copy with a new vertex on the edge nearest p (polygons and lines); null when none is within tol. */
export function insertVertex(s: Shape, p: Point, tol: number): Shape | null {
  const out = clone(s)
  const k = kindOf(out)
  const paths = k === 'polygon' ? out.polygon!.paths : k === 'line' ? [out.line!.path] : []
  for (const path of paths) {
    const n = path.length
    const closed = k === 'polygon'
    for (let j = 0; j < n - (closed ? 0 : 1); j++) {
      if (segmentDistance(p, path[j]!, path[(j + 1) % n]!) <= tol) {
        path.splice(j + 1, 0, { x: p.x, y: p.y })
        return out
      }
    }
  }
  return null
}

/** Signed area of a closed path (shoelace); its sign tells the winding. */
export function pathArea(path: Point[]): number {
  let a = 0
  for (let i = 0, j = path.length - 1; i < path.length; j = i++) a += (path[j]!.x + path[i]!.x) * (path[j]!.y - path[i]!.y)
  return a / 2
}
