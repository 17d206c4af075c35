import { describe, expect, it } from 'vitest'
import type { Shape } from '../src/editor/geometry'
import { annotationProperties, missingRequired, parsePropertyInput, propertyValues, withPropertyValues } from '../src/lib/properties'

const DEFS = annotationProperties([
  { id: 'p1', name: 'colour', type: 'single_select', required: true, options: [{ value: 'red' }, { value: 'blue', color: '#00f' }] },
  { id: 'p2', name: 'parts', type: 'multi-select', options: [{ value: 'wheel' }, { value: 'door' }] },
  { name: 'plate', type: 'text' },
  { name: 'speed', type: 'number', required: true },
  { name: 'weather', type: 'single_select', granularity: 'item', options: [] },
  'not a property',
])
const [colour, parts, plate, speed] = DEFS as [(typeof DEFS)[0], (typeof DEFS)[0], (typeof DEFS)[0], (typeof DEFS)[0]]

const box: Shape = { id: 'a', class_id: 'c', bounding_box: { x: 0, y: 0, w: 1, h: 1 } }

describe('annotation property values', () => {
  it('reads the class definition: annotation granularity only, Darwin spellings, options as values', () => {
    expect(DEFS.map((d) => d.name)).toEqual(['colour', 'parts', 'plate', 'speed'])
    expect(colour.options).toEqual(['red', 'blue'])
    expect(parts.type).toBe('multi_select')
    expect(colour.required && !plate.required).toBe(true)
  })

  it('sets, replaces and clears values without touching the input or other properties', () => {
    const a = withPropertyValues(box, colour, ['red'])
    expect(a.properties).toEqual([{ name: 'colour', value: 'red' }])
    expect(box.properties).toBeUndefined()
    const b = withPropertyValues(withPropertyValues(a, parts, ['wheel', 'door']), colour, ['blue'])
    expect(propertyValues(b, colour)).toEqual(['blue'])
    expect(propertyValues(b, parts)).toEqual(['wheel', 'door'])
    const c = withPropertyValues(withPropertyValues(b, parts, []), colour, [''])
    expect(c.properties).toBeUndefined()
  })

  it('matches stored values by id as well as by name', () => {
    const s: Shape = { ...box, properties: [{ id: 'p1', value: 'red' }, { name: 'plate', value: null }] }
    expect(propertyValues(s, colour)).toEqual(['red'])
    expect(propertyValues(s, plate)).toEqual([])
  })

  it('parses inputs by type and lists the required properties still missing', () => {
    expect(parsePropertyInput(speed, ' 42.5 ')).toBe(42.5)
    expect(parsePropertyInput(speed, 'fast')).toBeNull()
    expect(parsePropertyInput(plate, '')).toBeNull()
    expect(missingRequired(box, DEFS)).toEqual(['colour', 'speed'])
    expect(missingRequired(withPropertyValues(box, speed, [3]), DEFS)).toEqual(['colour'])
  })
})
