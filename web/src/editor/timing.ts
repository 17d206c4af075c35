// Video time ↔ frame number, from the slot's frame manifest (GET …/slots/{slot}/manifest,
// docs/MEDIA.md#frame-manifest). The playback renditions keep the source's timestamps, so frame f
// plays (pts[f] − pts[0]) × time_base seconds after the first frame; a <video> element fed the
// renditions reports that time. Watching maps the element's time to the frame shown (for the
// overlay, and to land on that exact frame when annotating resumes); seeking maps a frame to a
// time inside it. Variable frame rates are exact: every frame has its own timestamp. Pure.

import type { FrameManifest, Run } from '../api/types'

/** The values of runs, at most `limit` of them. */
export function expandRuns(runs: Run[], limit: number): number[] {
  const out: number[] = []
  for (const [first, step, count] of runs) {
    for (let i = 0; i < count && out.length < limit; i++) out.push(first + i * step)
  }
  return out
}

/**
 * Where each frame starts in seconds, and the inverse. Timestamps closer than `tolerance` to a
 * frame's start count as that frame (the element's clock is a rounded copy of the timestamps).
 */
export class FrameTimes {
  private readonly starts: Float64Array

  constructor(
    manifest: FrameManifest,
    private readonly tolerance = 1e-3,
  ) {
    const [num, den] = manifest.time_base
    if (!(num > 0 && den > 0)) throw new Error(`the frame manifest's time_base is not a fraction: ${JSON.stringify(manifest.time_base)}`)
    const pts = expandRuns(manifest.pts, manifest.frame_count)
    if (!pts.length) throw new Error('the frame manifest lists no frame')
    this.starts = new Float64Array(pts.length)
    const p0 = pts[0]!
    for (let f = 0; f < pts.length; f++) this.starts[f] = ((pts[f]! - p0) * num) / den
  }

  get count(): number {
    return this.starts.length
  }

  /** When frame f starts (clamped to the video). */
  start(f: number): number {
    return this.starts[this.clamp(f)]!
  }

  /**
   * A time well inside frame f, halfway to the next frame's start (the last frame: half the
   * previous frame's length on): seeking there shows f whatever the element rounds.
   */
  inside(f: number): number {
    const i = this.clamp(f)
    const s = this.starts
    if (i + 1 < s.length) return (s[i]! + s[i + 1]!) / 2
    const last = s.length > 1 ? s[i]! - s[i - 1]! : 1 / 30
    return s[i]! + last / 2
  }

  /** The frame showing at time t: the last one starting at or before t (0 before the first). */
  frameAt(t: number): number {
    const s = this.starts
    const want = t + this.tolerance
    let lo = 0
    let hi = s.length - 1
    if (!(want >= s[0]!)) return 0
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (s[mid]! <= want) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  private clamp(f: number): number {
    return Math.max(0, Math.min(this.starts.length - 1, Math.round(f)))
  }
}
