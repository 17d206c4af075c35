// Property values of an annotation, edited in the editor's class and property panel. A class
// defines its properties ({id, name, type, required, options, granularity}, docs/ANNOTATIONS.md);
// an annotation carries Darwin's `properties: [{name, value}, …]`: one entry per value (a
// multi-select has one entry per chosen option). Pure: the panel and its tests share it.
import type { Shape } from '../editor/geometry'

export type PropertyType = 'single_select' | 'multi_select' | 'text' | 'number'

export interface PropertyDef {
  id?: string | undefined
  name: string
  type: PropertyType
  required: boolean
  granularity: 'item' | 'annotation' | 'frame'
  options: string[]
}

interface PropertyEntry {
  name?: string
  id?: string
  value: unknown
  [k: string]: unknown
}

/** The class's properties an annotation carries (granularity annotation), read from the class definition. */
export function annotationProperties(raw: unknown[]): PropertyDef[] {
  const out: PropertyDef[] = []
  for (const r of raw) {
    if (!r || typeof r !== 'object') continue
    const p = r as Record<string, unknown>
    const granularity = (p.granularity ?? 'annotation') as PropertyDef['granularity']
    if (granularity !== 'annotation' || typeof p.name !== 'string') continue
    const type = String(p.type ?? 'text').replace('-', '_') as PropertyType
    const options = Array.isArray(p.options)
      ? p.options.map((o) => (o && typeof o === 'object' ? String((o as { value?: unknown }).value ?? '') : String(o)))
      : []
    out.push({ id: typeof p.id === 'string' ? p.id : undefined, name: p.name, type, required: p.required === true, granularity, options })
  }
  return out
}

function entries(s: Shape): PropertyEntry[] {
  return Array.isArray(s.properties) ? (s.properties as PropertyEntry[]) : []
}

function names(e: PropertyEntry, p: PropertyDef): boolean {
  return e.name === p.name || (p.id !== undefined && e.id === p.id)
}

/** The values the annotation holds for property p (empty when none; null values left out). */
export function propertyValues(s: Shape, p: PropertyDef): unknown[] {
  return entries(s)
    .filter((e) => names(e, p) && e.value !== null && e.value !== undefined && e.value !== '')
    .map((e) => e.value)
}

/**
 * The annotation with property p set to `values` (replacing what it held for p; [] clears it):
 * a new shape, the input untouched. `properties` is left out when nothing remains.
 */
export function withPropertyValues(s: Shape, p: PropertyDef, values: unknown[]): Shape {
  const kept = entries(s).filter((e) => !names(e, p))
  const added = values.filter((v) => v !== null && v !== undefined && v !== '').map((value) => ({ name: p.name, value }))
  const next: Shape = { ...s }
  const all = [...kept, ...added]
  if (all.length) next.properties = all
  else delete next.properties
  return next
}

/** Reads a form control's text as the value a property of this type takes (null: no value). */
export function parsePropertyInput(p: PropertyDef, raw: string): unknown {
  const text = raw.trim()
  if (text === '') return null
  if (p.type === 'number') {
    const n = Number(text)
    return Number.isFinite(n) ? n : null
  }
  return text
}

/** Names of the required properties the annotation has no value for (review stages check them). */
export function missingRequired(s: Shape, props: PropertyDef[]): string[] {
  return props.filter((p) => p.required && propertyValues(s, p).length === 0).map((p) => p.name)
}
