// Uploads files into a dataset: one item per file (its folder kept as the item's path), then the
// file's bytes PUT to the item's slot. At most `parallel` files at a time; a network error retries
// the same file (the item already exists, so nothing is registered twice) with growing pauses, and
// `resume()` restarts whatever failed. No Vue here: the view watches the `onChange` callback.

export interface UploadFile {
  file: Blob
  name: string
  /** Folder inside the dataset: "/" or "/a/b". */
  path: string
}

export type UploadState = 'waiting' | 'registering' | 'uploading' | 'processing' | 'done' | 'failed'

export interface UploadEntry extends UploadFile {
  state: UploadState
  loaded: number
  total: number
  itemId?: string
  error?: string | undefined
  attempts: number
}

/** What the uploader needs from the server; the app passes the API client's implementation. */
export interface UploadTransport {
  createItem(name: string, path: string): Promise<{ id: string }>
  /** PUTs the body, reporting bytes sent; rejects with `retryable` true for a network error. */
  put(itemId: string, body: Blob, onProgress: (loaded: number) => void): Promise<void>
}

export class UploadError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message)
  }
}

export interface UploaderOptions {
  parallel?: number
  maxAttempts?: number
  /** Pause before retry n (1-based), in ms. */
  backoffMs?: (attempt: number) => number
  onChange?: () => void
  sleep?: (ms: number) => Promise<void>
}

export class Uploader {
  readonly entries: UploadEntry[] = []
  private readonly parallel: number
  private readonly maxAttempts: number
  private readonly backoff: (n: number) => number
  private readonly sleep: (ms: number) => Promise<void>
  private active = 0
  private idle: (() => void)[] = []

  constructor(
    private readonly transport: UploadTransport,
    private readonly options: UploaderOptions = {},
  ) {
    this.parallel = options.parallel ?? 4
    this.maxAttempts = options.maxAttempts ?? 5
    this.backoff = options.backoffMs ?? ((n) => Math.min(30_000, 500 * 2 ** (n - 1)))
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)))
  }

  /** Bytes sent over bytes to send, of every file added so far (0..1). */
  get progress(): number {
    const total = this.entries.reduce((s, e) => s + e.total, 0)
    const loaded = this.entries.reduce((s, e) => s + (e.state === 'done' || e.state === 'processing' ? e.total : e.loaded), 0)
    return total === 0 ? 0 : loaded / total
  }

  get running(): boolean {
    return this.active > 0 || this.entries.some((e) => e.state === 'waiting')
  }

  add(files: UploadFile[]): void {
    for (const f of files) this.entries.push({ ...f, state: 'waiting', loaded: 0, total: f.file.size, attempts: 0 })
    this.changed()
    this.pump()
  }

  /** Tries every failed file again. */
  resume(): void {
    for (const e of this.entries) {
      if (e.state === 'failed') {
        e.state = 'waiting'
        e.attempts = 0
        e.error = undefined
      }
    }
    this.changed()
    this.pump()
  }

  /** Forgets the files that are done (their items are ready or failed on the server). */
  clearDone(): void {
    const keep = this.entries.filter((e) => e.state !== 'done')
    this.entries.splice(0, this.entries.length, ...keep)
    this.changed()
  }

  /** Resolves when nothing is waiting or running. */
  whenIdle(): Promise<void> {
    return this.running ? new Promise((r) => this.idle.push(r)) : Promise.resolve()
  }

  /** The server finished processing a file's item. */
  markProcessed(itemId: string): void {
    const e = this.entries.find((x) => x.itemId === itemId)
    if (e && e.state === 'processing') {
      e.state = 'done'
      this.changed()
    }
  }

  private changed(): void {
    this.options.onChange?.()
  }

  private pump(): void {
    while (this.active < this.parallel) {
      const next = this.entries.find((e) => e.state === 'waiting')
      if (!next) break
      this.active++
      next.state = next.itemId ? 'uploading' : 'registering'
      void this.run(next).finally(() => {
        this.active--
        this.changed()
        this.pump()
        if (!this.running) this.idle.splice(0).forEach((r) => r())
      })
    }
  }

  private async run(e: UploadEntry): Promise<void> {
    for (;;) {
      e.attempts++
      try {
        if (!e.itemId) {
          e.state = 'registering'
          this.changed()
          e.itemId = (await this.transport.createItem(e.name, e.path)).id
        }
        e.state = 'uploading'
        e.loaded = 0
        this.changed()
        await this.transport.put(e.itemId, e.file, (loaded) => {
          e.loaded = loaded
          this.changed()
        })
        e.loaded = e.total
        e.state = 'processing'
        return
      } catch (err) {
        const retryable = err instanceof UploadError ? err.retryable : false
        e.error = err instanceof Error ? err.message : String(err)
        if (!retryable || e.attempts >= this.maxAttempts) {
          e.state = 'failed'
          return
        }
        e.state = 'waiting'
        this.changed()
        await this.sleep(this.backoff(e.attempts))
      }
    }
  }
}

/** Files of a drop, folders walked (paths kept: "a/b/c.jpg" becomes name c.jpg in "/a/b"). */
export async function filesOfDrop(items: DataTransferItemList): Promise<UploadFile[]> {
  const out: UploadFile[] = []
  const entries: FileSystemEntry[] = []
  for (const item of Array.from(items)) {
    const entry = item.webkitGetAsEntry?.()
    if (entry) entries.push(entry)
  }
  async function walk(entry: FileSystemEntry, dir: string): Promise<void> {
    if (entry.isFile) {
      const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej))
      out.push({ file, name: file.name, path: dir || '/' })
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader()
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej))
        if (batch.length === 0) break
        for (const child of batch) await walk(child, `${dir}/${entry.name}`)
      }
    }
  }
  for (const e of entries) await walk(e, '')
  return out
}

/** Files from an <input type=file> (webkitRelativePath holds "folder/sub/name" for folders). */
export function filesOfInput(list: FileList): UploadFile[] {
  return Array.from(list).map((file) => {
    const rel = (file as File & { webkitRelativePath?: string }).webkitRelativePath ?? ''
    const dirs = rel.split('/').slice(0, -1)
    return { file, name: file.name, path: dirs.length ? `/${dirs.join('/')}` : '/' }
  })
}
