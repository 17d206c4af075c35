import { describe, expect, it } from 'vitest'
import { KINDS } from '../../src/editor/geometry'
import { TOOLS, VIDEO_TOOLS } from '../../src/editor/tools'

describe('tools', () => {
  it('each has a key of its own and makes a type the editor knows', () => {
    const keys = TOOLS.map((t) => t.keys)
    expect(new Set(keys).size).toBe(keys.length)
    for (const t of TOOLS) if (t.type) expect(KINDS).toContain(t.type)
  })

  it('offers the rotated box on R, in the image and the video editor', () => {
    const r = TOOLS.find((t) => t.type === 'rotated_box')
    expect(r).toMatchObject({ name: 'rotated_box', keys: 'r', label: 'Rotated box' })
    expect(TOOLS.indexOf(r!)).toBe(TOOLS.findIndex((t) => t.name === 'box') + 1)
    expect(VIDEO_TOOLS).toContain(r)
  })
})
