// Video tracks: an annotation of a video slot keeps its shape per keyframe (`frames`), where it is
// visible (`ranges`, [start, end) with the end exclusive) and where it is hidden inside them
// (`hidden_areas`). This module computes the shape a track has on any frame by the server's rules
// (docs/ANNOTATIONS.md: the gap rule; `interpolated` absent holds each keyframe) and makes the
// edits the video editor offers: set, delete and move keyframes, split and merge tracks. Pure: no
// DOM, unit-tested under Node. Shapes are interpolated here only for what is shown while editing;
// the server's interpolation (GET …/annotations?frames=a..b) is the reference.
import type { Shape } from './geometry'

/** One frame of a track: `keyframe` (absent: true) and the frame's geometry and sub-types. */
export interface TrackFrame {
  keyframe?: boolean
  [member: string]: unknown
}

export type Span = [number, number]

/** An annotation with frames (a video or volume annotation). */
export interface Track extends Shape {
  frames: Record<string, TrackFrame>
  ranges?: Span[]
  hidden_areas?: Span[]
  interpolated?: boolean
}

/** The members of a track that are about time, not about the shape on one frame. */
const TIME_MEMBERS = new Set(['frames', 'ranges', 'hidden_areas', 'interpolated'])

export function isTrack(s: Shape): s is Track {
  return typeof s.frames === 'object' && s.frames !== null && !Array.isArray(s.frames)
}

/** The keyframes' numbers, ascending (frames sent with keyframe: false are not keyframes). */
export function keyframes(t: Track): number[] {
  return Object.entries(t.frames)
    .filter(([, f]) => f.keyframe !== false)
    .map(([k]) => Number(k))
    .sort((a, b) => a - b)
}

/** Where the track is visible: its ranges, or (none given) its first to its last frame. */
export function spans(t: Track): Span[] {
  if (t.ranges?.length) return [...t.ranges].sort((a, b) => a[0] - b[0])
  const k = Object.keys(t.frames).map(Number)
  if (!k.length) return []
  return [[Math.min(...k), Math.max(...k) + 1]]
}

function inSpan(f: number, s: Span): boolean {
  return f >= s[0] && f < s[1]
}

/** Whether the track shows on frame f: inside a range and outside every hidden area. */
export function visibleAt(t: Track, f: number): boolean {
  return spans(t).some((s) => inSpan(f, s)) && !(t.hidden_areas ?? []).some((s) => inSpan(f, s))
}

/** b − a as the shorter turn, in [−π, π] (C's remainder(b − a, 2π), as the server turns angles). */
export function angleDelta(a: number, b: number): number {
  const d = b - a
  const q = d / (2 * Math.PI)
  // the nearest whole turn, a tie to the even one (a half turn goes clockwise, as remainder() does)
  const n = Math.abs(q % 1) === 0.5 ? 2 * Math.round(q / 2) : Math.round(q)
  return d - 2 * Math.PI * n
}

/**
 * a and b mixed at u (0 … 1): numbers, and arrays and objects of the same form, are blended; anything
 * else is a's. A member named `angle` (rotated boxes, ellipses) turns the shorter way round.
 */
export function blend(a: unknown, b: unknown, u: number, key = ''): unknown {
  if (typeof a === 'number' && typeof b === 'number') return a + (key === 'angle' ? angleDelta(a, b) : b - a) * u
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length ? a.map((v, i) => blend(v, b[i], u)) : a
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(a)) out[k] = k in b ? blend(v, (b as Record<string, unknown>)[k], u, k) : v
    return out
  }
  return a
}

/** The frame data of f: the keyframes around it in its range, blended or held (the gap rule). */
function frameAt(t: Track, f: number, keys: number[]): TrackFrame | null {
  const span = spans(t).find((s) => inSpan(f, s))
  if (!span) return null
  const inside = keys.filter((k) => inSpan(k, span))
  if (!inside.length) {
    // a range without keyframes holds the last keyframe before it, or the first after it
    const before = keys.filter((k) => k < span[0]).at(-1)
    const k = before ?? keys.find((x) => x >= span[1])
    return k === undefined ? null : t.frames[String(k)]!
  }
  let prev: number | undefined
  let next: number | undefined
  for (const k of inside) {
    if (k <= f) prev = k
    if (k >= f && next === undefined) next = k
  }
  if (prev === undefined) return t.frames[String(next!)]!
  if (next === undefined || next === prev || !t.interpolated) return t.frames[String(prev)]!
  return blend(t.frames[String(prev)], t.frames[String(next)], (f - prev) / (next - prev)) as TrackFrame
}

/** The track without its time members: what a shape of one frame carries beside its geometry. */
function base(t: Track): Shape {
  const out: Shape = { id: t.id, class_id: t.class_id }
  for (const [k, v] of Object.entries(t)) if (!TIME_MEMBERS.has(k)) out[k] = v
  return out
}

/** The shape the track has on frame f (null where it does not show). */
export function shapeAt(t: Track, f: number): Shape | null {
  if (!visibleAt(t, f)) return null
  const data = frameAt(t, f, keyframes(t))
  if (!data) return null
  const { keyframe: _k, ...geometry } = data
  return { ...base(t), ...geometry }
}

/** The geometry and sub-types of a frame's shape (what a keyframe stores). */
export function frameOf(s: Shape): TrackFrame {
  const out: TrackFrame = { keyframe: true }
  for (const [k, v] of Object.entries(s)) {
    if (k === 'id' || k === 'class_id' || k === 'slot' || k === 'z' || k === 'name' || k === 'slot_names' || k === 'version' || k === 'source') continue
    if (TIME_MEMBERS.has(k)) continue
    out[k] = v
  }
  return out
}

