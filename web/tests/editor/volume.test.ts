import { describe, expect, it } from 'vitest'
import { sameJson } from '../../src/editor/saver'
import { brushStep, labelColors, labelsFromAnnotations, labelsToBatch, labelsToShapes, parseColor, readVolumeMeta, windowRange, type VolumeAnnotation } from '../../src/editor/volume'

const SHAPE: [number, number, number] = [4, 3, 2]
const at = (i: number, j: number, k: number) => i + 4 * (j + 3 * k)

describe('volume slots', () => {
  it('reads the slot metadata and windows as ranges', () => {
    const meta = readVolumeMeta({ shape: [4, 3, 2], pixdim: [1, 2, 3], windows: [{ name: 'lung', center: -600, width: 1500 }, { name: 'bad', center: 0, width: 0 }], modality: 'CT' })
    expect(meta?.shape).toEqual([4, 3, 2])
    expect(meta?.windows.map((w) => w.name)).toEqual(['lung'])
    expect(windowRange(meta!.windows[0]!)).toEqual([-1350, 150])
    expect(readVolumeMeta({ shape: [4, 3] })).toBeNull()
    expect(readVolumeMeta(null)).toBeNull()
  })

  it('stores painted voxels as masks and a raster layer per axial slice, and reads them back', () => {
    const labels = new Uint8Array(4 * 3 * 2)
    labels[at(0, 2, 0)] = 1 // slice 0, pixel (0, 0): j = ny - 1 - y
    labels[at(3, 0, 1)] = 2 // slice 1, pixel (3, 2)
    labels[at(2, 0, 1)] = 1
    let n = 0
    const batch = labelsToBatch(labels, SHAPE, '0', (v) => (v === 1 ? 'cat' : v === 2 ? 'dog' : undefined), 'layer', [{ id: 'old', class_id: 'x', slot: '0' }], () => `id${++n}`)
    expect(batch.delete).toEqual(['old'])
    expect(batch.create.map((a) => a.class_id)).toEqual(['cat', 'dog', 'layer'])
    expect(batch.create[0]!.ranges).toEqual([[0, 2]])
    expect(Object.keys(batch.create[1]!.frames as object)).toEqual(['1'])
    const layer = batch.create[2]!.frames as Record<string, { raster_layer: { dense_rle: number[]; mask_annotation_ids_mapping: Record<string, number> } }>
    expect(layer['0']!.raster_layer.dense_rle).toEqual([1, 1, 0, 11])
    expect(layer['1']!.raster_layer.dense_rle).toEqual([0, 10, 1, 1, 2, 1])
    expect(layer['1']!.raster_layer.mask_annotation_ids_mapping).toEqual({ id1: 1, id2: 2 })
    const stored = batch.create.map((a) => ({ ...a, slot: '0' }) as unknown as VolumeAnnotation)
    const back = labelsFromAnnotations(stored, '0', SHAPE, (c) => (c === 'cat' ? 1 : c === 'dog' ? 2 : 0))
    expect([...back]).toEqual([...labels])
    // another slot's annotations are not the brush's
    expect([...labelsFromAnnotations(stored, '1', SHAPE, () => 1)].some(Boolean)).toBe(false)
  })

  it('colours labels by class', () => {
    expect(parseColor('#e4572e')).toEqual([228, 87, 46])
    expect(parseColor('#fff')).toEqual([255, 255, 255])
    expect(parseColor('rgba(0, 0, 255, 0.5)')).toEqual([0, 0, 255])
    expect(parseColor('teal')).toBeNull()
    const lut = labelColors(['#e4572e', 'teal'])
    expect([...lut.slice(0, 4)]).toEqual([0, 0, 0, 0])
    expect([...lut.slice(4, 8)]).toEqual([228, 87, 46, 255])
    expect([...lut.slice(8, 12)]).toEqual([160, 160, 160, 255])
  })

  it('writes nothing but the deletions when nothing is painted', () => {
    const batch = labelsToBatch(new Uint8Array(24), SHAPE, '0', () => 'cat', 'layer', [], () => 'x')
    expect(batch).toEqual({ create: [], delete: [] })
  })

  it('keeps the ids of the brush annotations from stroke to stroke, so a stroke is one undoable update', () => {
    const classOf = (v: number) => (v === 1 ? 'cat' : v === 2 ? 'dog' : undefined)
    let n = 0
    const newId = () => `new${++n}`
    const labels = new Uint8Array(24)
    labels[at(0, 0, 0)] = 1
    const first = labelsToShapes(labels, SHAPE, '0', classOf, 'layer', [], newId)
    expect(first.map((a) => a.id)).toEqual(['new1', 'new2'])
    // another voxel of the same class, and a second class: the cat mask and the layer keep their ids
    labels[at(1, 0, 1)] = 1
    labels[at(2, 0, 1)] = 2
    const second = labelsToShapes(labels, SHAPE, '0', classOf, 'layer', first, newId)
    expect(second.map((a) => [a.id, a.class_id])).toEqual([['new1', 'cat'], ['new3', 'dog'], ['new2', 'layer']])
    const step = brushStep(first, second, sameJson)
    expect(step.changed.map((a) => a.id)).toEqual(['new1', 'new3', 'new2'])
    expect(step.removed).toEqual([])
    // the dog voxel erased: its mask goes, the rest is unchanged but the layer
    labels[at(2, 0, 1)] = 0
    const third = labelsToShapes(labels, SHAPE, '0', classOf, 'layer', second, newId)
    const back = brushStep(second, third, sameJson)
    expect(back.removed).toEqual(['new3'])
    expect(back.changed.map((a) => a.id)).toEqual(['new2'])
    expect([...labelsFromAnnotations(third, '0', SHAPE, (c) => (c === 'cat' ? 1 : 2))]).toEqual([...labels])
    // nothing changed: an empty step
    expect(brushStep(third, labelsToShapes(labels, SHAPE, '0', classOf, 'layer', third, newId), sameJson)).toEqual({ changed: [], removed: [] })
  })
})
