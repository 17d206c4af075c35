import { describe, expect, it } from 'vitest'
import { CommandStack } from '../../src/editor/commands'
import { ShapeDocument } from '../../src/editor/document'
import { translate, type Shape } from '../../src/editor/geometry'

const kp = (id: string, x: number): Shape => ({ id, class_id: 'c', keypoint: { x, y: 0 } })

describe('CommandStack', () => {
  it('undoes and redoes every edit, keeping the index in step', () => {
    const doc = new ShapeDocument()
    const stack = new CommandStack(doc)
    stack.apply('add', [kp('a', 1)])
    stack.apply('add', [kp('b', 500)])
    stack.apply('move', [translate(doc.get('a')!, 1000, 0)])
    stack.apply('delete', [], ['b'])
    expect(doc.size).toBe(1)
    expect(doc.inRect({ x0: 0, y0: -1, x1: 10, y1: 1 })).toHaveLength(0)
    stack.undo()
    stack.undo()
    expect(doc.get('a')!.keypoint).toEqual({ x: 1, y: 0 })
    expect(doc.inRect({ x0: 0, y0: -1, x1: 10, y1: 1 }).map((s) => s.id)).toEqual(['a'])
    expect(doc.size).toBe(2)
    stack.redo()
    expect(doc.get('a')!.keypoint).toEqual({ x: 1001, y: 0 })
    stack.apply('add', [kp('c', 3)]) // a new edit drops what could be redone
    expect(stack.canRedo).toBe(false)
    stack.undo()
    stack.undo()
    stack.undo()
    stack.undo()
    expect(doc.size).toBe(0)
    expect(stack.canUndo).toBe(false)
  })

  it('keeps at least 200 steps', () => {
    const doc = new ShapeDocument()
    const stack = new CommandStack(doc)
    for (let i = 0; i < 250; i++) stack.apply('move', [kp('a', i)])
    let n = 0
    while (stack.undo()) n++
    expect(n).toBeGreaterThanOrEqual(200)
    expect(doc.get('a')).toBeUndefined()
  })

  it('sends each step to a redirect target instead of applying it', () => {
    const doc = new ShapeDocument()
    const stack = new CommandStack(doc)
    const seen: string[] = []
    stack.redirect((cmd) => seen.push(`${cmd.label}:${cmd.changes.map((c) => c.id).join(',')}`))
    stack.apply('add', [kp('a', 1), kp('b', 2)])
    expect(seen).toEqual(['add:a,b'])
    expect(doc.size).toBe(0)
    expect(stack.canUndo).toBe(false)
    stack.redirect(null)
    stack.apply('add', [kp('a', 1)])
    expect(doc.size).toBe(1)
  })
})
