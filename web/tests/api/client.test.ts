// Unit tests of the API client. fetch is replaced at the boundary by a recorder that answers
// with real Response objects, so everything above fetch (headers, CSRF handling, decoding,
// errors) runs as in the browser.

import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiClient, ApiError, NetworkError, ProtocolError, RETRIES, retryDelayMs } from '../../src/api/client'

interface Recorded {
  url: string
  method: string
  headers: Headers
  body: string | undefined
  credentials: RequestCredentials | undefined
}

type Answer = Response | ((init: RequestInit) => Promise<Response>)

/** A fetch that records each request and replies with the next queued answer. */
function fakeFetch(...answers: Answer[]) {
  const calls: Recorded[] = []
  const fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    calls.push({
      url: String(input),
      method: init.method ?? 'GET',
      headers: new Headers(init.headers),
      body: typeof init.body === 'string' ? init.body : undefined,
      credentials: init.credentials,
    })
    const answer = answers.shift()
    if (answer === undefined) throw new Error(`unexpected request ${init.method} ${String(input)}`)
    return typeof answer === 'function' ? answer(init) : answer
  }
  return { fetch: fetch as typeof globalThis.fetch, calls }
}

function json(status: number, body: unknown, type = 'application/json'): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } })
}

function problem(status: number, body: Record<string, unknown>): Response {
  return json(status, body, 'application/problem+json')
}

const user = { id: '7d6f1b9e-0000-4000-8000-000000000001', email: 'ada@example.org', name: 'Ada Lovelace' }
const team = { id: '7d6f1b9e-0000-4000-8000-000000000002', name: 'Vision Lab', slug: 'vision-lab' }
const loginAnswer = { user, team, role: 'owner', csrf_token: 'csrf-from-login' }
const meAnswer = { user, team, role: 'owner', auth: 'session', csrf_token: 'csrf-from-me' }

function lastCall(calls: Recorded[]): Recorded {
  const call = calls.at(-1)
  if (!call) throw new Error('no request was made')
  return call
}

