// The API client against docs/openapi.yaml (JSON text): every request the client can make must be
// a documented path and method, with documented query parameters, headers and body members, and
// every field the UI decodes must be a documented property of its schema with a matching type.
// A client change that strays from the document fails here, before it reaches a browser.

import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ApiClient } from '../../src/api/client'
import { MODELS, type FieldKind } from '../../src/api/models'

type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

const doc: Json = JSON.parse(readFileSync(fileURLToPath(new URL('../../../docs/openapi.yaml', import.meta.url)), 'utf8'))

function resolve(node: Json): Json {
  let n = node
  while (n && typeof n.$ref === 'string') {
    n = n.$ref.replace(/^#\//, '').split('/').reduce((o: Json, k: string) => o[k], doc)
  }
  return n
}

/** The documented operation for a concrete method and path, with its path template. */
function operation(method: string, path: string): { template: string; op: Json } | undefined {
  for (const [template, item] of Object.entries(doc.paths as Json)) {
    if (template === '/{path}') continue // the web app's pages, never an API call
    const re = new RegExp(
      '^' + template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, (m) => (m.includes('path') ? '.+' : '[^/]+')) + '$',
    )
    const op = (item as Json)[method.toLowerCase()]
    if (op && re.test(path)) return { template, op }
  }
  return undefined
}

function parameters(template: string, op: Json): Json[] {
  return [...((doc.paths[template].parameters as Json[]) ?? []), ...((op.parameters as Json[]) ?? [])].map(resolve)
}

interface Sent {
  method: string
  url: URL
  headers: Headers
  body: unknown
}

/** A client whose fetch records each request and answers 200 {} (decoding then fails; irrelevant here). */
function recordingClient(): { client: ApiClient; sent: Sent[] } {
  const sent: Sent[] = []
  const client = new ApiClient({
    baseUrl: 'http://loupe.test',
    fetch: (async (input: RequestInfo | URL, init: RequestInit = {}) => {
      sent.push({
        method: init.method ?? 'GET',
        url: new URL(String(input)),
        headers: new Headers(init.headers),
        body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
      })
      return new Response('{}', { status: 200, headers: { 'Content-Type': 'application/json' } })
    }) as typeof fetch,
  })
  return { client, sent }
}

const ID = '7d6f1b9e-0000-4000-8000-000000000001'