/** A new track from the shape drawn on frame f: visible from f to the end of the video. */
export function newTrack(s: Shape, f: number, frameCount: number): Track {
  const t: Track = { ...base(s as Track), frames: { [String(f)]: frameOf(s) }, ranges: [[f, Math.max(f + 1, frameCount)]], interpolated: true }
  for (const k of Object.keys(frameOf(s))) if (k !== 'keyframe') delete t[k]
  return t
}

/** Ranges with span s added (touching or overlapping ranges become one). */
function unite(list: Span[], s: Span): Span[] {
  const all = [...list, s].sort((a, b) => a[0] - b[0])
  const out: Span[] = []
  for (const r of all) {
    const last = out.at(-1)
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1])
    else out.push([r[0], r[1]])
  }
  return out
}

/** t with keyframe f set to the shape s (its ranges grown to show f when they did not). */
export function withKeyframe(t: Track, f: number, s: Shape): Track {
  const out: Track = { ...t, class_id: s.class_id, frames: { ...t.frames, [String(f)]: frameOf(s) } }
  if (s.z !== undefined) out.z = s.z
  if (!spans(t).some((r) => inSpan(f, r))) out.ranges = unite(spans(t), [f, f + 1])
  if (t.hidden_areas?.some((r) => inSpan(f, r))) {
    // showing a shape on a hidden frame unhides that frame
    out.hidden_areas = t.hidden_areas.flatMap((r): Span[] => (inSpan(f, r) ? ([[r[0], f], [f + 1, r[1]]] as Span[]).filter((x) => x[1] > x[0]) : [r]))
  }
  return out
}

/** t without keyframe f; null when f is its only keyframe (the caller deletes the track). */
export function withoutKeyframe(t: Track, f: number): Track | null {
  if (!(String(f) in t.frames)) return t
  const frames = { ...t.frames }
  delete frames[String(f)]
  if (!Object.values(frames).some((x) => x.keyframe !== false)) return null
  return { ...t, frames }
}

/** t with keyframe `from` moved to frame `to` (unchanged when `to` holds a keyframe already). */
export function movedKeyframe(t: Track, from: number, to: number): Track {
  if (from === to || !(String(from) in t.frames) || String(to) in t.frames) return t
  const frames = { ...t.frames }
  frames[String(to)] = frames[String(from)]!
  delete frames[String(from)]
  const out: Track = { ...t, frames }
  if (!spans(t).some((r) => inSpan(to, r))) out.ranges = unite(spans(t), [to, to + 1])
  return out
}

function clip(list: Span[] | undefined, lo: number, hi: number): Span[] {
  return (list ?? []).map((r): Span => [Math.max(r[0], lo), Math.min(r[1], hi)]).filter((r) => r[1] > r[0])
}

/**
 * Splits t at frame f into the track up to f − 1 (keeping t's id) and a new one from f (id
 * `newId`), each with a keyframe where it starts or ends so neither shape changes; null when f
 * is not inside the track (nothing to split).
 */
export function split(t: Track, f: number, newId: string): [Track, Track] | null {
  const all = spans(t)
  if (!all.length || f <= all[0]![0] || f >= all.at(-1)![1]) return null
  const first: Track = { ...t, frames: {}, ranges: clip(all, 0, f), hidden_areas: clip(t.hidden_areas, 0, f) }
  const second: Track = { ...t, id: newId, frames: {}, ranges: clip(all, f, Infinity), hidden_areas: clip(t.hidden_areas, f, Infinity) }
  for (const [k, v] of Object.entries(t.frames)) (Number(k) < f ? first : second).frames[k] = v
  const keys = keyframes(t)
  const hold = (tr: Track, at: number) => {
    if (String(at) in tr.frames) return
    const data = frameAt(t, at, keys)
    if (data) tr.frames[String(at)] = { ...data, keyframe: true }
  }
  hold(first, f - 1)
  hold(second, f)
  if (!t.hidden_areas) {
    delete first.hidden_areas
    delete second.hidden_areas
  }
  if (!keyframes(first).length || !keyframes(second).length) return null
  return [first, second]
}

/** One track from a and b (same class expected): a's members, both tracks' frames (a's win on a shared frame), both ranges. */
export function merge(a: Track, b: Track): Track {
  const out: Track = { ...a, frames: { ...b.frames, ...a.frames }, ranges: spans(b).reduce(unite, spans(a)) }
  const hidden = [...(a.hidden_areas ?? []), ...(b.hidden_areas ?? [])]
  if (hidden.length || a.hidden_areas) out.hidden_areas = hidden.reduce<Span[]>(unite, [])
  return out
}

/**
 * t hidden from frame f to the end of the range f is in (the object left the view): that hidden
 * area joins those there were; null when f is not in a range or is hidden already.
 */
export function hiddenFrom(t: Track, f: number): Track | null {
  const span = spans(t).find((s) => inSpan(f, s))
  if (!span || (t.hidden_areas ?? []).some((h) => inSpan(f, h))) return null
  return { ...t, hidden_areas: unite(t.hidden_areas ?? [], [f, span[1]]) }
}

/** t shown again from frame f on: the hidden area holding f ends at f; null when f is not hidden. */
export function shownFrom(t: Track, f: number): Track | null {
  const areas = t.hidden_areas ?? []
  if (!areas.some((h) => inSpan(f, h))) return null
  return { ...t, hidden_areas: areas.map((h): Span => (inSpan(f, h) ? [h[0], f] : h)).filter((h) => h[1] > h[0]) }
}