describe('login', () => {
  it('posts the credentials as JSON with the cookie policy and returns the session', async () => {
    const { fetch, calls } = fakeFetch(json(200, loginAnswer))
    const client = new ApiClient({ fetch })

    const session = await client.login({ email: 'ada@example.org', password: 'correct horse' })

    expect(session).toEqual({ user, team, role: 'owner', auth: 'session', csrf_token: 'csrf-from-login' })
    expect(client.csrfToken).toBe('csrf-from-login')
    const call = lastCall(calls)
    expect(call.url).toBe('/api/v1/auth/login')
    expect(call.method).toBe('POST')
    expect(call.credentials).toBe('same-origin')
    expect(call.headers.get('Content-Type')).toBe('application/json')
    expect(call.headers.get('Accept')).toContain('application/problem+json')
    expect(call.headers.has('X-CSRF-Token')).toBe(false)
    expect(JSON.parse(call.body ?? '')).toEqual({ email: 'ada@example.org', password: 'correct horse' })
  })

  it('turns a 401 problem into an ApiError carrying title, detail and field messages', async () => {
    const { fetch } = fakeFetch(
      problem(401, {
        type: 'https://loupe.dev/problems/unauthorized',
        title: 'Sign-in failed',
        status: 401,
        detail: 'The email or password is not correct.',
        errors: [{ field: 'password', message: 'does not match this account' }],
      }),
    )
    const client = new ApiClient({ fetch })

    const error = await client.login({ email: 'ada@example.org', password: 'wrong' }).catch((e: unknown) => e)

    expect(error).toBeInstanceOf(ApiError)
    const e = error as ApiError
    expect(e.status).toBe(401)
    expect(e.message).toBe('The email or password is not correct.')
    expect(e.problem.title).toBe('Sign-in failed')
    expect(e.problem.type).toBe('https://loupe.dev/problems/unauthorized')
    expect(e.fieldMessage('password')).toBe('does not match this account')
    expect(e.fieldMessage('email')).toBeUndefined()
    expect(client.csrfToken).toBeUndefined()
  })

  it('refuses a login answer without a CSRF token, naming the field', async () => {
    const { fetch } = fakeFetch(json(200, { user, team, role: 'owner' }))
    const error = await new ApiClient({ fetch }).login({ email: 'a@b.c', password: 'x' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProtocolError)
    expect((error as ProtocolError).field).toBe('csrf_token')
    expect((error as ProtocolError).message).toContain('POST /api/v1/auth/login')
  })
})

describe('me', () => {
  it('returns the session and learns its CSRF token', async () => {
    const { fetch, calls } = fakeFetch(json(200, meAnswer))
    const client = new ApiClient({ fetch })

    expect(await client.me()).toEqual(meAnswer)
    expect(client.csrfToken).toBe('csrf-from-me')
    expect(lastCall(calls).method).toBe('GET')
    expect(lastCall(calls).body).toBeUndefined()
    expect(lastCall(calls).headers.has('Content-Type')).toBe(false)
  })

  it('accepts an API-key caller, which has no CSRF token', async () => {
    const { fetch } = fakeFetch(json(200, { user, team, role: 'admin', auth: 'api_key' }))
    const session = await new ApiClient({ fetch }).me()
    expect(session?.auth).toBe('api_key')
    expect(session).not.toHaveProperty('csrf_token')
  })

  it('answers null when nobody is signed in and forgets the CSRF token', async () => {
    const { fetch } = fakeFetch(json(200, loginAnswer), problem(401, { title: 'Not signed in', status: 401 }))
    const client = new ApiClient({ fetch })
    await client.login({ email: 'ada@example.org', password: 'p' })
    expect(client.csrfToken).toBe('csrf-from-login')

    expect(await client.me()).toBeNull()
    expect(client.csrfToken).toBeUndefined()
  })

  it('never sends the CSRF token on reads', async () => {
    const { fetch, calls } = fakeFetch(json(200, loginAnswer), json(200, meAnswer))
    const client = new ApiClient({ fetch })
    await client.login({ email: 'ada@example.org', password: 'p' })
    await client.me()
    expect(lastCall(calls).headers.has('X-CSRF-Token')).toBe(false)
  })

  it.each([
    [{ ...meAnswer, user: { ...user, email: 42 } }, 'user.email'],
    [{ ...meAnswer, team: null }, 'team'],
    [{ ...meAnswer, team: { id: 'x', name: 'n' } }, 'team.slug'],
    [{ ...meAnswer, role: ['owner'] }, 'role'],
    [{ ...meAnswer, auth: 'cookie' }, 'auth'],
    [{ ...meAnswer, csrf_token: 5 }, 'csrf_token'],
    [[meAnswer], ''],
  ])('refuses a malformed answer (%#), naming %s', async (body, field) => {
    const { fetch } = fakeFetch(json(200, body))
    const error = await new ApiClient({ fetch }).me().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProtocolError)
    expect((error as ProtocolError).field).toBe(field)
    expect((error as ProtocolError).message).toContain('GET /api/v1/me')
  })

  it('refuses a successful answer that is not JSON', async () => {
    const html = new Response('<!doctype html><p>hello</p>', { status: 200, headers: { 'Content-Type': 'text/html' } })
    const { fetch } = fakeFetch(html)
    const error = await new ApiClient({ fetch }).me().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProtocolError)
    expect((error as Error).message).toContain('expected JSON, got text/html')
  })

  it('refuses a JSON answer whose body does not parse', async () => {
    const broken = new Response('{"user":', { status: 200, headers: { 'Content-Type': 'application/json' } })
    const { fetch } = fakeFetch(broken)
    const error = await new ApiClient({ fetch }).me().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProtocolError)
    expect((error as Error).message).toContain('not valid JSON')
  })
})

