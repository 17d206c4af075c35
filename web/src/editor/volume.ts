// Volume slots in the browser (no Vue, no WebGL): the slot metadata the viewer reads, window
// presets as intensity ranges, and the brush labels of a volume ⇄ its annotations.
//
// The viewer paints into one label per voxel of the normalized RAS+ volume (x fastest: index
// i + nx·(j + ny·k)), the order louped serves it in and NiiVue draws it in. Annotations on a volume
// slot live on axial slices (frame = k, docs/VOLUMES.md): pixel (x, y) of slice k is voxel
// (x, ny − 1 − y, k). Each class painted is one mask annotation framed on the slices where it has
// voxels, and the slot's raster layer holds one frame per such slice (a dense RLE of the slice
// mapping each mask to its pixels) — the form the NIfTI export and import use too.

import { RasterLayer } from './raster'

export interface VolumeWindow {
  name: string
  center: number
  width: number
}

/** The fields of a volume slot's `media` metadata the viewer reads. */
export interface VolumeMeta {
  shape: [number, number, number]
  pixdim: [number, number, number]
  windows: VolumeWindow[]
  modality: string
}

/** Reads the metadata of a volume slot (GET …/media's `media`), or null when it is not one. */
export function readVolumeMeta(media: unknown): VolumeMeta | null {
  if (!media || typeof media !== 'object') return null
  const m = media as Record<string, unknown>
  const shape = m.shape
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((n) => Number.isInteger(n) && n > 0)) return null
  const pixdim = Array.isArray(m.pixdim) && m.pixdim.length === 3 ? (m.pixdim as number[]) : [1, 1, 1]
  const windows = Array.isArray(m.windows)
    ? (m.windows as unknown[]).filter(
        (w): w is VolumeWindow =>
          !!w && typeof w === 'object' && typeof (w as VolumeWindow).name === 'string' && (w as VolumeWindow).width > 0,
      )
    : []
  return {
    shape: shape as [number, number, number],
    pixdim: pixdim as [number, number, number],
    windows,
    modality: typeof m.modality === 'string' ? m.modality : '',
  }
}

/** A window as the intensity range [min, max] a display maps from black to white. */
export function windowRange(w: VolumeWindow): [number, number] {
  return [w.center - w.width / 2, w.center + w.width / 2]
}

/** Keyboard-free names of presets: "soft_tissue" → "Soft tissue". */
export function windowLabel(w: VolumeWindow): string {
  const s = w.name.replace(/_/g, ' ')
  return s.charAt(0).toUpperCase() + s.slice(1)
}

/** "#rrggbb", "#rgb", "rgb(r, g, b)" or "rgba(r, g, b, a)" as [r, g, b] (0…255), or null. */
export function parseColor(color: string): [number, number, number] | null {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color.trim())
  if (hex) {
    const h = hex[1]!.length === 3 ? [...hex[1]!].map((c) => c + c).join('') : hex[1]!
    return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)) as [number, number, number]
  }
  const fn = /^rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)/i.exec(color.trim())
  return fn ? ([fn[1], fn[2], fn[3]].map((n) => Math.min(255, Number(n))) as [number, number, number]) : null
}

/**
 * The brush's colour table: RGBA for each label 0…255, label 0 transparent and label l + 1 the
 * colour of colors[l] (grey where it does not parse), so painted voxels show in their class colour.
 */
export function labelColors(colors: string[]): Uint8ClampedArray {
  const lut = new Uint8ClampedArray(256 * 4)
  for (let l = 1; l < 256; l++) {
    const c = (colors[l - 1] !== undefined ? parseColor(colors[l - 1]!) : null) ?? [160, 160, 160]
    lut.set([c[0], c[1], c[2], 255], l * 4)
  }
  return lut
}

/** A stored annotation as the viewer reads it (only what it needs). */
export interface VolumeAnnotation {
  id: string
  class_id: string
  slot: string
  frames?: Record<string, Record<string, unknown>>
  [k: string]: unknown
}

function isMask(a: VolumeAnnotation): boolean {
  return !!a.frames && Object.values(a.frames).some((f) => 'mask' in f)
}

function isLayer(a: VolumeAnnotation): boolean {
  return !!a.frames && Object.values(a.frames).some((f) => 'raster_layer' in f)
}

/** The annotations of slot that the brush owns: its masks and its raster layer. */
export function brushAnnotations(anns: VolumeAnnotation[], slot: string): VolumeAnnotation[] {
  return anns.filter((a) => a.slot === slot && (isMask(a) || isLayer(a)))
}

/**
 * The label volume of a slot's masks: each voxel the label `labelOf` gives the class of the mask
 * covering it (0 where none, or where the class has no label). `shape` is [nx, ny, nz].
 */
export function labelsFromAnnotations(
  anns: VolumeAnnotation[],
  slot: string,
  shape: [number, number, number],
  labelOf: (classId: string) => number,
): Uint8Array {
  const [nx, ny, nz] = shape
  const out = new Uint8Array(nx * ny * nz)
  const owned = brushAnnotations(anns, slot)
  const classOf = new Map(owned.filter(isMask).map((a) => [a.id, a.class_id]))
  for (const layer of owned.filter(isLayer)) {
    for (const [f, frame] of Object.entries(layer.frames ?? {})) {
      const k = Number(f)
      const r = frame.raster_layer as { dense_rle?: number[]; mask_annotation_ids_mapping?: Record<string, number> } | undefined
      if (!r || !Array.isArray(r.dense_rle) || !Number.isInteger(k) || k < 0 || k >= nz) continue
      const value = new Uint8Array(256)
      for (const [id, l] of Object.entries(r.mask_annotation_ids_mapping ?? {})) {
        const cls = classOf.get(id)
        if (cls && l > 0 && l < 256) value[l] = labelOf(cls)
      }
      const slice = RasterLayer.decode(nx, ny, r.dense_rle).labels
      for (let y = 0; y < ny; y++) {
        const dst = nx * (ny - 1 - y + ny * k)
        for (let x = 0; x < nx; x++) {
          const v = value[slice[y * nx + x]!]!
          if (v) out[dst + x] = v
        }
      }
    }
  }
  return out
}

