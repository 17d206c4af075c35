// Watching a video: a <video> element fed the slot's HLS renditions (GET …/hls/master.m3u8, the
// URL the API gives in `playback.master`; segments at the signed URLs the media playlists name)
// through hls.js, or the browser's own HLS where hls.js cannot run (no Media Source Extensions).
// hls.js is loaded on first use only (a dynamic import: its own chunk, so the image editor never
// downloads it). Quality is automatic (hls.js measures the bandwidth) unless one is picked; the
// audio rendition plays with the video. Each frame the element presents is mapped to its frame
// number through the frame manifest (timing.ts) and reported, so the annotations drawn over the
// element follow the picture, and annotating resumes on exactly the frame that was showing.
import type Hls from 'hls.js'
import type { FrameTimes } from './timing'

export interface WatchHost {
  /** Frame n is showing now. */
  frame(n: number): void
  /** Playing started or stopped. */
  state(playing: boolean): void
  /** The qualities became known, or the one playing changed. */
  quality(): void
  /** Playback failed for good (the message says why). */
  error(message: string): void
}

/** A quality to pick: its index in hls.js' levels, and its name ("1080p", "360p"). */
export interface Quality {
  index: number
  name: string
}

/** The elementary facts of a rendition, to name a level by the rendition it is. */
export interface RenditionName {
  name: string
  width: number
  height: number
}

type FrameCallbackVideo = HTMLVideoElement & {
  requestVideoFrameCallback?: (cb: (now: number, meta: { mediaTime: number }) => void) => number
  cancelVideoFrameCallback?: (id: number) => void
}

/** How long without a presented frame before the element's clock says which frame shows. */
const QUIET_MS = 200

export class Watcher {
  /** What plays the renditions. */
  engine: 'hls.js' | 'native' = 'native'
  /** The frame showing (as last presented). */
  frame = 0
  /** Segments loaded (video and audio), for the page's statistics and the browser test. */
  fragments = 0
  fragmentUrls: string[] = []
  /** Frames the element reported presenting, and frames read off its clock instead. */
  presented = 0
  clocked = 0
  private hls: Hls | null = null
  private callback = 0
  private raf = 0
  /** When the element last reported a frame presented (performance.now()). */
  private presentedAt = -Infinity
  private disposed = false
  private readonly off: (() => void)[] = []

  private constructor(
    readonly video: HTMLVideoElement,
    private readonly times: FrameTimes,
    private readonly host: WatchHost,
    private readonly names: RenditionName[],
  ) {}

  /** Starts loading `master` into `video` at frame `from` (paused there). */
  static async open(video: HTMLVideoElement, master: string, times: FrameTimes, host: WatchHost, names: RenditionName[], from: number): Promise<Watcher> {
    const w = new Watcher(video, times, host, names)
    w.frame = times.frameAt(times.start(from))
    const { default: HlsJs } = await import('hls.js')
    const start = times.inside(from)
    if (HlsJs.isSupported()) {
      const hls = new HlsJs({ enableWorker: false, startPosition: start, capLevelToPlayerSize: false })
      w.engine = 'hls.js'
      w.hls = hls
      hls.on(HlsJs.Events.MANIFEST_PARSED, () => host.quality())
      hls.on(HlsJs.Events.LEVEL_SWITCHED, () => host.quality())
      hls.on(HlsJs.Events.FRAG_LOADED, (_e, data) => {
        w.fragments++
        if (w.fragmentUrls.length < 64) w.fragmentUrls.push(data.frag.url)
      })
      let recovered = false
      hls.on(HlsJs.Events.ERROR, (_e, data) => {
        if (!data.fatal) return
        if (!recovered && data.type === HlsJs.ErrorTypes.NETWORK_ERROR) {
          // most likely the signed segment URLs expired: the playlists again name fresh ones
          recovered = true
          hls.loadSource(master)
          hls.startLoad(video.currentTime)
        } else if (!recovered && data.type === HlsJs.ErrorTypes.MEDIA_ERROR) {
          recovered = true
          hls.recoverMediaError()
        } else {
          host.error(`the video cannot be played (${data.details})`)
        }
      })
      hls.loadSource(master)
      hls.attachMedia(video)
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = master
      video.addEventListener('loadedmetadata', () => (video.currentTime = start), { once: true })
    } else {
      throw new Error('this browser plays neither HLS nor Media Source Extensions')
    }
    video.muted = false
    const listen = (type: string, fn: () => void) => {
      video.addEventListener(type, fn)
      w.off.push(() => video.removeEventListener(type, fn))
    }
    listen('play', () => host.state(true))
    listen('pause', () => host.state(false))
    listen('ended', () => host.state(false))
    listen('error', () => host.error(`the video cannot be played (${video.error?.message || `media error ${video.error?.code ?? '?'}`})`))
    w.follow()
    return w
  }

