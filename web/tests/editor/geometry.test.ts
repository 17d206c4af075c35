import { describe, expect, it } from 'vitest'
import {
  bounds,
  deleteVertex,
  hitTest,
  insertVertex,
  kindOf,
  moveVertex,
  translate,
  vertexAt,
  type Shape,
} from '../../src/editor/geometry'

const box: Shape = { id: 'b', class_id: 'c', bounding_box: { x: 10, y: 20, w: 100, h: 50 } }
const square = (x: number, y: number, s: number) => [
  { x, y },
  { x: x + s, y },
  { x: x + s, y: y + s },
  { x, y: y + s },
]
const donut: Shape = { id: 'p', class_id: 'c', polygon: { paths: [square(0, 0, 100), square(25, 25, 50)] } }
const line: Shape = { id: 'l', class_id: 'c', line: { path: [{ x: 0, y: 0 }, { x: 100, y: 0 }, { x: 100, y: 100 }] } }
const ellipse: Shape = { id: 'e', class_id: 'c', ellipse: { center: { x: 50, y: 50 }, radius: { x: 40, y: 10 }, angle: Math.PI / 2 } }
const skeleton: Shape = { id: 's', class_id: 'c', skeleton: { nodes: [{ name: 'head', x: 5, y: 5 }, { name: 'tail', x: 50, y: 60 }] } }

describe('geometry', () => {
  it('names the geometry key, a companion box aside', () => {
    expect(kindOf(box)).toBe('bounding_box')
    expect(kindOf({ ...donut, bounding_box: { x: 0, y: 0, w: 100, h: 100 } })).toBe('polygon')
    expect(kindOf({ id: 't', class_id: 'c', tag: {} })).toBe('tag')
  })

  it('bounds every kind, a rotated ellipse included, and none for a tag', () => {
    expect(bounds(box)).toEqual({ x0: 10, y0: 20, x1: 110, y1: 70 })
    expect(bounds(donut)).toEqual({ x0: 0, y0: 0, x1: 100, y1: 100 })
    const e = bounds(ellipse)!
    expect(e.x0).toBeCloseTo(40)
    expect(e.x1).toBeCloseTo(60)
    expect(e.y0).toBeCloseTo(10)
    expect(e.y1).toBeCloseTo(90)
    expect(bounds({ id: 't', class_id: 'c', tag: {} })).toBeNull()
    // a video track keeps its shapes per frame: nothing at the top level
    expect(bounds({ id: 't', class_id: 'c', frames: { '0': { bounding_box: { x: 0, y: 0, w: 1, h: 1 } } } })).toBeNull()
  })

  it('hit-tests areas, holes (even-odd), lines, points and rotated ellipses', () => {
    expect(hitTest(box, { x: 50, y: 40 }, 0)).toBe(true)
    expect(hitTest(box, { x: 5, y: 40 }, 2)).toBe(false)
    expect(hitTest(box, { x: 9, y: 40 }, 2)).toBe(true)
    expect(hitTest(donut, { x: 10, y: 10 }, 0)).toBe(true)
    expect(hitTest(donut, { x: 50, y: 50 }, 0)).toBe(false) // in the hole
    expect(hitTest(donut, { x: 50, y: 26 }, 2)).toBe(true) // on the hole's edge
    expect(hitTest(line, { x: 50, y: 3 }, 4)).toBe(true)
    expect(hitTest(line, { x: 50, y: 50 }, 4)).toBe(false) // lines are not areas
    expect(hitTest(ellipse, { x: 50, y: 85 }, 0)).toBe(true) // long axis vertical after rotation
    expect(hitTest(ellipse, { x: 85, y: 50 }, 0)).toBe(false)
    expect(hitTest(skeleton, { x: 51, y: 61 }, 3)).toBe(true)
  })

  it('moves shapes and vertices; a box keeps its opposite corner', () => {
    const moved = translate(donut, 5, -5)
    expect(moved.polygon!.paths[1]![0]).toEqual({ x: 30, y: 20 })
    expect(donut.polygon!.paths[1]![0]).toEqual({ x: 25, y: 25 }) // the original is untouched
    const i = vertexAt(box, { x: 111, y: 71 }, 3)
    expect(i).toBe(2)
    expect(moveVertex(box, i, { x: 0, y: 0 }).bounding_box).toEqual({ x: 0, y: 0, w: 10, h: 20 })
    expect(translate(ellipse, 1, 2).ellipse!.center).toEqual({ x: 51, y: 52 })
  })

  it('adds and deletes vertices, never below a valid shape', () => {
    const more = insertVertex(donut, { x: 50, y: 1 }, 3)!
    expect(more.polygon!.paths[0]).toHaveLength(5)
    expect(more.polygon!.paths[0]![1]).toEqual({ x: 50, y: 1 })
    expect(deleteVertex(more, 1)!.polygon!.paths[0]).toHaveLength(4)
    const tri: Shape = { id: 't', class_id: 'c', polygon: { paths: [square(0, 0, 1).slice(0, 3)] } }
    expect(deleteVertex(tri, 0)).toBeNull()
    expect(deleteVertex(line, 1)!.line!.path).toHaveLength(2)
    expect(deleteVertex(deleteVertex(line, 1)!, 0)).toBeNull()
    expect(insertVertex(box, { x: 0, y: 0 }, 5)).toBeNull()
  })
})

