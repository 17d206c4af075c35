// Frames and vectors loaded ahead of the playhead. A video is read in windows of consecutive
// frames: one request answers a JPEG sprite of `count` exact frames (GET …/slots/{slot}/frames,
// placed by its Loupe-Frame-Window header), and one more the shapes of those frames as the
// server interpolates them (GET …/annotations?slot=&frames=a..b). The player asks for frame n
// when it is due; everything around and ahead of it is already being fetched, so playing and
// scrubbing never wait on the network. Windows far from the playhead are dropped (bounded memory).

/** Where frame from + i lies in a window's sprite: ((i mod columns)·width, ⌊i / columns⌋·height). */
export interface WindowLayout {
  from: number
  count: number
  columns: number
  width: number
  height: number
}

/** Reads the Loupe-Frame-Window header ("from=0; count=16; columns=8; width=640; height=360"). */
export function parseWindowLayout(header: string): WindowLayout {
  const v: Record<string, number> = {}
  for (const part of header.split(';')) {
    const [k, n] = part.split('=').map((x) => x.trim())
    if (k && n !== undefined && /^\d+$/.test(n)) v[k] = Number(n)
  }
  for (const k of ['from', 'count', 'columns', 'width', 'height']) {
    if (v[k] === undefined) throw new Error(`the frame window header has no ${k}: "${header}"`)
  }
  return { from: v.from!, count: v.count!, columns: v.columns!, width: v.width!, height: v.height! }
}

/** The source rectangle of frame n in a window's sprite. */
export function frameRect(l: WindowLayout, n: number): { x: number; y: number; w: number; h: number } {
  const i = n - l.from
  return { x: (i % l.columns) * l.width, y: Math.floor(i / l.columns) * l.height, w: l.width, h: l.height }
}

/** Windows to fetch for playhead n: its own, then `ahead` more in the direction of play. */
export function windowsAround(n: number, size: number, total: number, ahead: number, direction: 1 | -1): number[] {
  const first = Math.floor(n / size) * size
  const out: number[] = []
  for (let i = 0; i <= ahead; i++) {
    const from = first + i * direction * size
    if (from < 0 || from >= total) break
    out.push(from)
  }
  // one behind as well, for stepping back
  const back = first - direction * size
  if (back >= 0 && back < total) out.push(back)
  return out
}

/** A window in memory: its sprite (decoded once) and its layout. */
export interface FrameWindow<I> {
  image: I
  layout: WindowLayout
}

/**
 * A window cache of one video. `fetchWindow(from, count)` answers a window (the app decodes the
 * sprite into an ImageBitmap; the tests pass plain objects). At most `parallel` requests run at
 * once; at most `keep` windows stay (the farthest from the playhead go first).
 */
export class WindowCache<T> {
  private readonly have = new Map<number, T>()
  private readonly pending = new Set<number>()
  private queue: number[] = []
  private playhead = 0
  /** Requests answered and failed, for the page's statistics. */
  loaded = 0
  failed = 0

  constructor(
    private readonly fetchWindow: (from: number, count: number) => Promise<T>,
    readonly total: number,
    readonly size: number,
    private readonly onLoad: (from: number) => void,
    private readonly ahead = 6,
    private readonly keep = 16,
    private readonly parallel = 2,
  ) {}

  /** The window holding frame n, if it is loaded. */
  get(n: number): T | undefined {
    return this.have.get(Math.floor(n / this.size) * this.size)
  }

  /** Whether the window of frame n is loaded or on its way. */
  requested(n: number): boolean {
    const from = Math.floor(n / this.size) * this.size
    return this.have.has(from) || this.pending.has(from)
  }

  /** The playhead is at n, moving in `direction`: fetch what it needs next, nearest first. */
  want(n: number, direction: 1 | -1 = 1): void {
    this.playhead = n
    const wanted = windowsAround(n, this.size, this.total, this.ahead, direction)
    this.queue = wanted.filter((f) => !this.have.has(f) && !this.pending.has(f))
    this.pump()
  }

  /** Forgets every window (the data changed on the server). */
  clear(): void {
    this.have.clear()
    this.queue = []
  }

  private pump(): void {
    while (this.pending.size < this.parallel && this.queue.length) {
      const from = this.queue.shift()!
      const count = Math.min(this.size, this.total - from)
      this.pending.add(from)
      this.fetchWindow(from, count)
        .then((w) => {
          this.have.set(from, w)
          this.loaded++
          this.evict()
          this.onLoad(from)
        })
        .catch(() => {
          this.failed++
        })
        .finally(() => {
          this.pending.delete(from)
          this.pump()
        })
    }
  }

  private evict(): void {
    if (this.have.size <= this.keep) return
    const far = [...this.have.keys()].sort((a, b) => Math.abs(b - this.playhead) - Math.abs(a - this.playhead))
    for (const from of far.slice(0, this.have.size - this.keep)) {
      const w = this.have.get(from) as { image?: { close?: () => void } } | undefined
      w?.image?.close?.()
      this.have.delete(from)
    }
  }
}

/** The shapes of each frame of a vectors window, by frame number (NDJSON lines after the header). */
export function parseFrameLines(text: string): Map<number, Record<string, unknown>[]> {
  const out = new Map<number, Record<string, unknown>[]>()
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    const o = JSON.parse(line) as { frame?: unknown; annotations?: unknown }
    if (typeof o.frame === 'number' && Array.isArray(o.annotations)) out.set(o.frame, o.annotations as Record<string, unknown>[])
  }
  return out
}
