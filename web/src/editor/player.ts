// The video clock: which frame is due now while playing (at a speed), stepping and jumping, and
// honest counts of how playback went. A frame whose pixels are not there when it is due is late:
// the clock stops on the frame shown (a stall) until they arrive, and every such frame is counted.
// The host draws; the player only decides which frame. No DOM beyond the clock passed in.

export interface PlayerHost {
  /** Whether frame n can be drawn now (its pixels are loaded). */
  ready(n: number): boolean
  /** Draw frame n. */
  show(n: number): void
  /** The playhead is at n, moving in `direction`: load what comes next. */
  want(n: number, direction: 1 | -1): void
  /** Playing started or stopped (also at the end of the video). */
  state?(playing: boolean): void
}

export interface PlayerStats {
  /** Frames drawn while playing. */
  shown: number
  /** Frames that were due but not loaded in time. */
  late: number
  /** Times playback stopped for frames, and the time spent so (ms). */
  stalls: number
  stallMs: number
  /** Frames passed over because the screen could not keep up (speed above what it draws). */
  skipped: number
}

export const SPEEDS = [0.25, 0.5, 1, 1.5, 2, 4]

export class Player {
  frame = 0
  playing = false
  speed = 1
  stats: PlayerStats = { shown: 0, late: 0, stalls: 0, stallMs: 0, skipped: 0 }
  private t0 = 0
  private f0 = 0
  private raf = 0
  private stalledAt = 0
  private lateFrame = -1

  constructor(
    private readonly host: PlayerHost,
    readonly frameCount: number,
    readonly fps: number,
    private readonly clock: { now(): number; request(fn: (t: number) => void): number; cancel(id: number): void } = {
      now: () => performance.now(),
      request: (fn) => requestAnimationFrame(fn),
      cancel: (id) => cancelAnimationFrame(id),
    },
  ) {}

  get last(): number {
    return Math.max(0, this.frameCount - 1)
  }

  /** Seconds from the start of the video to frame n (at the video's own rate). */
  time(n = this.frame): number {
    return n / this.fps
  }

  play(): void {
    if (this.playing) return
    if (this.frame >= this.last) this.seek(0)
    this.playing = true
    this.rebase(this.clock.now())
    this.host.state?.(true)
    this.raf = this.clock.request((t) => this.tick(t))
  }

  pause(): void {
    if (!this.playing) return
    this.playing = false
    this.clock.cancel(this.raf)
    if (this.stalledAt) this.stats.stallMs += this.clock.now() - this.stalledAt
    this.stalledAt = 0
    this.host.state?.(false)
  }

  toggle(): void {
    if (this.playing) this.pause()
    else this.play()
  }

  setSpeed(s: number): void {
    this.speed = s
    this.rebase(this.clock.now())
  }

  /** Jumps to frame n (clamped), drawing it as soon as it is loaded. */
  seek(n: number): void {
    const f = Math.max(0, Math.min(this.last, Math.round(n)))
    const direction = f < this.frame ? -1 : 1
    this.frame = f
    this.rebase(this.clock.now())
    this.host.want(f, direction)
    this.host.show(f)
  }

  step(d: number): void {
    this.pause()
    this.seek(this.frame + d)
  }

  private rebase(now: number): void {
    this.t0 = now
    this.f0 = this.frame
  }

  /** One screen refresh while playing: draw the frame due now, or stall on the one shown. */
  tick(now: number): void {
    if (!this.playing) return
    // stalled: the next frame, as soon as it is loaded; else the frame the clock says
    const due = this.stalledAt
      ? Math.min(this.last, this.frame + 1)
      : Math.min(this.last, this.f0 + Math.max(0, Math.floor(((now - this.t0) * this.fps * this.speed) / 1000)))
    this.host.want(due, 1)
    if (due !== this.frame) {
      if (this.host.ready(due)) {
        this.stats.skipped += Math.max(0, due - this.frame - 1)
        this.frame = due
        if (this.stalledAt) {
          this.stats.stallMs += now - this.stalledAt
          this.stalledAt = 0
          this.rebase(now) // on from here, not jumping over what was missed
        }
        this.stats.shown++
        this.host.show(due)
      } else {
        if (!this.stalledAt) {
          this.stats.stalls++
          this.stalledAt = now
        }
        if (this.lateFrame !== due) {
          this.stats.late++
          this.lateFrame = due
        }
      }
    }
    if (this.frame >= this.last) {
      this.pause()
      return
    }
    this.raf = this.clock.request((t) => this.tick(t))
  }
}
