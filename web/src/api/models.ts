// The fields the UI reads from each API model, by the OpenAPI schema's name, with the JSON type
// it expects. decodeModel checks an answer against this table; tests/api/openapi.test.ts checks
// the table against docs/openapi.yaml, so the UI cannot rely on a field the API does not promise.

import { DecodeError } from './decode'

/** 'string?' and 'number?' also accept null (OpenAPI `type: [string, null]`). */
export type FieldKind = 'string' | 'string?' | 'number' | 'number?' | 'boolean' | 'object' | 'object?' | 'array'

export const MODELS = {
  Dataset: { id: 'string', name: 'string', slug: 'string', created_at: 'string', updated_at: 'string' },
  Item: {
    id: 'string', dataset_id: 'string', name: 'string', path: 'string', status: 'string', error: 'string?',
    priority: 'number', metadata: 'object', annotation_count: 'number', class_ids: 'array', created_at: 'string',
    updated_at: 'string', slots: 'array',
  },
  Slot: {
    id: 'string', name: 'string', type: 'string', width: 'number?', height: 'number?', frame_count: 'number?', fps: 'number?',
    format: 'string?', position: 'number',
  },
  ItemsBulkCount: { count: 'number' },
  JobQueued: { job: 'object' },
  Job: { id: 'string', kind: 'string', status: 'string', progress: 'number', error: 'string?' },
  ApiKey: {
    id: 'string', name: 'string', prefix: 'string', role: 'string', created_at: 'string', expires_at: 'string?',
    revoked_at: 'string?', last_used_at: 'string?',
  },
  ApiKeyCreated: { id: 'string', name: 'string', prefix: 'string', role: 'string', created_at: 'string', key: 'string' },
  Class: {
    id: 'string', name: 'string', annotation_types: 'array', color: 'string', description: 'string',
    properties: 'array', sub_types: 'array',
  },
  Annotation: { id: 'string', class_id: 'string', slot: 'string', version: 'number' },
  AnnotationSet: { version: 'number', annotations: 'array' },
  AnnotationBatchResult: { version: 'number', created: 'array', updated: 'array', deleted: 'array' },
  UploadStarted: { item_id: 'string', slot: 'string', status: 'string' },
  Workflow: { id: 'string', name: 'string', version: 'number', dataset_ids: 'array', stages: 'array' },
  Membership: { user: 'object', role: 'string' },
  Task: { id: 'string', item_id: 'string', workflow_id: 'string', stage: 'string', state: 'string', assignee_id: 'string?' },
  TaskHistoryEntry: { action: 'string', actor_id: 'string?', comment: 'string?', from_stage: 'string?', to_stage: 'string?', to_state: 'string?', at: 'string' },
  WorkflowBoard: { workflow_id: 'string', version: 'number', total: 'number', stages: 'array' },
  SlotMedia: {
    item_id: 'string', slot: 'string', status: 'string', error: 'string?', width: 'number?', height: 'number?', tiles: 'object?',
    playback: 'object?', media: 'object?',
  },
  SlotPlayback: { master: 'string', manifest: 'string', segment_frames: 'number', renditions: 'array' },
  FrameManifest: { frame_count: 'number', time_base: 'array', pts: 'array' },
} as const satisfies Record<string, Record<string, FieldKind>>

export type ModelName = keyof typeof MODELS

function kindOf(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  return typeof v
}

/** Checks `value` against MODELS[name]; returns it typed as T, or throws DecodeError naming the field. */
export function decodeModel<T>(name: ModelName, value: unknown, path = ''): T {
  if (kindOf(value) !== 'object') throw new DecodeError(path, 'an object')
  const o = value as Record<string, unknown>
  for (const [field, kind] of Object.entries(MODELS[name]) as [string, FieldKind][]) {
    const k = kindOf(o[field])
    const nullable = kind.endsWith('?')
    const want = nullable ? kind.slice(0, -1) : kind
    if (k === want || (nullable && k === 'null')) continue
    throw new DecodeError(path ? `${path}.${field}` : field, nullable ? `a ${want} or null` : `a ${want}`)
  }
  return o as T
}

/** Decodes an array member of an answer, each element as MODELS[name]. */
export function decodeList<T>(name: ModelName, value: unknown, path: string): T[] {
  if (!Array.isArray(value)) throw new DecodeError(path, 'an array')
  return value.map((v, i) => decodeModel<T>(name, v, `${path}[${i}]`))
}