describe('logout', () => {
  it('sends the CSRF token it learned and forgets it afterwards', async () => {
    const { fetch, calls } = fakeFetch(json(200, loginAnswer), new Response(null, { status: 204 }))
    const client = new ApiClient({ fetch })
    await client.login({ email: 'ada@example.org', password: 'p' })

    await client.logout()

    const call = lastCall(calls)
    expect(call.url).toBe('/api/v1/auth/logout')
    expect(call.method).toBe('POST')
    expect(call.headers.get('X-CSRF-Token')).toBe('csrf-from-login')
    expect(call.credentials).toBe('same-origin')
    expect(client.csrfToken).toBeUndefined()
  })

  it('uses the token from /me after a page reload', async () => {
    const { fetch, calls } = fakeFetch(json(200, meAnswer), new Response(null, { status: 204 }))
    const client = new ApiClient({ fetch })
    await client.me()
    await client.logout()
    expect(lastCall(calls).headers.get('X-CSRF-Token')).toBe('csrf-from-me')
  })

  it('treats an already-ended session (401) as signed out', async () => {
    const { fetch } = fakeFetch(problem(401, { title: 'Not signed in', status: 401 }))
    await expect(new ApiClient({ fetch }).logout()).resolves.toBeUndefined()
  })

  it('reports a refused sign-out (403) and keeps the token for a retry', async () => {
    const { fetch } = fakeFetch(
      json(200, loginAnswer),
      problem(403, { title: 'CSRF token missing or wrong', status: 403, detail: 'Reload the page and try again.' }),
    )
    const client = new ApiClient({ fetch })
    await client.login({ email: 'ada@example.org', password: 'p' })

    const error = await client.logout().catch((e: unknown) => e)

    expect(error).toBeInstanceOf(ApiError)
    expect((error as ApiError).status).toBe(403)
    expect((error as ApiError).message).toBe('Reload the page and try again.')
    expect(client.csrfToken).toBe('csrf-from-login')
  })
})

describe('errors', () => {
  it('builds a problem from the status when the error body is not a problem', async () => {
    const page = new Response('<html>Bad Gateway</html>', {
      status: 502,
      statusText: 'Bad Gateway',
      headers: { 'Content-Type': 'text/html' },
    })
    const { fetch } = fakeFetch(page)
    const error = await new ApiClient({ fetch }).me().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect((error as ApiError).problem).toEqual({ type: 'about:blank', title: 'Bad Gateway', status: 502, errors: [] })
    expect((error as ApiError).message).toBe('Bad Gateway')
  })

  it('falls back to "HTTP <status>" when there is no status text either', async () => {
    const { fetch } = fakeFetch(new Response('{oops', { status: 500, headers: { 'Content-Type': 'application/problem+json' } }))
    const error = await new ApiClient({ fetch }).me().catch((e: unknown) => e)
    expect((error as ApiError).problem.title).toBe('HTTP 500')
  })

  it('keeps only well-formed field errors', async () => {
    const { fetch } = fakeFetch(
      problem(422, {
        title: 'Invalid input',
        status: 422,
        errors: [{ field: 'email', message: 'must be an email address' }, 'junk', { field: 'password' }, { message: 'body too large' }],
      }),
    )
    const error = (await new ApiClient({ fetch }).login({ email: 'x', password: 'y' }).catch((e: unknown) => e)) as ApiError
    expect(error.fieldErrors).toEqual([
      { field: 'email', message: 'must be an email address' },
      { field: '', message: 'body too large' },
    ])
  })

  it('reports a refused connection as a NetworkError', async () => {
    const fetch = (() => Promise.reject(new TypeError('fetch failed'))) as typeof globalThis.fetch
    const error = await new ApiClient({ fetch }).me().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NetworkError)
    expect((error as Error).message).toContain('GET /api/v1/me: fetch failed')
  })

  it('gives up on a server that does not answer in time', async () => {
    const hang = (init: RequestInit) =>
      new Promise<Response>((_, reject) => {
        init.signal?.addEventListener('abort', () => reject(init.signal?.reason))
      })
    const { fetch } = fakeFetch(hang)
    const error = await new ApiClient({ fetch, timeoutMs: 50 }).me().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NetworkError)
    expect((error as Error).message).toContain('no answer within')
  })
})

