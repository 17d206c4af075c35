import { describe, expect, it } from 'vitest'
import { CommandStack } from '../../src/editor/commands'
import { ShapeDocument } from '../../src/editor/document'
import type { Shape } from '../../src/editor/geometry'
import { MemoryJournal } from '../../src/editor/journal'
import { SaveConflict, SaveOffline, Saver, type Batch, type SaveTransport } from '../../src/editor/saver'

const kp = (id: string, x: number): Shape => ({ id, class_id: 'c', keypoint: { x, y: 0 } })

/** A server with a version counter; `mode` makes it drop answers or answer 412. */
function fakeServer() {
  const server = {
    version: 3,
    shapes: new Map<string, Shape>([['old', { ...kp('old', 9), version: 1 }]]),
    mode: 'ok' as 'ok' | 'offline' | 'lost-answer' | 'conflict',
    calls: [] as { batch: Batch; version: number; key: string }[],
    seenKeys: new Set<string>(),
  }
  const transport: SaveTransport = {
    async save(batch, version, key) {
      server.calls.push({ batch: structuredClone(batch), version, key })
      if (server.mode === 'offline') throw new SaveOffline('no network')
      if (server.seenKeys.has(key)) return server.version // an idempotent replay
      if (server.mode === 'conflict' || version !== server.version) throw new SaveConflict('412')
      for (const s of [...batch.create, ...batch.update]) server.shapes.set(s.id, s)
      for (const id of batch.delete) server.shapes.delete(id)
      server.version++
      server.seenKeys.add(key)
      if (server.mode === 'lost-answer') {
        server.mode = 'ok'
        throw new SaveOffline('the answer was lost')
      }
      return server.version
    },
    async load() {
      return { version: server.version, shapes: [...server.shapes.values()] }
    },
  }
  return { server, transport }
}

function setup() {
  const { server, transport } = fakeServer()
  const doc = new ShapeDocument()
  const journal = new MemoryJournal()
  const states: string[] = []
  let conflict: { version: number; shapes: Shape[] } | null = null
  let n = 0
  const saver = new Saver('item1', doc, transport, journal, {
    debounceMs: 1e9, // the tests flush by hand
    retryMs: () => 1e9,
    newKey: () => `key-${++n}`,
    onState: (s) => states.push(s),
    onConflict: (c) => (conflict = c),
  })
  const initial = [...server.shapes.values()]
  doc.load(initial)
  saver.reset(server.version, initial)
  return { server, transport, doc, journal, saver, states, stack: new CommandStack(doc), conflict: () => conflict }
}

