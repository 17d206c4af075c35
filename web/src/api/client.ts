// The one module through which the UI talks to louped. Components never call fetch themselves.
//
// - Requests go to the same origin with the session cookie (credentials: 'same-origin').
// - Bodies are JSON; answers are decoded against types.ts (decode.ts) before anyone sees them.
// - Every write (POST, PUT, PATCH, DELETE) carries the session's CSRF token in X-CSRF-Token.
//   The client learns the token from the login answer or from GET /api/v1/me and forgets it on
//   sign-out or on any 401.
// - Failures are typed: ApiError (the server answered with an error, as an RFC 9457 problem with
//   field messages), NetworkError (no answer: offline, refused, timed out) and ProtocolError
//   (an answer the UI does not understand, naming the field).

import { DecodeError, decodeProblem, decodeSession } from './decode'
import { decodeList, decodeModel, type ModelName } from './models'
import type {
  AnnotationBatch,
  AnnotationBatchResult,
  AnnotationClass,
  AnnotationSet,
  ApiKey,
  ApiKeyCreated,
  BulkAction,
  BulkResult,
  FrameManifest,
  Dataset,
  FieldError,
  Item,
  ItemFilter,
  ItemsBulk,
  Job,
  LoginRequest,
  Membership,
  Page,
  Problem,
  Session,
  SlotMedia,
  Task,
  Workflow,
  WorkflowBoard,
} from './types'

/** The server refused a request; `problem` holds its RFC 9457 description. */
export class ApiError extends Error {
  readonly status: number
  readonly problem: Problem

  constructor(problem: Problem) {
    super(problem.detail ?? problem.title)
    this.name = 'ApiError'
    this.status = problem.status
    this.problem = problem
  }

  /** Messages about individual inputs, e.g. [{field: "email", message: "is required"}]. */
  get fieldErrors(): FieldError[] {
    return this.problem.errors
  }

  /** The first message about input `field`, or undefined when that input was not refused. */
  fieldMessage(field: string): string | undefined {
    return this.problem.errors.find((e) => e.field === field)?.message
  }
}

/** No answer came back: the server is unreachable, the connection broke, or it timed out. */
export class NetworkError extends Error {
  constructor(method: string, path: string, reason: string) {
    super(`Could not reach the Loupe server (${method} ${path}: ${reason}). Check your connection and try again.`)
    this.name = 'NetworkError'
  }
}

/** The server answered successfully but not in the shape the UI expects. */
export class ProtocolError extends Error {
  /** Path of the offending field in the answer ("" for the body as a whole). */
  readonly field: string

  constructor(method: string, path: string, field: string, problem: string) {
    super(`The server's answer to ${method} ${path} was not understood: ${problem}.`)
    this.name = 'ProtocolError'
    this.field = field
  }
}

export interface ClientOptions {
  /** Prefix for request paths; '' (the default) means the page's own origin. */
  baseUrl?: string
  /** The fetch to use; defaults to the global one. */
  fetch?: typeof fetch
  /** A request that takes longer than this fails with NetworkError (default 30 s). */
  timeoutMs?: number
  /** How the client waits before sending a refused request again (tests pass their own). */
  sleep?: (ms: number) => Promise<void>
}

/** A request the server refuses for load is sent again at most this many times. */
export const RETRIES = 6
const RETRY_WAIT_MAX_MS = 60_000

/**
 * How long to wait before sending again a request answered with `status` and `Retry-After`
 * (seconds, or null), after `attempt` earlier retries; null when it is not sent again. Sent again:
 * 429 (a key past its request rate), and 503 when the server says when to come back (a derived
 * file being prepared); the server's wait, else 1 s doubled per retry, at most 60 s.
 */