describe('a busy server', () => {
  function busy(status: number, retryAfter?: string): Response {
    const headers: Record<string, string> = { 'Content-Type': 'application/problem+json' }
    if (retryAfter !== undefined) headers['Retry-After'] = retryAfter
    return new Response(JSON.stringify({ type: 'about:blank', title: 'Too Many Requests', status }), { status, headers })
  }

  it('waits as long as Retry-After says, else 1 s doubled per retry, at most 60 s', () => {
    expect(retryDelayMs(429, '3', 0)).toBe(3000)
    expect(retryDelayMs(429, null, 0)).toBe(1000)
    expect(retryDelayMs(429, null, 2)).toBe(4000)
    expect(retryDelayMs(429, 'Wed, 21 Oct 2015 07:28:00 GMT', 1)).toBe(2000) // a date: the doubling
    expect(retryDelayMs(429, '3600', 0)).toBe(60_000)
    expect(retryDelayMs(429, '1', RETRIES)).toBeNull()
    expect(retryDelayMs(503, '2', 0)).toBe(2000)
    expect(retryDelayMs(503, null, 0)).toBeNull()
    expect(retryDelayMs(500, '2', 0)).toBeNull()
    expect(retryDelayMs(409, '2', 0)).toBeNull()
  })

  it('sends a refused request again, the same body and headers, after the wait', async () => {
    const waits: number[] = []
    const { fetch, calls } = fakeFetch(json(200, meAnswer), busy(429, '2'), busy(429), json(200, { ok: 1 }))
    const client = new ApiClient({ fetch, sleep: async (ms) => void waits.push(ms) })
    await client.me()
    await client.logout()
    expect(waits).toEqual([2000, 2000]) // the server's 2 s, then the doubling's second step
    const posts = calls.slice(1)
    expect(posts.map((c) => c.method)).toEqual(['POST', 'POST', 'POST'])
    expect(posts.map((c) => c.headers.get('X-CSRF-Token'))).toEqual(['csrf-from-me', 'csrf-from-me', 'csrf-from-me'])
  })

  it('gives the refusal back once the retries are spent', async () => {
    const answers = Array.from({ length: RETRIES + 1 }, () => busy(429, '1'))
    const { fetch, calls } = fakeFetch(...answers)
    const waits: number[] = []
    const error = await new ApiClient({ fetch, sleep: async (ms) => void waits.push(ms) }).me().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect((error as ApiError).status).toBe(429)
    expect(calls).toHaveLength(RETRIES + 1)
    expect(waits).toHaveLength(RETRIES)
  })

  it('does not send again what the server refused for another reason', async () => {
    const { fetch, calls } = fakeFetch(busy(503), busy(500, '1'))
    const client = new ApiClient({ fetch, sleep: async () => undefined })
    expect(((await client.me().catch((e: unknown) => e)) as ApiError).status).toBe(503)
    expect(((await client.me().catch((e: unknown) => e)) as ApiError).status).toBe(500)
    expect(calls).toHaveLength(2)
  })
})

describe('construction', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('prefixes paths with baseUrl', async () => {
    const { fetch, calls } = fakeFetch(json(200, meAnswer))
    await new ApiClient({ fetch, baseUrl: 'http://loupe.test:8470' }).me()
    expect(lastCall(calls).url).toBe('http://loupe.test:8470/api/v1/me')
  })

  it('uses the global fetch, called unbound, when none is given', async () => {
    const { fetch, calls } = fakeFetch(json(200, meAnswer))
    let receiver: unknown = 'not called'
    vi.stubGlobal('fetch', function (this: unknown, input: RequestInfo | URL, init?: RequestInit) {
      receiver = this
      return fetch(input, init)
    })
    await new ApiClient().me()
    expect(calls).toHaveLength(1)
    expect(receiver === undefined || receiver === globalThis).toBe(true)
  })
})
