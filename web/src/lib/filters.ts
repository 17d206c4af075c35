// The item grid's filters live in the URL query (?status=ready,error&path=/a&q=cat&class=…&meta=k:v
// &stage=label&state=blocked — the workflow stage id and state of the item's task),
// so a filtered view can be reloaded and shared. These functions convert both ways.
import type { ItemFilter, ItemStatus } from '../api/types'

export const STATUSES: ItemStatus[] = ['registered', 'uploading', 'processing', 'ready', 'error']

type Query = Record<string, string | null | (string | null)[] | undefined>

function one(v: Query[string]): string | undefined {
  const s = Array.isArray(v) ? v[0] : v
  return s ?? undefined
}

export function filterFromQuery(datasetId: string, query: Query): ItemFilter {
  const f: ItemFilter = { dataset_id: datasetId }
  const status = one(query.status)
  if (status) f.status = status.split(',').filter((s): s is ItemStatus => (STATUSES as string[]).includes(s))
  const path = one(query.path)
  if (path && path !== '/') f.path = path
  const q = one(query.q)
  if (q) f.name_contains = q
  const cls = one(query.class)
  if (cls) f.has_class = cls
  const meta = one(query.meta)
  if (meta && meta.includes(':')) {
    const at = meta.indexOf(':')
    f.metadata = { [meta.slice(0, at)]: meta.slice(at + 1) }
  }
  const stage = one(query.stage)
  if (stage) f.stage = stage
  const state = one(query.state)
  if (state) f.state = state
  return f
}

export function queryFromFilter(f: ItemFilter): Record<string, string> {
  const q: Record<string, string> = {}
  if (f.status?.length) q.status = f.status.join(',')
  if (f.path) q.path = f.path
  if (f.name_contains) q.q = f.name_contains
  if (f.has_class) q.class = f.has_class
  const meta = Object.entries(f.metadata ?? {})[0]
  if (meta) q.meta = `${meta[0]}:${meta[1]}`
  if (f.stage) q.stage = f.stage
  if (f.state) q.state = f.state
  return q
}