describe('the API client against docs/openapi.yaml', () => {
  it('decodes only documented fields, with their documented types', () => {
    for (const [schema, fields] of Object.entries(MODELS)) {
      const s = resolve(doc.components.schemas[schema])
      expect(s, `schema ${schema}`).toBeTruthy()
      for (const [field, kind] of Object.entries(fields) as [string, FieldKind][]) {
        const prop = s.properties?.[field] ? resolve(s.properties[field]) : undefined
        expect(prop, `${schema}.${field} is documented`).toBeTruthy()
        const types: string[] = Array.isArray(prop!.type) ? prop!.type : prop!.type ? [prop!.type] : []
        const want = kind.replace('?', '')
        const jsonType = want === 'number' ? ['number', 'integer'] : [want]
        if (types.length) {
          expect(types.some((t) => jsonType.includes(t)), `${schema}.${field} is a ${want}`).toBe(true)
          expect(types.includes('null'), `${schema}.${field} nullability`).toBe(kind.endsWith('?'))
        }
        // an enum or const without a type: the field must be required and a string in the UI
        if (!types.length) expect(['string', 'number', 'object'].includes(want), `${schema}.${field}`).toBe(true)
        // anyOf [null, …]: nullable
        if (!types.length && prop!.anyOf) {
          expect(prop!.anyOf.some((a: Json) => a.type === 'null'), `${schema}.${field} nullability`).toBe(kind.endsWith('?'))
        }
      }
    }
  })

  it('sends only documented paths, methods, query parameters, headers and body members', async () => {
    const { client, sent } = recordingClient()
    const calls: (() => Promise<unknown>)[] = [
      () => client.login({ email: 'a@b.c', password: 'p' }),
      () => client.me(),
      () => client.logout(),
      () => client.listDatasets(),
      () => client.createDataset('Cats'),
      () => client.getDataset(ID),
      () => client.listItems({ dataset_id: ID, path: '/a', name_contains: 'x', status: ['ready', 'error'], has_class: ID, metadata: { k: 'v' } }, 100),
      () => client.getItem(ID),
      () => client.createItem(ID, 'a.jpg', '/folder'),
      () => client.bulk('move', { filters: { item_ids: [ID] }, target_dataset_id: ID }),
      () => client.bulk('copy', { filters: { dataset_id: ID }, target_dataset_id: ID }),
      () => client.bulk('delete', { filters: { item_ids: [ID] } }),
      () => client.bulk('update', { filters: { item_ids: [ID] }, priority: 3 }),
      () => client.getJob(ID),
      () => client.listApiKeys(),
      () => client.createApiKey('ci'),
      () => client.revokeApiKey(ID),
      () => client.listClasses(),
      () => client.createClass({ name: 'cat', annotation_types: ['polygon'] }),
      () => client.getAnnotations(ID),
      () => client.getAnnotations(ID, { bbox: '0,0,10,10', slot: '0' }),
      () => client.saveAnnotations(ID, { create: [], update: [], delete: [] }, 3, 'key-1'),
      () => client.getSlotMedia(ID, '0'),
      () => client.getFrameManifest(ID, '0'),
      () => client.listWorkflows(),
      () => client.getWorkflowBoard(ID),
      () => client.getWorkflow(ID),
      () => client.listMembers(ID),
      () => client.nextTask(ID, 'label'),
      () => client.getTask(ID),
      () => client.taskAction(ID, 'submit'),
      () => client.taskAction(ID, 'approve', { comment: 'fine' }),
      () => client.taskAction(ID, 'reject', { comment: 'redo' }),
      () => client.taskAction(ID, 'state', { state: 'blocked' }),
      () => client.listItems({ dataset_id: ID, stage: 'label', state: 'blocked' }, 50),
      () => client.getTileDescriptor(ID, '0'),
    ]
    for (const call of calls) await call().catch(() => undefined)
    expect(sent.length).toBe(calls.length)

    const urls: [string, string][] = [
      ['PUT', client.slotFileUrl(ID, '0')],
      ['GET', client.thumbnailUrl(ID, '0')],
      ['GET', client.mediaUrl(ID, '0', 'preview')],
      ['GET', client.mediaUrl(ID, '0', 'original')],
      ['GET', client.tileUrl(ID, '0', 12, 0, 1, 'jpeg')],
    ]
    for (const [method, url] of urls) sent.push({ method, url: new URL(url), headers: new Headers(), body: undefined })

    for (const s of sent) {
      const what = `${s.method} ${s.url.pathname}${s.url.search}`
      const found = operation(s.method, s.url.pathname)
      expect(found, `${what} is documented`).toBeTruthy()
      const params = parameters(found!.template, found!.op)
      const query = params.filter((p) => p.in === 'query').map((p) => p.name as string)
      for (const name of s.url.searchParams.keys()) {
        const documented = query.includes(name) || query.some((q) => q.endsWith('[key]') && name.startsWith(q.slice(0, -5) + '['))
        expect(documented, `${what}: query parameter ${name}`).toBe(true)
      }
      const headerNames = params.filter((p) => p.in === 'header').map((p) => (p.name as string).toLowerCase())
      for (const name of ['if-match', 'idempotency-key']) {
        if (s.headers.has(name)) expect(headerNames, `${what}: header ${name}`).toContain(name)
      }
      if (s.body !== undefined) {
        const schema = resolve(found!.op.requestBody?.content?.['application/json']?.schema ?? {})
        expect(schema.properties, `${what} takes a JSON body`).toBeTruthy()
        for (const key of Object.keys(s.body as Json)) expect(Object.keys(schema.properties), `${what}: body member ${key}`).toContain(key)
      }
    }
  })

  it('fails for a path the document lacks (the check can fail)', () => {
    expect(operation('GET', '/api/v1/no-such-thing')).toBeUndefined()
    expect(operation('DELETE', '/api/v1/me')).toBeUndefined()
    expect(operation('GET', `/api/v1/items/${ID}`)).toBeTruthy()
  })
})