export function retryDelayMs(status: number, retryAfter: string | null, attempt: number): number | null {
  const seconds = retryAfter !== null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter.trim()) : null
  if (attempt >= RETRIES || (status !== 429 && !(status === 503 && seconds !== null))) return null
  const ms = seconds !== null && seconds > 0 ? seconds * 1000 : 1000 * 2 ** Math.min(attempt, 6)
  return Math.min(ms, RETRY_WAIT_MAX_MS)
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** A successful answer: the parsed JSON body (undefined when empty) and the response headers. */
interface Answer {
  status: number
  body: unknown
  headers: Headers
}

interface RequestOptions {
  body?: unknown
  headers?: Record<string, string>
}

/** Query parameters of GET /api/v1/items for a filter (status=a,b; metadata[key]=value). */
export function itemQuery(filter: ItemFilter): URLSearchParams {
  const q = new URLSearchParams()
  if (filter.dataset_id) q.set('dataset_id', filter.dataset_id)
  if (filter.path) q.set('path', filter.path)
  if (filter.name_contains) q.set('name_contains', filter.name_contains)
  if (filter.status && filter.status.length) q.set('status', filter.status.join(','))
  if (filter.has_class) q.set('has_class', filter.has_class)
  if (filter.stage) q.set('stage', filter.stage)
  if (filter.state) q.set('state', filter.state)
  for (const [k, v] of Object.entries(filter.metadata ?? {})) q.set(`metadata[${k}]`, v)
  return q
}

const seg = encodeURIComponent

const JSON_TYPES = /^application\/(problem\+)?json\b/i

export class ApiClient {
  private readonly baseUrl: string
  private readonly fetchImpl: typeof fetch
  private readonly timeoutMs: number
  private readonly sleep: (ms: number) => Promise<void>
  private csrf: string | undefined

