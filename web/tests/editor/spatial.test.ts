import { describe, expect, it } from 'vitest'
import { SpatialIndex } from '../../src/editor/spatial'

describe('SpatialIndex', () => {
  it('finds exactly the rectangles that meet the query, after moves and deletions', () => {
    const idx = new SpatialIndex(64)
    const rects = new Map<string, { x0: number; y0: number; x1: number; y1: number }>()
    let seed = 7
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2000
    for (let i = 0; i < 500; i++) {
      const x = rnd()
      const y = rnd()
      const r = { x0: x, y0: y, x1: x + rnd() / 20, y1: y + rnd() / 20 }
      rects.set(`s${i}`, r)
      idx.set(`s${i}`, r)
    }
    for (let i = 0; i < 100; i++) {
      idx.delete(`s${i}`)
      rects.delete(`s${i}`)
    }
    idx.set('s200', { x0: -500, y0: -500, x1: -400, y1: -400 })
    rects.set('s200', { x0: -500, y0: -500, x1: -400, y1: -400 })
    for (const q of [
      { x0: 0, y0: 0, x1: 300, y1: 300 },
      { x0: 1000, y0: 1000, x1: 1010, y1: 1010 },
      { x0: -600, y0: -600, x1: 5000, y1: 5000 },
      { x0: -450, y0: -450, x1: -450, y1: -450 },
    ]) {
      const want = [...rects].filter(([, r]) => r.x0 <= q.x1 && q.x0 <= r.x1 && r.y0 <= q.y1 && q.y0 <= r.y1).map(([id]) => id)
      expect(idx.search(q).sort()).toEqual(want.sort())
    }
    expect(idx.size).toBe(400)
  })
})