  /**
   * Reports the frame showing: each frame the element presents (its media time, exact), and where
   * no presented frame was reported lately the frame at the element's clock, read at each screen
   * refresh (requestVideoFrameCallback is missing, or, while playing, the compositor presents
   * video frames rarely: a background tab, a headless browser). Paused, the frame last presented
   * stays: the clock may stand a little before it.
   */
  private follow(): void {
    const v = this.video as FrameCallbackVideo
    const seen = (t: number) => {
      const n = this.times.frameAt(t)
      if (n !== this.frame) {
        this.frame = n
        this.host.frame(n)
      }
    }
    const presents = !!v.requestVideoFrameCallback
    if (presents) {
      const next = () => {
        this.callback = v.requestVideoFrameCallback!((_now, meta) => {
          if (this.disposed) return
          this.presented++
          this.presentedAt = performance.now()
          seen(meta.mediaTime)
          next()
        })
      }
      next()
    }
    const tick = () => {
      if (this.disposed) return
      const quiet = !presents || (!v.paused && performance.now() - this.presentedAt > QUIET_MS)
      if (quiet && !v.seeking && v.readyState >= 2) {
        this.clocked++
        seen(v.currentTime)
      }
      this.raf = requestAnimationFrame(tick)
    }
    tick()
  }

  get playing(): boolean {
    return !this.video.paused && !this.video.ended
  }

  play(): void {
    void this.video.play().catch((e: unknown) => {
      // interrupted by a pause or a seek: not an error
      if (!(e instanceof DOMException && e.name === 'AbortError')) this.host.error(e instanceof Error ? e.message : String(e))
    })
  }

  pause(): void {
    this.video.pause()
  }

  toggle(): void {
    if (this.playing) this.pause()
    else this.play()
  }

  /** Shows frame n (the time inside it). */
  seek(n: number): void {
    this.frame = Math.max(0, Math.min(this.times.count - 1, Math.round(n)))
    this.video.currentTime = this.times.inside(this.frame)
    this.host.frame(this.frame)
  }

  setSpeed(s: number): void {
    this.video.playbackRate = s
  }

  /** The qualities to pick from (none when the browser's own HLS plays: it picks itself). */
  qualities(): Quality[] {
    const levels = this.hls?.levels ?? []
    return levels.map((l, index) => ({ index, name: this.nameOf(l.width, l.height) }))
  }

  /** The quality picked (−1: automatic). */
  get picked(): number {
    return this.hls ? this.hls.manualLevel : -1
  }

  /** The quality playing now (−1 while not known). */
  get playingLevel(): number {
    return this.hls?.currentLevel ?? -1
  }

  /**
   * Picks quality `index` of qualities(), or −1 for automatic: from the next segment on (what is
   * buffered plays out; an immediate switch would flush it and leave the picture behind the sound).
   */
  pick(index: number): void {
    if (this.hls) this.hls.nextLevel = index
  }

  /** Whether the renditions have an audio track (hls.js: the alternative audio rendition). */
  get audioTracks(): number {
    return this.hls?.audioTracks.length ?? 0
  }

  private nameOf(width: number, height: number): string {
    return this.names.find((r) => r.width === width && r.height === height)?.name ?? `${Math.min(width, height)}p`
  }

  dispose(): void {
    this.disposed = true
    const v = this.video as FrameCallbackVideo
    v.cancelVideoFrameCallback?.(this.callback)
    cancelAnimationFrame(this.raf)
    this.off.forEach((f) => f())
    this.video.pause()
    this.hls?.destroy()
    this.hls = null
    this.video.removeAttribute('src')
    this.video.load()
  }
}
