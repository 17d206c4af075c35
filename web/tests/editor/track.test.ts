import { describe, expect, it } from 'vitest'
import { angleDelta, blend, hiddenFrom, keyframes, merge, movedKeyframe, newTrack, shapeAt, shownFrom, spans, split, visibleAt, withKeyframe, withoutKeyframe, type Track } from '../../src/editor/track'

function box(x: number, y = 0, w = 10, h = 10) {
  return { bounding_box: { x, y, w, h } }
}

function track(extra: Partial<Track> = {}): Track {
  return {
    id: 't',
    class_id: 'c',
    z: 1,
    frames: { '0': { keyframe: true, ...box(0) }, '10': { keyframe: true, ...box(100, 50, 20, 30) } },
    ranges: [[0, 11]],
    hidden_areas: [[6, 8]],
    interpolated: true,
    ...extra,
  }
}

describe('shapeAt', () => {
  it('interpolates between the keyframes around a frame', () => {
    expect(shapeAt(track(), 5)).toEqual({ id: 't', class_id: 'c', z: 1, bounding_box: { x: 50, y: 25, w: 15, h: 20 } })
    expect(shapeAt(track(), 0)!.bounding_box).toEqual({ x: 0, y: 0, w: 10, h: 10 })
  })
  it('holds each keyframe when the track is not interpolated', () => {
    expect(shapeAt(track({ interpolated: false }), 9)!.bounding_box).toEqual({ x: 0, y: 0, w: 10, h: 10 })
    const held = track()
    delete held.interpolated
    expect(shapeAt(held, 9)!.bounding_box!.x).toBe(0)
  })
  it('shows nothing outside the ranges or inside a hidden area', () => {
    expect(shapeAt(track(), 6)).toBeNull()
    expect(shapeAt(track(), 7)).toBeNull()
    expect(shapeAt(track(), 8)).not.toBeNull()
    expect(shapeAt(track(), 11)).toBeNull()
    expect(visibleAt(track(), 3)).toBe(true)
  })
  it('never interpolates across the gap between ranges (the gap rule)', () => {
    const t = track({ ranges: [[0, 3], [8, 11]], hidden_areas: [] })
    expect(shapeAt(t, 2)!.bounding_box!.x).toBe(0) // after the first range's last keyframe: held
    expect(shapeAt(t, 8)!.bounding_box!.x).toBe(100) // before the second range's first: held
    expect(shapeAt(t, 5)).toBeNull()
  })
  it('holds the last keyframe before a range without keyframes', () => {
    const t = track({ ranges: [[0, 11], [20, 30]], hidden_areas: [] })
    expect(shapeAt(t, 25)!.bounding_box!.x).toBe(100)
  })
  it('reads ranges as first to last frame when none are given', () => {
    const t = track()
    delete t.ranges
    delete t.hidden_areas
    expect(spans(t)).toEqual([[0, 11]])
    expect(shapeAt(t, 10)!.bounding_box!.x).toBe(100)
  })
  it('blends arrays of the same length and holds anything else', () => {
    expect(blend([{ x: 0, name: 'a' }], [{ x: 10, name: 'b' }], 0.5)).toEqual([{ x: 5, name: 'a' }])
    expect(blend([1, 2], [1, 2, 3], 0.5)).toEqual([1, 2])
  })
  it('turns a rotated box between keyframes the shorter way round, as the server does', () => {
    const deg = Math.PI / 180
    const rbox = (angle: number) => ({ keyframe: true, rotated_box: { x: 10, y: 20, w: 100, h: 40, angle } })
    // keyframes at 0 and 50 with angles 0 and 90°: frame 25 shows 45°, the box itself unchanged
    const t = track({ frames: { '0': rbox(0), '50': rbox(90 * deg) }, ranges: [[0, 60]], hidden_areas: [] })
    const mid = shapeAt(t, 25)!.rotated_box!
    expect(mid.angle).toBeCloseTo(45 * deg)
    expect({ ...mid, angle: 0 }).toEqual({ x: 10, y: 20, w: 100, h: 40, angle: 0 })
    // 170° to −170° is 20° across ±180°, not 340° back through 0
    const across = track({ frames: { '0': rbox(170 * deg), '10': rbox(-170 * deg) }, ranges: [[0, 11]], hidden_areas: [] })
    expect(shapeAt(across, 5)!.rotated_box!.angle).toBeCloseTo(180 * deg)
    expect(shapeAt(across, 2)!.rotated_box!.angle).toBeCloseTo(174 * deg)
    // ellipses' angles turn the same way; other numbers blend straight
    expect(blend({ angle: -3, x: -3 }, { angle: 3, x: 3 }, 0.5)).toEqual({ angle: expect.closeTo(-3 - (2 * Math.PI - 6) / 2), x: 0 })
  })
  it('measures turns like C remainder(b − a, 2π): the shorter one, a half turn clockwise', () => {
    expect(angleDelta(0, Math.PI / 2)).toBeCloseTo(Math.PI / 2)
    expect(angleDelta(0, (3 * Math.PI) / 2)).toBeCloseTo(-Math.PI / 2)
    expect(angleDelta(0, 2 * Math.PI + 0.25)).toBeCloseTo(0.25)
    expect(angleDelta(0.1, -0.1)).toBeCloseTo(-0.2)
    expect(angleDelta(0, Math.PI)).toBe(Math.PI)
    expect(angleDelta(0, -Math.PI)).toBe(-Math.PI)
    expect(angleDelta(Math.PI / 2, (3 * Math.PI) / 2)).toBe(Math.PI) // a tie goes to the even turn: +π, not −π
  })
})

