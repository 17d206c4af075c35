import { describe, expect, it } from 'vitest'
import type { Rect, Shape } from '../../src/editor/geometry'
import { View } from '../../src/editor/view'
import { bboxParam, parseRect, ViewportLoader, wantedRect, type ViewportSet } from '../../src/editor/viewport'

const box = (id: string, x: number, y: number): Shape => ({ id, class_id: 'c', bounding_box: { x, y, w: 10, h: 10 } })
const tag: Shape = { id: 'tag', class_id: 'c', tag: {} }
// a 10,000 × 10,000 image with a box every 500 px
const ALL: Shape[] = [tag]
for (let x = 0; x < 10000; x += 500) for (let y = 0; y < 10000; y += 500) ALL.push(box(`b${x}_${y}`, x, y))

function server(calls: Rect[]) {
  return async (r: Rect): Promise<ViewportSet> => {
    calls.push(r)
    const shapes = ALL.filter((s) => !s.bounding_box || (s.bounding_box.x <= r.x1 && r.x0 <= s.bounding_box.x + 10 && s.bounding_box.y <= r.y1 && r.y0 <= s.bounding_box.y + 10))
    return { version: 1, shapes }
  }
}

describe('loading by viewport', () => {
  it('grows the view by the margin, within the image, in whole pixels', () => {
    expect(wantedRect({ x0: 1000.5, y0: 1000, x1: 2000, y1: 1500 }, 10000, 10000, 0.5)).toEqual({ x0: 500, y0: 750, x1: 2500, y1: 1750 })
    expect(wantedRect({ x0: -100, y0: -100, x1: 100, y1: 100 }, 10000, 10000, 0.5)).toEqual({ x0: 0, y0: 0, x1: 200, y1: 200 })
    expect(wantedRect({ x0: 20000, y0: 0, x1: 21000, y1: 10 }, 10000, 10000)).toEqual({ x0: 0, y0: 0, x1: 10000, y1: 10000 })
    expect(bboxParam({ x0: 0, y0: 1, x1: 2, y1: 3 })).toBe('0,1,2,3')
  })

  it('loads around the view once, again only when the view leaves what was loaded', async () => {
    const calls: Rect[] = []
    const got = new Map<string, Shape>()
    const loader = new ViewportLoader(10000, 10000, server(calls), (set) => set.shapes.forEach((s) => got.set(s.id, s)))
    const first = await loader.start({ x0: 1000, y0: 1000, x1: 2000, y1: 2000 })
    first.shapes.forEach((s) => got.set(s.id, s))
    expect(calls).toEqual([{ x0: 500, y0: 500, x1: 2500, y1: 2500 }])
    expect(got.has('tag') && got.has('b1000_1000') && !got.has('b3000_3000')).toBe(true)
    // a small pan stays inside the margin: no request
    await loader.update({ x0: 1200, y0: 1100, x1: 2200, y1: 2100 })
    expect(calls.length).toBe(1)
    // far away: one request for the new place
    await loader.update({ x0: 6000, y0: 6000, x1: 7000, y1: 7000 })
    expect(calls.length).toBe(2)
    expect(got.has('b6500_6500')).toBe(true)
    expect(loader.covers({ x0: 6100, y0: 6100, x1: 6900, y1: 6900 })).toBe(true)
    expect(loader.covers({ x0: 4000, y0: 4000, x1: 4500, y1: 4500 })).toBe(false)
  })

  it('asks once at a time and then for the latest view only', async () => {
    const calls: Rect[] = []
    const loader = new ViewportLoader(10000, 10000, server(calls), () => undefined)
    await loader.start({ x0: 0, y0: 0, x1: 100, y1: 100 })
    const a = loader.update({ x0: 3000, y0: 3000, x1: 3100, y1: 3100 })
    void loader.update({ x0: 5000, y0: 5000, x1: 5100, y1: 5100 })
    void loader.update({ x0: 8000, y0: 8000, x1: 8100, y1: 8100 })
    await a
    await new Promise((r) => setTimeout(r, 0))
    await loader.update({ x0: 8000, y0: 8000, x1: 8100, y1: 8100 })
    expect(calls.map((c) => c.x0)).toEqual([0, 2950, 7950])
  })

  it('keeps, of a whole set, what it would have loaded', async () => {
    const loader = new ViewportLoader(10000, 10000, server([]), () => undefined)
    await loader.start({ x0: 0, y0: 0, x1: 1000, y1: 1000 })
    const ids = loader.withinLoaded(ALL).map((s) => s.id)
    expect(ids).toContain('tag')
    expect(ids).toContain('b1000_1000')
    expect(ids).not.toContain('b2000_2000')
    expect(loader.loadedBounds()).toEqual({ x0: 0, y0: 0, x1: 1500, y1: 1500 })
  })
})

describe('a region in the URL', () => {
  it('parses view=x0,y0,x1,y1 and refuses anything else', () => {
    expect(parseRect('0,10,200.5,300')).toEqual({ x0: 0, y0: 10, x1: 200.5, y1: 300 })
    for (const bad of [undefined, '', '1,2,3', '1,2,3,4,5', '5,0,1,9', '0,0,0,1', 'a,b,c,d', '0,,1,2']) expect(parseRect(bad)).toBeNull()
  })

  it('shows the region centred in the view', () => {
    const v = new View()
    v.width = 1000
    v.height = 500
    v.fitRect({ x0: 2000, y0: 1000, x1: 4000, y1: 2000 }, 0)
    expect(v.scale).toBe(0.5)
    expect(v.visible()).toEqual({ x0: 2000, y0: 1000, x1: 4000, y1: 2000 })
  })
})
