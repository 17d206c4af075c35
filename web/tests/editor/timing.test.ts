import { describe, expect, it } from 'vitest'
import { expandRuns, FrameTimes } from '../../src/editor/timing'

describe('video time and frames (the frame manifest)', () => {
  it('expands runs, never past the limit', () => {
    expect(expandRuns([[0, 512, 3], [2000, 100, 2]], 10)).toEqual([0, 512, 1024, 2000, 2100])
    expect(expandRuns([[0, 1, 100]], 4)).toEqual([0, 1, 2, 3])
  })

  it('maps time to the frame showing at a constant rate, from the first pts on', () => {
    // 30 fps in a 1/15360 time base, the first frame at pts 1024 (as after B-frame reordering)
    const t = new FrameTimes({ frame_count: 600, time_base: [1, 15360], pts: [[1024, 512, 600]] })
    expect(t.count).toBe(600)
    expect(t.start(0)).toBe(0)
    expect(t.start(30)).toBeCloseTo(1, 9)
    expect(t.frameAt(0)).toBe(0)
    expect(t.frameAt(1)).toBe(30)
    expect(t.frameAt(1 - 1e-4)).toBe(30) // a rounded copy of frame 30's start is still frame 30
    expect(t.frameAt(1 - 0.01)).toBe(29)
    expect(t.frameAt(1.5)).toBe(45)
    expect(t.frameAt(-3)).toBe(0)
    expect(t.frameAt(999)).toBe(599)
    for (const f of [0, 1, 29, 300, 599]) expect(t.frameAt(t.inside(f))).toBe(f)
  })

  it('is exact at a variable rate', () => {
    // frames 0–2 at 10 fps, then 3–5 at 50 fps (time base 1/1000)
    const t = new FrameTimes({ frame_count: 6, time_base: [1, 1000], pts: [[0, 100, 3], [300, 20, 3]] })
    expect([0, 0.1, 0.2, 0.3, 0.32, 0.34].map((s) => t.frameAt(s))).toEqual([0, 1, 2, 3, 4, 5])
    expect(t.frameAt(0.29)).toBe(2)
    expect(t.frameAt(0.335)).toBe(4)
    expect(t.inside(2)).toBeCloseTo(0.25, 9)
    expect(t.inside(5)).toBeCloseTo(0.35, 9)
    expect(t.start(99)).toBeCloseTo(0.34, 9) // clamped to the last frame
  })

  it('refuses a manifest it cannot read', () => {
    expect(() => new FrameTimes({ frame_count: 1, time_base: [0, 1], pts: [[0, 1, 1]] })).toThrow(/time_base/)
    expect(() => new FrameTimes({ frame_count: 0, time_base: [1, 30], pts: [] })).toThrow(/no frame/)
  })
})