  constructor(options: ClientOptions = {}) {
    this.baseUrl = options.baseUrl ?? ''
    // Browsers require fetch to be called unbound (this === globalThis); never as a method.
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
    this.timeoutMs = options.timeoutMs ?? 30_000
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)))
  }

  /** The CSRF token the client will send on writes, if it knows one. */
  get csrfToken(): string | undefined {
    return this.csrf
  }

  /** Signs in; on success the browser holds the session cookie. Bad credentials: ApiError 401. */
  async login(credentials: LoginRequest): Promise<Session> {
    const path = '/api/v1/auth/login'
    const body = await this.request('POST', path, { email: credentials.email, password: credentials.password })
    const session = this.decode('POST', path, () => decodeSession(body, 'session'))
    this.csrf = session.csrf_token
    return session
  }

  /** Who is signed in, or null when nobody is (the server answered 401). */
  async me(): Promise<Session | null> {
    const path = '/api/v1/me'
    let body: unknown
    try {
      body = await this.request('GET', path)
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return null
      throw e
    }
    const session = this.decode('GET', path, () => decodeSession(body))
    this.csrf = session.csrf_token
    return session
  }

  /** Signs out. A session that has already ended (401) counts as signed out, not as an error. */
  async logout(): Promise<void> {
    try {
      await this.request('POST', '/api/v1/auth/logout')
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) throw e
    }
    this.csrf = undefined
  }

  // --- resources -------------------------------------------------------------------------

  private async get<T>(path: string, model: ModelName): Promise<T> {
    const body = await this.request('GET', path)
    return this.decode('GET', path, () => decodeModel<T>(model, body))
  }

  private async page<T>(path: string, member: string, model: ModelName): Promise<Page<T>> {
    const body = await this.request('GET', path)
    return this.decode('GET', path, () => {
      const o = body as Record<string, unknown>
      if (typeof o !== 'object' || o === null) throw new DecodeError('', 'an object')
      const next = o.next
      if (next !== null && typeof next !== 'string') throw new DecodeError('next', 'a string or null')
      return { items: decodeList<T>(model, o[member], member), next }
    })
  }

  private async write<T>(method: Method, path: string, body: unknown, model: ModelName): Promise<T> {
    const answer = await this.request(method, path, body)
    return this.decode(method, path, () => decodeModel<T>(model, answer))
  }

  /** Datasets in creation order; pass a page's `next` to read the following page. */
  listDatasets(next?: string | null): Promise<Page<Dataset>> {
    return this.page(next ?? '/api/v1/datasets?page[size]=200', 'datasets', 'Dataset')
  }

  createDataset(name: string): Promise<Dataset> {
    return this.write('POST', '/api/v1/datasets', { name }, 'Dataset')
  }

  getDataset(id: string): Promise<Dataset> {
    return this.get(`/api/v1/datasets/${seg(id)}`, 'Dataset')
  }

  /** Items matching `filter`, `size` a page; `next` (a page's next) continues the same list. */
  listItems(filter: ItemFilter, size = 200, next?: string | null): Promise<Page<Item>> {
    if (next) return this.page(next, 'items', 'Item')
    const q = itemQuery(filter)
    q.set('page[size]', String(size))
    return this.page(`/api/v1/items?${q.toString()}`, 'items', 'Item')
  }

  getItem(id: string): Promise<Item> {
    return this.get(`/api/v1/items/${seg(id)}`, 'Item')
  }

  /** Registers an item with one image slot named `slot` in folder `path`. */
  createItem(datasetId: string, name: string, path: string, slot = '0'): Promise<Item> {
    return this.write('POST', `/api/v1/datasets/${seg(datasetId)}/items`, { name, path, slots: [{ name: slot, type: 'image' }] }, 'Item')
  }

  /** Moves, copies, deletes or updates every item the filter names: a count, or a job to follow. */
  async bulk(action: BulkAction, body: ItemsBulk): Promise<BulkResult> {
    const path = `/api/v1/items/${action}`
    const answer = await this.send('POST', path, { body })
    return this.decode('POST', path, () =>
      answer.status === 202
        ? decodeModel<BulkResult>('JobQueued', answer.body)
        : decodeModel<BulkResult>('ItemsBulkCount', answer.body),
    )
  }

  getJob(id: string): Promise<Job> {
    return this.get(`/api/v1/jobs/${seg(id)}`, 'Job')
  }

  listApiKeys(): Promise<Page<ApiKey>> {
    return this.page('/api/v1/api-keys?page[size]=200', 'items', 'ApiKey')
  }

  createApiKey(name: string): Promise<ApiKeyCreated> {
    return this.write('POST', '/api/v1/api-keys', { name }, 'ApiKeyCreated')
  }

  async revokeApiKey(id: string): Promise<void> {
    await this.request('DELETE', `/api/v1/api-keys/${seg(id)}`)
  }

  listClasses(): Promise<Page<AnnotationClass>> {
    return this.page('/api/v1/classes?page[size]=200', 'classes', 'Class')
  }

  createClass(body: Record<string, unknown>): Promise<AnnotationClass> {
    return this.write('POST', '/api/v1/classes', body, 'Class')
  }

  /**
   * The item's annotation set; with `bbox` ("x0,y0,x1,y1", image pixels) only the annotations that
   * may show in that rectangle, with `slot` only that slot's.
   */
  async getAnnotations(itemId: string, options: { bbox?: string | undefined; slot?: string | undefined } = {}): Promise<AnnotationSet> {
    const q = new URLSearchParams()
    if (options.slot) q.set('slot', options.slot)
    if (options.bbox) q.set('bbox', options.bbox)
    const path = `/api/v1/items/${seg(itemId)}/annotations${q.size ? `?${q.toString()}` : ''}`
    const body = await this.request('GET', path)
    return this.decode('GET', path, () => {
      const set = decodeModel<AnnotationSet>('AnnotationSet', body)
      decodeList('Annotation', set.annotations, 'annotations')
      return set
    })
  }

  /**
   * Applies a batch all or nothing. `version` becomes If-Match (412 when the set changed since);
   * `idempotencyKey` makes a retry of the same batch safe.
   */
  saveAnnotations(itemId: string, batch: AnnotationBatch, version: number, idempotencyKey: string): Promise<AnnotationBatchResult> {
    const path = `/api/v1/items/${seg(itemId)}/annotations/batch`
    return this.send('POST', path, {
      body: batch,
      headers: { 'If-Match': `"${version}"`, 'Idempotency-Key': idempotencyKey },
    }).then((a) => this.decode('POST', path, () => decodeModel<AnnotationBatchResult>('AnnotationBatchResult', a.body)))
  }

  /**
   * PUTs a slot's file with upload progress (XMLHttpRequest: fetch reports none). Rejects with
   * NetworkError when the connection fails (worth a retry), ApiError when the server refuses.
   */
  async putSlotFile(itemId: string, slot: string, body: Blob, onProgress: (loaded: number) => void): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const wait = await this.putOnce(itemId, slot, body, onProgress, attempt)
      if (wait === null) return
      onProgress(0)
      await this.sleep(wait)
    }
  }

  /** One PUT of putSlotFile: resolves null when done, the wait when refused for load. */
  private putOnce(itemId: string, slot: string, body: Blob, onProgress: (loaded: number) => void, attempt: number): Promise<number | null> {
    const url = this.slotFileUrl(itemId, slot)
    const path = url.slice(this.baseUrl.length)
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest()
      xhr.open('PUT', url)
      xhr.withCredentials = true
      xhr.setRequestHeader('Accept', 'application/json, application/problem+json')
      xhr.setRequestHeader('Content-Type', body.type || 'application/octet-stream')
      if (this.csrf !== undefined) xhr.setRequestHeader('X-CSRF-Token', this.csrf)
      xhr.upload.onprogress = (e) => onProgress(e.loaded)
      xhr.onerror = () => reject(new NetworkError('PUT', path, 'the connection failed'))
      xhr.ontimeout = () => reject(new NetworkError('PUT', path, 'timed out'))
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) return resolve(null)
        const wait = retryDelayMs(xhr.status, xhr.getResponseHeader('Retry-After'), attempt)
        if (wait !== null) return resolve(wait)
        let parsed: unknown
        try {
          parsed = JSON.parse(xhr.responseText)
        } catch {
          parsed = undefined
        }
        reject(new ApiError(decodeProblem(parsed, xhr.status, xhr.statusText)))
      }
      xhr.send(body)
    })
  }

  /** The team's workflows; null when this server has no workflows (404: the screens stay hidden). */
  async listWorkflows(): Promise<Page<Workflow> | null> {
    try {
      return await this.page('/api/v1/workflows?page[size]=200', 'workflows', 'Workflow')
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null
      throw e
    }
  }

  getWorkflowBoard(id: string): Promise<WorkflowBoard> {
    return this.get(`/api/v1/workflows/${seg(id)}/board`, 'WorkflowBoard')
  }

  /** The team's members (first 200), e.g. to name who did what in a task's history. */
  listMembers(teamId: string): Promise<Page<Membership>> {
    return this.page(`/api/v1/teams/${seg(teamId)}/members?page[size]=200`, 'items', 'Membership')
  }

  getWorkflow(id: string): Promise<Workflow> {
    return this.get(`/api/v1/workflows/${seg(id)}`, 'Workflow')
  }

  /** Claims the caller's next task on a stage (or returns the one already held); null when none is open (204). */
  async nextTask(workflowId: string, stage: string): Promise<Task | null> {
    const path = `/api/v1/workflows/${seg(workflowId)}/stages/${seg(stage)}/next`
    const answer = await this.send('POST', path)
    if (answer.status === 204) return null
    return this.decode('POST', path, () => decodeModel<Task>('Task', answer.body))
  }

  /** A task with its history, oldest first. */
  async getTask(id: string): Promise<Task> {
    const path = `/api/v1/tasks/${seg(id)}`
    const body = await this.request('GET', path)
    return this.decode('GET', path, () => {
      const task = decodeModel<Task>('Task', body)
      task.history = decodeList('TaskHistoryEntry', (body as { history?: unknown }).history, 'history')
      return task
    })
  }

  /** Acts on a task: submit (annotate), approve or reject (review, reject needs a comment), or set its state. */
  taskAction(id: string, action: 'submit' | 'approve' | 'reject' | 'state', body?: { comment?: string; state?: string }): Promise<Task> {
    return this.write('POST', `/api/v1/tasks/${seg(id)}/${action}`, body, 'Task')
  }

  /** Where a slot's file is PUT (the uploader streams it there with progress). */
  slotFileUrl(itemId: string, slot: string): string {
    return `${this.baseUrl}/api/v1/items/${seg(itemId)}/slots/${seg(slot)}/file`
  }

  /** The slot's thumbnail (a redirect to a signed URL), usable as an <img> src. */
  thumbnailUrl(itemId: string, slot: string): string {
    return `${this.baseUrl}/api/v1/items/${seg(itemId)}/slots/${seg(slot)}/thumbnail`
  }

  /** The slot's web preview, or the original for the editor. */
  mediaUrl(itemId: string, slot: string, kind: 'preview' | 'original'): string {
    return `${this.baseUrl}/api/v1/items/${seg(itemId)}/slots/${seg(slot)}/${kind}`
  }

  /** A volume slot's normalized NIfTI volume (a redirect to a signed URL serving byte ranges). */
  volumeUrl(itemId: string, slot: string): string {
    return `${this.baseUrl}/api/v1/items/${seg(itemId)}/slots/${seg(slot)}/volume`
  }

  async getSlotMedia(itemId: string, slot: string): Promise<SlotMedia> {
    const path = `/api/v1/items/${seg(itemId)}/slots/${seg(slot)}/media`
    const media = await this.get<SlotMedia>(path, 'SlotMedia')
    if (media.playback) this.decode('GET', path, () => decodeModel('SlotPlayback', media.playback, 'playback'))
    return media
  }

  /** A ready video's frame manifest (every frame's pts, as runs): immutable, cached by the browser. */
  getFrameManifest(itemId: string, slot: string): Promise<FrameManifest> {
    return this.get(`/api/v1/items/${seg(itemId)}/slots/${seg(slot)}/manifest`, 'FrameManifest')
  }

  /** The DeepZoom descriptor (XML text) of a slot's pyramid. */
  async getTileDescriptor(itemId: string, slot: string): Promise<string> {
    return (await this.raw(`/api/v1/items/${seg(itemId)}/slots/${seg(slot)}/tiles/image.dzi`)).text()
  }

  /**
   * Frames from … from + count − 1 of a video slot in one JPEG sprite, each fitted into size × size,
   * and where each frame lies in it (the Loupe-Frame-Window header).
   */
  async getFrameWindow(itemId: string, slot: string, from: number, count: number, size: number): Promise<{ sprite: Blob; layout: string }> {
    const q = new URLSearchParams({ from: String(from), count: String(count), size: String(size) })
    const path = `/api/v1/items/${seg(itemId)}/slots/${seg(slot)}/frames?${q.toString()}`
    const response = await this.raw(path)
    const layout = response.headers.get('Loupe-Frame-Window')
    if (!layout) throw new ProtocolError('GET', path, '', 'the answer has no Loupe-Frame-Window header')
    return { sprite: await response.blob(), layout }
  }

  /** The shapes on frames a … b of a slot as the server interpolates them (NDJSON text: a header line, then a line per frame). */
  async getAnnotationFrames(itemId: string, slot: string, a: number, b: number): Promise<string> {
    const q = new URLSearchParams({ slot, frames: `${a}..${b}` })
    return (await this.raw(`/api/v1/items/${seg(itemId)}/annotations?${q.toString()}`)).text()
  }

  /** A GET whose successful answer is not JSON: the response, or ApiError / NetworkError. */
  private async raw(path: string): Promise<Response> {
    let response: Response
    try {
      response = await this.fetchRetrying(path, () => ({ credentials: 'same-origin', signal: AbortSignal.timeout(this.timeoutMs) }))
    } catch (e) {
      throw new NetworkError('GET', path, e instanceof Error ? e.message : String(e))
    }
    if (!response.ok) {
      const text = await response.text().catch(() => '')
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        parsed = undefined
      }
      throw new ApiError(decodeProblem(parsed, response.status, response.statusText))
    }
    return response
  }

  /** One DeepZoom tile of a slot's pyramid. */
  tileUrl(itemId: string, slot: string, level: number, col: number, row: number, format: 'jpeg' | 'webp'): string {
    const ext = format === 'webp' ? 'webp' : 'jpg'
    return `${this.baseUrl}/api/v1/items/${seg(itemId)}/slots/${seg(slot)}/tiles/image_files/${level}/${col}_${row}.${ext}`
  }

  private decode<T>(method: Method, path: string, fn: () => T): T {
    try {
      return fn()
    } catch (e) {
      if (e instanceof DecodeError) throw new ProtocolError(method, path, e.field, e.message)
      throw e
    }
  }

  /**
   * Sends one request and returns the parsed JSON answer (undefined for an empty one).
   * Throws ApiError for 4xx/5xx, NetworkError when no complete answer arrives, ProtocolError
   * for a successful answer that is not JSON.
   */
  private async request(method: Method, path: string, body?: unknown): Promise<unknown> {
    return (await this.send(method, path, { body })).body
  }

  /**
   * fetch, sent again (with a fresh init: its own timeout) while the server refuses it for load
   * (retryDelayMs); the last answer, whatever it is, goes back to the caller.
   */
  private async fetchRetrying(path: string, init: () => RequestInit): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const response = await this.fetchImpl(this.baseUrl + path, init())
      const wait = retryDelayMs(response.status, response.headers.get('Retry-After'), attempt)
      if (wait === null) return response
      await response.body?.cancel().catch(() => undefined)
      await this.sleep(wait)
    }
  }

  private async send(method: Method, path: string, options: RequestOptions = {}): Promise<Answer> {
    const body = options.body
    const headers: Record<string, string> = {
      Accept: 'application/json, application/problem+json',
      ...options.headers,
    }
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    if (method !== 'GET' && this.csrf !== undefined) headers['X-CSRF-Token'] = this.csrf

    const json = body !== undefined ? JSON.stringify(body) : undefined
    const init = (): RequestInit => {
      const i: RequestInit = { method, headers, credentials: 'same-origin', signal: AbortSignal.timeout(this.timeoutMs) }
      if (json !== undefined) i.body = json
      return i
    }

    let response: Response
    let text: string
    try {
      response = await this.fetchRetrying(path, init)
      text = await response.text()
    } catch (e) {
      const reason =
        e instanceof DOMException && e.name === 'TimeoutError'
          ? `no answer within ${Math.round(this.timeoutMs / 1000)} s`
          : e instanceof Error
            ? e.message
            : String(e)
      throw new NetworkError(method, path, reason)
    }

    const isJson = JSON_TYPES.test(response.headers.get('Content-Type') ?? '')
    if (!response.ok) {
      if (response.status === 401) this.csrf = undefined
      let parsed: unknown
      if (isJson) {
        try {
          parsed = JSON.parse(text)
        } catch {
          parsed = undefined // an unreadable error body still yields a Problem from the status
        }
      }
      throw new ApiError(decodeProblem(parsed, response.status, response.statusText))
    }

    if (text === '') return { status: response.status, body: undefined, headers: response.headers }
    if (!isJson) {
      throw new ProtocolError(method, path, '', `expected JSON, got ${response.headers.get('Content-Type') ?? 'no Content-Type'}`)
    }
    try {
      return { status: response.status, body: JSON.parse(text) as unknown, headers: response.headers }
    } catch {
      throw new ProtocolError(method, path, '', 'the body is not valid JSON')
    }
  }
}

/** The UI's client, bound to the page's origin. */
export const api = new ApiClient()