describe('Saver', () => {
  it('sends one batch with If-Match and a key; nothing for an edit undone before saving', async () => {
    const { server, saver, stack } = setup()
    stack.apply('add', [kp('a', 1)])
    stack.apply('move', [{ ...server.shapes.get('old')!, keypoint: { x: 10, y: 0 } }])
    stack.apply('add', [kp('b', 2)])
    stack.undo()
    await saver.flush()
    expect(server.calls).toHaveLength(1)
    const call = server.calls[0]!
    expect(call.version).toBe(3)
    expect(call.batch.create.map((s) => s.id)).toEqual(['a'])
    expect(call.batch.update.map((s) => s.id)).toEqual(['old'])
    expect(call.batch.update[0]!.version).toBeUndefined() // read-only members are not sent
    expect(call.batch.delete).toEqual([])
    expect(saver.version).toBe(4)
    expect(saver.state).toBe('saved')
    await saver.flush()
    expect(server.calls).toHaveLength(1)
  })

  it('journals edits, keeps them offline, and retries with the same Idempotency-Key', async () => {
    const { server, saver, stack, journal } = setup()
    server.mode = 'lost-answer'
    stack.apply('add', [kp('a', 1)])
    await saver.flush()
    expect(saver.state).toBe('offline')
    expect((await journal.get('item1'))!.shapes.a).toEqual(kp('a', 1))
    await saver.flush()
    expect(server.calls.map((c) => c.key)).toEqual(['key-1', 'key-1'])
    expect(server.shapes.size).toBe(2) // applied once
    expect(saver.state).toBe('saved')
    expect(await journal.get('item1')).toBeUndefined()
  })

  it('replays a journal left by a closed tab', async () => {
    const first = setup()
    first.server.mode = 'offline'
    first.stack.apply('add', [kp('a', 1)])
    first.stack.apply('delete', [], ['old'])
    await first.saver.flush()
    expect(first.saver.state).toBe('offline')
    // a new page: same journal, the server is back
    const { transport, server } = fakeServer()
    const doc = new ShapeDocument()
    const saver = new Saver('item1', doc, transport, first.journal, { debounceMs: 1e9, newKey: () => 'k' })
    doc.load([...server.shapes.values()])
    saver.reset(server.version, [...server.shapes.values()])
    expect(await saver.replay()).toBe(2)
    await saver.flush()
    expect([...server.shapes.keys()]).toEqual(['a'])
    expect(await first.journal.get('item1')).toBeUndefined()
  })

  it('replays the batch of a closed tab whose answer was lost with its key: no conflict, applied once', async () => {
    const first = setup()
    first.server.mode = 'lost-answer'
    first.stack.apply('add', [kp('a', 1)])
    await first.saver.flush()
    expect(first.saver.state).toBe('offline')
    expect(first.server.version).toBe(4) // the server applied it; the page never heard
    // a new page on the same server and journal: it reads version 4, the journal says 3
    const { server } = first
    const doc = new ShapeDocument()
    const states: string[] = []
    const saver = new Saver('item1', doc, first.transport, first.journal, {
      debounceMs: 1e9,
      newKey: () => 'fresh',
      onState: (s) => states.push(s),
      onConflict: () => states.push('conflict-dialog'),
    })
    doc.load([...server.shapes.values()])
    saver.reset(server.version, [...server.shapes.values()])
    expect(await saver.replay()).toBe(1)
    await saver.flush()
    expect(server.calls.map((c) => [c.key, c.version])).toEqual([['key-1', 3], ['key-1', 3]])
    expect(states).not.toContain('conflict')
    expect(saver.state).toBe('saved')
    expect(saver.version).toBe(4)
    expect(server.shapes.size).toBe(2)
    expect(await first.journal.get('item1')).toBeUndefined()
  })

  it('stops at a 412 and lets the user keep theirs or take the server version', async () => {
    const t = setup()
    t.server.version = 7 // someone else saved
    t.server.shapes.set('theirs', kp('theirs', 5))
    t.stack.apply('add', [kp('mine', 1)])
    await t.saver.flush()
    expect(t.saver.state).toBe('conflict')
    const server = t.conflict()!
    expect(server.version).toBe(7)
    t.saver.keepMine(server)
    await new Promise((r) => setTimeout(r, 0))
    expect(t.saver.state).toBe('saved')
    expect([...t.server.shapes.keys()].sort()).toEqual(['mine', 'old'])

    const u = setup()
    u.server.version = 9
    u.server.shapes.set('theirs', kp('theirs', 5))
    u.stack.apply('add', [kp('mine', 1)])
    await u.saver.flush()
    u.saver.takeTheirs(u.conflict()!)
    expect(u.doc.all().map((s) => s.id).sort()).toEqual(['old', 'theirs'])
    expect(await u.journal.get('item1')).toBeUndefined()
    expect(u.saver.version).toBe(9)
  })
})

describe('shapes loaded later (by viewport)', () => {
  it('are adopted as the server has them: not sent, edits of them are updates, deleted ones stay deleted', async () => {
    const t = setup()
    const later = [{ ...kp('far1', 100), version: 1 }, { ...kp('far2', 200), version: 1 }]
    t.doc.merge(t.saver.adopt(later))
    expect(t.doc.size).toBe(3)
    expect(t.saver.pendingCount).toBe(0)
    await t.saver.flush()
    expect(t.server.calls).toEqual([])
    // an edit of a loaded shape is an update; a deleted one is a delete
    t.stack.apply('Move', [kp('far1', 101)])
    t.stack.apply('Delete', [], ['far2'])
    await t.saver.flush()
    expect(t.server.calls[0]!.batch).toEqual({ create: [], update: [kp('far1', 101)], delete: ['far2'] })
    // the same shapes coming again (an overlapping viewport) change nothing
    const again = t.saver.adopt(later)
    t.doc.merge(again)
    expect(again).toEqual([])
    expect(t.doc.get('far2')).toBeUndefined()
    expect(t.doc.get('far1')).toEqual(kp('far1', 101))
  })
})
