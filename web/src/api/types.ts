// Models of the Loupe HTTP API (`/api/v1`) as the UI uses them.
//
// Field names follow the API (snake_case). Each interface here has a decoder in decode.ts that
// checks a server answer against it, so a component never sees a value of the wrong shape.

/** A person with an account. */
export interface User {
  id: string
  email: string
  name: string
}

/** The team a user works in; every object in Loupe belongs to one team. */
export interface Team {
  id: string
  name: string
  slug: string
}

/** How the caller of GET /api/v1/me authenticated. */
export type AuthMethod = 'session' | 'api_key'

/**
 * Who is signed in: the answer of GET /api/v1/me, and of POST /api/v1/auth/login (which is
 * always a session). `csrf_token` is present for sessions and must accompany every write.
 */
export interface Session {
  user: User
  team: Team
  /** The user's role in the team, e.g. "owner", "admin", "annotator". */
  role: string
  auth: AuthMethod
  csrf_token?: string
}

/** Body of POST /api/v1/auth/login. */
export interface LoginRequest {
  email: string
  password: string
}

/** One input that was refused, named as the API names it (e.g. "email", "polygon.paths[0][2].x"). */
export interface FieldError {
  field: string
  message: string
}

/** An RFC 9457 `application/problem+json` error answer. */
export interface Problem {
  type: string
  title: string
  status: number
  detail?: string
  errors: FieldError[]
}
