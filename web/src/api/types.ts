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

/** A named collection of items. */
export interface Dataset {
  id: string
  name: string
  slug: string
  created_at: string
  updated_at: string
}

export type ItemStatus = 'registered' | 'uploading' | 'processing' | 'ready' | 'error'

/** One media file of an item (an image, a video, a volume). */
export interface Slot {
  id: string
  name: string
  type: 'image' | 'video' | 'volume'
  width: number | null
  height: number | null
  frame_count: number | null
  fps: number | null
  rotation: number
  format: string | null
  position: number
}

/** A unit of work: one or more slots with their annotations. */
export interface Item {
  id: string
  dataset_id: string
  name: string
  path: string
  status: ItemStatus
  error: string | null
  priority: number
  metadata: Record<string, unknown>
  annotation_count: number
  class_ids: string[]
  created_at: string
  updated_at: string
  slots: Slot[]
  /** The item's task when it is in a workflow (lists and GET /items/{id}); null when it is in none. */
  task?: ItemTask | null
}

/** A member of the team: who they are and their role. */
export interface Membership {
  user: User
  role: string
}

/** Where an item stands in its workflow. */
export interface ItemTask {
  id: string
  workflow_id: string
  stage: string
  state: string
}

/** An item's place in a workflow (GET /api/v1/tasks/{id} adds its history). */
export interface Task extends ItemTask {
  item_id: string
  assignee_id: string | null
  history?: TaskEvent[]
}

/** One transition of a task, oldest first in its history. */
export interface TaskEvent {
  action: string
  actor_id: string | null
  subject_id: string | null
  from_stage: string | null
  from_state: string | null
  to_stage: string | null
  to_state: string | null
  port: string | null
  comment: string | null
  at: string
}

/** A page of a cursor-paginated list: `next` is the path of the next page, or null. */
export interface Page<T> {
  items: T[]
  next: string | null
}

/** Which items: the list's query parameters and the bulk API's `filters`. */
export interface ItemFilter {
  dataset_id?: string | undefined
  item_ids?: string[] | undefined
  path?: string | undefined
  name_contains?: string | undefined
  status?: ItemStatus[] | undefined
  has_class?: string | undefined
  metadata?: Record<string, string> | undefined
  /** The item's task is on this stage (a stage id) / in this state (list only). */
  stage?: string | undefined
  state?: string | undefined
}

export type BulkAction = 'move' | 'copy' | 'delete' | 'update'

/** Body of POST /api/v1/items/{move,copy,delete,update}. */
export interface ItemsBulk {
  filters: ItemFilter
  target_dataset_id?: string
  priority?: number
  mode?: 'auto' | 'job'
}

/** A bulk action either finished in the request (count) or became a job. */
export type BulkResult = { count: number } | { job: { id: string; kind: string; status: string; url: string } }

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'

export interface Job {
  id: string
  kind: string
  status: JobStatus
  progress: number
  error: string | null
}

export interface ApiKey {
  id: string
  name: string
  prefix: string
  role: string
  created_at: string
  expires_at: string | null
  revoked_at: string | null
  last_used_at: string | null
}

/** A new key: `key` is shown only in this answer. */
export interface ApiKeyCreated extends ApiKey {
  key: string
}

export interface SkeletonDef {
  nodes: { name: string }[]
  edges: [number, number][]
}

export interface AnnotationClass {
  id: string
  name: string
  annotation_types: string[]
  color: string
  description: string
  properties: unknown[]
  skeleton: SkeletonDef | null
  sub_types: string[]
}

/** A stored annotation: Darwin JSON 2.0 members plus id, class_id, slot and version. */
export interface Annotation {
  id: string
  class_id: string
  slot: string
  version: number
  z?: number
  [geometry: string]: unknown
}

export interface AnnotationSet {
  version: number
  annotations: Annotation[]
}

export interface AnnotationBatch {
  create?: Record<string, unknown>[]
  update?: Record<string, unknown>[]
  delete?: string[]
}

export interface AnnotationBatchResult {
  version: number
  created: string[]
  updated: string[]
  deleted: string[]
}

/** A slot's media: processing status, size and, for big images, the DeepZoom pyramid. */
export interface SlotMedia {
  item_id: string
  slot: string
  status: string
  error: string | null
  width: number | null
  height: number | null
  tiles: { dzi: string; format: 'jpeg' | 'webp' } | null
  /** A ready video's HLS renditions and frame manifest (null otherwise). */
  playback: SlotPlayback | null
  /** What processing found: for a volume its grid, windows and histogram (docs/VOLUMES.md). */
  media?: Record<string, unknown> | null
}

/** A run of values: first, first + step, … (count values). */
export type Run = [first: number, step: number, count: number]

/** A video's frame manifest (docs/MEDIA.md#frame-manifest): every frame's pts as runs; the UI reads these members. */
export interface FrameManifest {
  frame_count: number
  /** Seconds per pts unit, as [numerator, denominator]. */
  time_base: [number, number]
  pts: Run[]
}

/** A video's playback: the HLS multivariant playlist, the frame manifest, and each quality. */
export interface SlotPlayback {
  master: string
  manifest: string
  segment_frames: number
  renditions: { name: string; width: number; height: number }[]
}

/** A workflow (the stages items go through); the UI reads its name and stages. */
export interface Workflow {
  id: string
  name: string
  version: number
  dataset_ids: string[]
  stages: WorkflowStage[]
}

export interface WorkflowStage {
  id: string
  name: string
  type: string
  /** The stage's settings; `states` lists its states (absent: the one state "new"). */
  config?: { states?: string[] } | null
}

/** How many items wait in each stage of a workflow, by state. */
export interface WorkflowBoard {
  workflow_id: string
  version: number
  total: number
  stages: { id: string; name: string; type: string; count: number; states: { state: string; count: number }[] }[]
}