import { RasterLayer } from '../../src/editor/raster'

describe('RasterLayer', () => {
  it('paints, erases and round-trips through dense_rle', () => {
    const r = new RasterLayer(20, 10)
    expect(r.encode()).toEqual([0, 200])
    expect(r.stroke(5, 5, 15, 5, 2, 3)).toBe(true)
    const painted = r.count(3)
    expect(painted).toBeGreaterThan(30)
    const rle = r.encode()
    expect(rle.filter((_, i) => i % 2 === 1).reduce((a, b) => a + b, 0)).toBe(200)
    expect(RasterLayer.decode(20, 10, rle).labels).toEqual(r.labels)
    r.disc(5, 5, 3, 0, 3) // the eraser only clears its own label
    expect(r.count(3)).toBeLessThan(painted)
  })
})

import { angleToward, normalAngle, rotatedHandles, rotationHandle, withAngle } from '../../src/editor/geometry'

describe('rotated boxes', () => {
  // 100 × 40 centred at (100, 100), a quarter turn clockwise: it stands 40 wide and 100 tall
  const quarter: Shape = { id: 'r', class_id: 'c', rotated_box: { x: 50, y: 80, w: 100, h: 40, angle: Math.PI / 2 } }
  const close = (p: { x: number; y: number }, x: number, y: number) => {
    expect(p.x).toBeCloseTo(x)
    expect(p.y).toBeCloseTo(y)
  }

  it('is its own kind, with corners turned clockwise on screen about the centre', () => {
    expect(kindOf(quarter)).toBe('rotated_box')
    expect(kindOf({ ...quarter, bounding_box: { x: 80, y: 50, w: 40, h: 100 } })).toBe('rotated_box')
    const [tl, tr, br, bl, top] = rotatedHandles(quarter.rotated_box!)
    // the top-left corner (−50, −20 from the centre) turns to (+20, −50): y down, clockwise
    close(tl!, 120, 50)
    close(tr!, 120, 150)
    close(br!, 80, 150)
    close(bl!, 80, 50)
    close(top!, 120, 100) // the top edge's middle now faces right
    close(rotationHandle(quarter.rotated_box!, 10), 130, 100)
    expect(rotatedHandles({ x: 0, y: 0, w: 10, h: 10, angle: 0 })[0]).toEqual({ x: 0, y: 0 })
  })

  it('bounds the turned corners and hit-tests inside the turned rectangle only', () => {
    const b = bounds(quarter)!
    expect(b.x0).toBeCloseTo(80)
    expect(b.x1).toBeCloseTo(120)
    expect(b.y0).toBeCloseTo(50)
    expect(b.y1).toBeCloseTo(150)
    expect(hitTest(quarter, { x: 100, y: 140 }, 0)).toBe(true) // inside the standing box
    expect(hitTest(quarter, { x: 140, y: 100 }, 0)).toBe(false) // inside the box before turning only
    expect(hitTest(quarter, { x: 122, y: 100 }, 3)).toBe(true) // within the tolerance of an edge
    // 45°: the corner of the axis-aligned bounds is outside the diamond
    const diamond: Shape = { id: 'd', class_id: 'c', rotated_box: { x: 0, y: 0, w: 100, h: 100, angle: Math.PI / 4 } }
    expect(hitTest(diamond, { x: 50, y: 50 }, 0)).toBe(true)
    expect(hitTest(diamond, { x: 0, y: 5 }, 0)).toBe(false)
    expect(hitTest(diamond, { x: 50, y: -19 }, 0)).toBe(true) // the top corner reaches y = 50 − 70.7
  })

  it('moves, and resizes by a corner or an edge in its own frame, keeping the opposite side and the angle', () => {
    expect(translate(quarter, 5, -5).rotated_box).toEqual({ x: 55, y: 75, w: 100, h: 40, angle: Math.PI / 2 })
    // the top-left corner (now at 120, 50) dragged to (130, 30): 10 wider along the box's own y
    // (screen x) and 20 longer along its own x (screen −y); the bottom-right corner stays
    const corner = moveVertex(quarter, 0, { x: 130, y: 30 }).rotated_box!
    expect(corner.w).toBeCloseTo(120)
    expect(corner.h).toBeCloseTo(50)
    expect(corner.angle).toBe(Math.PI / 2)
    close(rotatedHandles(corner)[2]!, 80, 150)
    close(rotatedHandles(corner)[0]!, 130, 30)
    // the right edge's middle (now at 100, 150) dragged along and across the edge: only the length changes
    const edge = moveVertex(quarter, 5, { x: 140, y: 170 }).rotated_box!
    expect(edge.w).toBeCloseTo(120)
    expect(edge.h).toBeCloseTo(40)
    close(rotatedHandles(edge)[7]!, 100, 50) // the left edge stays where it was
    // dragged past the opposite edge: the box flips, its size stays positive
    const flipped = moveVertex(quarter, 4, { x: 60, y: 100 }).rotated_box! // top edge across the bottom one
    expect(flipped.h).toBeCloseTo(20)
    expect(flipped.w).toBeCloseTo(100)
    expect(deleteVertex(quarter, 0)).toBeNull()
    expect(insertVertex(quarter, { x: 120, y: 100 }, 3)).toBeNull()
  })

  it('turns toward the pointer, snaps to a step and keeps angles in (−π, π]', () => {
    const c = { x: 100, y: 100 }
    expect(angleToward(c, { x: 100, y: 0 })).toBeCloseTo(0) // straight up: unturned
    expect(angleToward(c, { x: 200, y: 100 })).toBeCloseTo(Math.PI / 2) // right: a quarter turn clockwise
    expect(angleToward(c, { x: 0, y: 100 })).toBeCloseTo(-Math.PI / 2)
    const step = Math.PI / 12
    expect(normalAngle((47 * Math.PI) / 180, step)).toBeCloseTo(Math.PI / 4) // 47° snaps to 45°
    expect(normalAngle((53 * Math.PI) / 180, step)).toBeCloseTo(Math.PI / 3) // 53° snaps to 60°
    expect(normalAngle(3 * Math.PI)).toBeCloseTo(Math.PI)
    expect(normalAngle(-Math.PI)).toBe(Math.PI)
    expect(normalAngle((-200 * Math.PI) / 180)).toBeCloseTo((160 * Math.PI) / 180)
    expect(withAngle(quarter, 2 * Math.PI + 0.5)!.rotated_box!.angle).toBeCloseTo(0.5)
    expect(withAngle(ellipse, 1)!.ellipse!.angle).toBe(1)
    expect(withAngle(box, 1)).toBeNull()
  })
})
