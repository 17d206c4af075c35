// Checks parsed JSON from the server against the models in types.ts.
//
// Decoders return a fresh, fully typed value or throw DecodeError naming the first field that
// does not fit ("team.name must be a string"). Unknown extra fields are ignored, so the server
// may add fields without breaking the UI. Only client.ts calls these.

import type { AuthMethod, FieldError, Problem, Session, Team, User } from './types'

/** A server answer did not have the shape the UI expects; `field` is its path, e.g. "user.email". */
export class DecodeError extends Error {
  readonly field: string

  constructor(field: string, expected: string) {
    super(`${field || 'the response body'} must be ${expected}`)
    this.name = 'DecodeError'
    this.field = field
  }
}

type Obj = Record<string, unknown>

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key
}

function object(value: unknown, path: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DecodeError(path, 'an object')
  }
  return value as Obj
}

function string(o: Obj, key: string, path: string): string {
  const v = o[key]
  if (typeof v !== 'string') throw new DecodeError(join(path, key), 'a string')
  return v
}

function optionalString(o: Obj, key: string, path: string): string | undefined {
  return o[key] === undefined || o[key] === null ? undefined : string(o, key, path)
}

export function decodeUser(value: unknown, path = 'user'): User {
  const o = object(value, path)
  return { id: string(o, 'id', path), email: string(o, 'email', path), name: string(o, 'name', path) }
}

export function decodeTeam(value: unknown, path = 'team'): Team {
  const o = object(value, path)
  return { id: string(o, 'id', path), name: string(o, 'name', path), slug: string(o, 'slug', path) }
}

function decodeAuth(o: Obj, fallback: AuthMethod | undefined): AuthMethod {
  if (o.auth === undefined && fallback !== undefined) return fallback
  if (o.auth !== 'session' && o.auth !== 'api_key') {
    throw new DecodeError('auth', '"session" or "api_key"')
  }
  return o.auth
}

/**
 * Decodes GET /api/v1/me, or the login answer when `auth` is given (login answers carry no
 * `auth` field: they are always sessions, and always carry a CSRF token).
 */
export function decodeSession(value: unknown, auth?: AuthMethod): Session {
  const o = object(value, '')
  const session: Session = {
    user: decodeUser(o.user),
    team: decodeTeam(o.team),
    role: string(o, 'role', ''),
    auth: decodeAuth(o, auth),
  }
  const csrf = auth === undefined ? optionalString(o, 'csrf_token', '') : string(o, 'csrf_token', '')
  if (csrf !== undefined) session.csrf_token = csrf
  return session
}

/**
 * Reads an error body leniently: whatever of an RFC 9457 problem is present and well-typed is
 * kept, the rest is filled from the HTTP status, so an error answer always yields a Problem
 * (a proxy's HTML error page included).
 */
export function decodeProblem(value: unknown, status: number, statusText: string): Problem {
  const o: Obj = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Obj) : {}
  const problem: Problem = {
    type: typeof o.type === 'string' ? o.type : 'about:blank',
    title: typeof o.title === 'string' && o.title !== '' ? o.title : statusText || `HTTP ${status}`,
    status: typeof o.status === 'number' ? o.status : status,
    errors: [],
  }
  if (typeof o.detail === 'string' && o.detail !== '') problem.detail = o.detail
  if (Array.isArray(o.errors)) {
    for (const item of o.errors) {
      if (typeof item !== 'object' || item === null) continue
      const e = item as Obj
      if (typeof e.message !== 'string') continue
      const fieldError: FieldError = { field: typeof e.field === 'string' ? e.field : '', message: e.message }
      problem.errors.push(fieldError)
    }
  }
  return problem
}