/** Runs of true as Darwin ranges [start, end). */
function ranges(on: boolean[]): [number, number][] {
  const out: [number, number][] = []
  for (let k = 0; k < on.length; k++) {
    if (!on[k] || (k > 0 && on[k - 1])) continue
    let e = k
    while (e < on.length && on[e]) e++
    out.push([k, e])
  }
  return out
}

/**
 * The brush's annotations holding a label volume: one mask per class painted (its class from
 * `classOf`, label → class id) framed on the axial slices where it has voxels, and one raster layer
 * of class `layerClass` with a frame per such slice. Ids are kept from `current` (the brush's
 * annotations as they are): a class's mask keeps its id while the class stays painted, and the
 * layer keeps its id — so a stroke is an update of the same annotations, one undoable step for the
 * editor's command stack, journal and saver. `newId` makes the ids of what is new.
 */
export function labelsToShapes(
  labels: Uint8Array,
  shape: [number, number, number],
  slot: string,
  classOf: (label: number) => string | undefined,
  layerClass: string,
  current: VolumeAnnotation[],
  newId: () => string,
): VolumeAnnotation[] {
  const [nx, ny, nz] = shape
  const present: boolean[][] = Array.from({ length: 256 }, () => new Array<boolean>(nz).fill(false))
  for (let k = 0; k < nz; k++)
    for (let i = k * nx * ny, e = i + nx * ny; i < e; i++) {
      const v = labels[i]!
      if (v) present[v]![k] = true
    }
  const mine = brushAnnotations(current, slot)
  const maskIds = new Map(mine.filter(isMask).map((a) => [a.class_id, a.id]))
  const out: VolumeAnnotation[] = []
  const maskOf = new Map<number, { id: string; layerLabel: number }>()
  for (let v = 1; v < 256; v++) {
    const cls = classOf(v)
    const on = present[v]!
    if (!cls || !on.some(Boolean)) continue
    const id = maskIds.get(cls) ?? newId()
    maskIds.delete(cls)
    maskOf.set(v, { id, layerLabel: maskOf.size + 1 })
    const frames: Record<string, Record<string, unknown>> = {}
    on.forEach((x, k) => {
      if (x) frames[String(k)] = { keyframe: true, mask: {} }
    })
    out.push({ id, class_id: cls, slot, frames, ranges: ranges(on) })
  }
  if (maskOf.size) {
    const mapping = Object.fromEntries([...maskOf.values()].map((m) => [m.id, m.layerLabel]))
    const any = new Array<boolean>(nz).fill(false)
    const frames: Record<string, Record<string, unknown>> = {}
    const slice = new RasterLayer(nx, ny)
    for (let k = 0; k < nz; k++) {
      let painted = false
      for (let y = 0; y < ny; y++) {
        const src = nx * (ny - 1 - y + ny * k)
        for (let x = 0; x < nx; x++) {
          const m = maskOf.get(labels[src + x]!)
          slice.labels[y * nx + x] = m ? m.layerLabel : 0
          painted ||= !!m
        }
      }
      if (!painted) continue
      any[k] = true
      frames[String(k)] = {
        keyframe: true,
        raster_layer: { dense_rle: slice.encode(), mask_annotation_ids_mapping: mapping, total_pixels: nx * ny },
      }
    }
    out.push({ id: mine.find(isLayer)?.id ?? newId(), class_id: layerClass, slot, frames, ranges: ranges(any) })
  }
  return out
}

/**
 * The batch that stores a label volume as new annotations (labelsToShapes with new ids): the
 * brush's earlier annotations (`previous`) deleted, the masks and raster layer created.
 */
export function labelsToBatch(
  labels: Uint8Array,
  shape: [number, number, number],
  slot: string,
  classOf: (label: number) => string | undefined,
  layerClass: string,
  previous: VolumeAnnotation[],
  newId: () => string,
): { create: Record<string, unknown>[]; delete: string[] } {
  return { create: labelsToShapes(labels, shape, slot, classOf, layerClass, [], newId), delete: previous.map((a) => a.id) }
}

/**
 * One stroke as a step on the brush's annotations: those whose content changed (`after` new or
 * different from `current`) and the ids of those no longer painted.
 */
export function brushStep(
  current: VolumeAnnotation[],
  after: VolumeAnnotation[],
  same: (a: unknown, b: unknown) => boolean,
): { changed: VolumeAnnotation[]; removed: string[] } {
  const now = new Map(current.map((a) => [a.id, a]))
  const kept = new Set(after.map((a) => a.id))
  return {
    changed: after.filter((a) => !same(a, now.get(a.id))),
    removed: current.filter((a) => !kept.has(a.id)).map((a) => a.id),
  }
}

/** How many voxels hold a label. */
export function countLabelled(labels: Uint8Array): number {
  let n = 0
  for (const v of labels) if (v) n++
  return n
}
