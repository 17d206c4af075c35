import { describe, expect, it } from 'vitest'
import { frameRect, parseFrameLines, parseWindowLayout, WindowCache, windowsAround } from '../../src/editor/frames'
import { Player } from '../../src/editor/player'

describe('frame windows', () => {
  it('reads the window header and places frames in the sprite', () => {
    const l = parseWindowLayout('from=32; count=16; columns=8; width=640; height=360')
    expect(l).toEqual({ from: 32, count: 16, columns: 8, width: 640, height: 360 })
    expect(frameRect(l, 32)).toEqual({ x: 0, y: 0, w: 640, h: 360 })
    expect(frameRect(l, 41)).toEqual({ x: 640, y: 360, w: 640, h: 360 })
    expect(() => parseWindowLayout('from=1; count=2')).toThrow(/columns/)
  })
  it('asks for the playhead window, those ahead, and one behind', () => {
    expect(windowsAround(20, 16, 100, 2, 1)).toEqual([16, 32, 48, 0])
    expect(windowsAround(20, 16, 100, 2, -1)).toEqual([16, 0, 32])
    expect(windowsAround(90, 16, 100, 3, 1)).toEqual([80, 96, 64])
  })
  it('reads the frames of a vectors answer', () => {
    const m = parseFrameLines('{"version":3}\n{"frame":4,"annotations":[{"id":"a"}]}\n{"frame":5,"annotations":[]}\n')
    expect(m.get(4)).toEqual([{ id: 'a' }])
    expect(m.get(5)).toEqual([])
  })
  it('fetches ahead of the playhead, two at a time, and keeps a bounded number', async () => {
    const asked: number[] = []
    const loaded: number[] = []
    const c = new WindowCache<{ from: number }>(
      async (from) => {
        asked.push(from)
        return { from }
      },
      1000,
      10,
      (from) => loaded.push(from),
      3,
      4,
    )
    c.want(0)
    expect(asked).toEqual([0, 10])
    for (let i = 0; i < 10; i++) await Promise.resolve()
    expect(asked).toEqual([0, 10, 20, 30])
    expect(c.get(5)).toEqual({ from: 0 })
    expect(c.get(25)).toEqual({ from: 20 })
    c.want(100)
    for (let i = 0; i < 20; i++) await Promise.resolve()
    expect(c.get(100)).toEqual({ from: 100 })
    expect(c.get(5)).toBeUndefined() // dropped: far from the playhead
    expect(loaded.length).toBe(asked.length)
  })
})

describe('player', () => {
  function setup(ready: (n: number) => boolean) {
    let now = 0
    let pending: ((t: number) => void) | null = null
    const shown: number[] = []
    const p = new Player({ ready, show: (n) => shown.push(n), want: () => undefined }, 100, 10, {
      now: () => now,
      request: (fn) => {
        pending = fn
        return 1
      },
      cancel: () => (pending = null),
    })
    const advance = (ms: number) => {
      now += ms
      const fn = pending
      pending = null
      fn?.(now)
    }
    return { p, shown, advance }
  }
  it('shows the frame due at each refresh and counts none late when all are loaded', () => {
    const { p, shown, advance } = setup(() => true)
    p.play()
    for (let i = 0; i < 10; i++) advance(100)
    expect(p.frame).toBe(10)
    expect(p.stats).toMatchObject({ shown: 10, late: 0, stalls: 0 })
    expect(shown.at(-1)).toBe(10)
  })
  it('stalls on a frame that is not loaded and counts it late', () => {
    let limit = 5
    const { p, advance } = setup((n) => n <= limit)
    p.play()
    for (let i = 0; i < 8; i++) advance(100)
    expect(p.frame).toBe(5)
    expect(p.stats.stalls).toBe(1)
    expect(p.stats.late).toBeGreaterThan(0)
    limit = 100
    advance(100)
    expect(p.frame).toBe(6) // on from where it stopped, not jumping ahead
    p.pause()
    p.seek(200)
    expect(p.frame).toBe(99)
  })
})
