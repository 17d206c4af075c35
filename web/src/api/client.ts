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
import type { FieldError, LoginRequest, Problem, Session } from './types'

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
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

const JSON_TYPES = /^application\/(problem\+)?json\b/i

export class ApiClient {
  private readonly baseUrl: string
  private readonly fetchImpl: typeof fetch
  private readonly timeoutMs: number
  private csrf: string | undefined

  constructor(options: ClientOptions = {}) {
    this.baseUrl = options.baseUrl ?? ''
    // Browsers require fetch to be called unbound (this === globalThis); never as a method.
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
    this.timeoutMs = options.timeoutMs ?? 30_000
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
    const headers: Record<string, string> = { Accept: 'application/json, application/problem+json' }
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    if (method !== 'GET' && this.csrf !== undefined) headers['X-CSRF-Token'] = this.csrf

    const init: RequestInit = {
      method,
      headers,
      credentials: 'same-origin',
      signal: AbortSignal.timeout(this.timeoutMs),
    }
    if (body !== undefined) init.body = JSON.stringify(body)

    let response: Response
    let text: string
    try {
      response = await this.fetchImpl(this.baseUrl + path, init)
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

    if (text === '') return undefined
    if (!isJson) {
      throw new ProtocolError(method, path, '', `expected JSON, got ${response.headers.get('Content-Type') ?? 'no Content-Type'}`)
    }
    try {
      return JSON.parse(text) as unknown
    } catch {
      throw new ProtocolError(method, path, '', 'the body is not valid JSON')
    }
  }
}

/** The UI's client, bound to the page's origin. */
export const api = new ApiClient()