describe('keyframe edits', () => {
  it('a new track is visible from its frame to the end of the video', () => {
    const t = newTrack({ id: 'n', class_id: 'c', ...box(5) }, 4, 100)
    expect(t.ranges).toEqual([[4, 100]])
    expect(t.frames).toEqual({ '4': { keyframe: true, bounding_box: { x: 5, y: 0, w: 10, h: 10 } } })
    expect(t.bounding_box).toBeUndefined()
    expect(shapeAt(t, 50)!.bounding_box!.x).toBe(5)
  })
  it('sets a keyframe, growing the ranges and unhiding the frame', () => {
    const t = withKeyframe(track(), 7, { id: 't', class_id: 'c', ...box(70) })
    expect(keyframes(t)).toEqual([0, 7, 10])
    expect(t.hidden_areas).toEqual([[6, 7]])
    expect(shapeAt(t, 7)!.bounding_box!.x).toBe(70)
    const later = withKeyframe(track(), 20, { id: 't', class_id: 'c', ...box(1) })
    expect(later.ranges).toEqual([[0, 11], [20, 21]])
  })
  it('deletes a keyframe, and reports the last one', () => {
    expect(keyframes(withoutKeyframe(track(), 10)!)).toEqual([0])
    expect(withoutKeyframe(withoutKeyframe(track(), 10)!, 0)).toBeNull()
  })
  it('moves a keyframe unless the target holds one', () => {
    const t = movedKeyframe(track(), 10, 4)
    expect(keyframes(t)).toEqual([0, 4])
    expect(shapeAt(t, 2)!.bounding_box!.x).toBe(50)
    expect(movedKeyframe(track(), 10, 0)).toEqual(track())
  })
})

describe('split and merge', () => {
  it('splits a track in two that show the same shapes, and merges them back', () => {
    const t = track({ hidden_areas: [] })
    const parts = split(t, 5, 'u')!
    const [a, b] = parts
    expect(a.id).toBe('t')
    expect(b.id).toBe('u')
    expect(a.ranges).toEqual([[0, 5]])
    expect(b.ranges).toEqual([[5, 11]])
    expect(keyframes(a)).toEqual([0, 4])
    expect(keyframes(b)).toEqual([5, 10])
    for (const f of [0, 3, 4]) expect(shapeAt(a, f)!.bounding_box).toEqual(shapeAt(t, f)!.bounding_box)
    for (const f of [5, 7, 10]) expect(shapeAt(b, f)!.bounding_box).toEqual(shapeAt(t, f)!.bounding_box)
    expect(shapeAt(a, 5)).toBeNull()
    const m = merge(a, b)
    expect(m.id).toBe('t')
    expect(m.ranges).toEqual([[0, 11]])
    expect(keyframes(m)).toEqual([0, 4, 5, 10])
    for (const f of [0, 4, 6, 10]) expect(shapeAt(m, f)!.bounding_box!.x).toBeCloseTo(shapeAt(t, f)!.bounding_box!.x)
  })
  it('refuses to split outside the track', () => {
    expect(split(track(), 0, 'u')).toBeNull()
    expect(split(track(), 11, 'u')).toBeNull()
  })
})

describe('hidden areas', () => {
  it('hides from a frame to the end of its range, and shows again from a later frame', () => {
    const t = track({ ranges: [[0, 11], [20, 30]], hidden_areas: [] })
    const hidden = hiddenFrom(t, 3)!
    expect(hidden.hidden_areas).toEqual([[3, 11]])
    expect(shapeAt(hidden, 2)).not.toBeNull()
    expect(shapeAt(hidden, 3)).toBeNull()
    expect(shapeAt(hidden, 20)).not.toBeNull() // the next range is not touched
    const shown = shownFrom(hidden, 5)!
    expect(shown.hidden_areas).toEqual([[3, 5]])
    expect(shapeAt(shown, 4)).toBeNull()
    expect(shapeAt(shown, 5)!.bounding_box!.x).toBe(50)
    expect(shownFrom(hidden, 3)!.hidden_areas).toEqual([]) // shown from where it was hidden: no hidden area left
    expect(t.hidden_areas).toEqual([]) // the edits make new tracks
  })
  it('joins a new hidden area with those it touches', () => {
    expect(hiddenFrom(track({ hidden_areas: [[8, 9]] }), 4)!.hidden_areas).toEqual([[4, 11]])
    const none = track()
    delete none.hidden_areas
    expect(hiddenFrom(none, 10)!.hidden_areas).toEqual([[10, 11]])
  })
  it('refuses what changes nothing', () => {
    expect(hiddenFrom(track(), 6)).toBeNull() // hidden already
    expect(hiddenFrom(track(), 11)).toBeNull() // outside the ranges
    expect(shownFrom(track(), 5)).toBeNull() // not hidden
  })
})
