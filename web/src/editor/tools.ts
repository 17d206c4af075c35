// The drawing tools the editors offer: their names, labels, shortcut keys and the annotation type
// each one makes (what a class must allow for the tool to draw with it).
import type { ToolName } from './editor'

export interface ToolDef {
  name: ToolName
  label: string
  keys: string
  /** Annotation type the tool makes ('' for select). */
  type: string
}

/** Every tool, in tool-bar order (the image editor offers them all). */
export const TOOLS: readonly ToolDef[] = [
  { name: 'select', label: 'Select', keys: 'v', type: '' },
  { name: 'box', label: 'Box', keys: 'b', type: 'bounding_box' },
  { name: 'rotated_box', label: 'Rotated box', keys: 'r', type: 'rotated_box' },
  { name: 'polygon', label: 'Polygon', keys: 'p', type: 'polygon' },
  { name: 'line', label: 'Polyline', keys: 'l', type: 'line' },
  { name: 'keypoint', label: 'Keypoint', keys: 'k', type: 'keypoint' },
  { name: 'skeleton', label: 'Skeleton', keys: 's', type: 'skeleton' },
  { name: 'ellipse', label: 'Ellipse', keys: 'o', type: 'ellipse' },
  { name: 'cuboid', label: 'Cuboid', keys: 'u', type: 'cuboid' },
  { name: 'brush', label: 'Brush', keys: 'm', type: 'mask' },
  { name: 'eraser', label: 'Eraser', keys: 'Shift+m', type: 'mask' },
]

/** The tools whose shapes a video track interpolates. */
export const VIDEO_TOOLS: readonly ToolDef[] = TOOLS.filter((t) => ['select', 'box', 'rotated_box', 'polygon', 'line', 'keypoint', 'ellipse'].includes(t.name))
