// Keyboard shortcuts: every action registers here with its keys and a description, so `?` can list
// them all. Keys are written like "?", "g d" (a sequence), "Mod+z" (Ctrl, or ⌘ on a Mac),
// "Shift+Delete". Shortcuts are ignored while typing in a field, except those marked `inInputs`.
import { onBeforeUnmount, reactive } from 'vue'

export interface Shortcut {
  keys: string
  description: string
  group: string
  run: (e: KeyboardEvent) => void
  inInputs?: boolean
}

/** Everything registered now, in registration order (the help dialog reads it). */
export const registry = reactive<Shortcut[]>([])

const SEQUENCE_MS = 1200
let pending: string | null = null
let pendingAt = 0

/** "Mod+Shift+z" for a key event, with Mod standing for Ctrl or ⌘. */
export function keyName(e: KeyboardEvent): string {
  const parts: string[] = []
  if (e.ctrlKey || e.metaKey) parts.push('Mod')
  if (e.altKey) parts.push('Alt')
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key
  // Shift is implied by characters such as "?" or "Z"; name it only for named keys and letters
  if (e.shiftKey && (e.key.length > 1 || /[a-z]/i.test(e.key))) parts.push('Shift')
  parts.push(key === ' ' ? 'Space' : key)
  return parts.join('+')
}

function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null
  if (!el || !el.tagName) return false
  if (el.isContentEditable || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT') return true
  // radios, checkboxes and buttons take no text: shortcuts keep working after a click on one
  return el.tagName === 'INPUT' && !['radio', 'checkbox', 'button', 'submit', 'range', 'color'].includes((el as HTMLInputElement).type)
}

export function dispatch(e: KeyboardEvent): void {
  if (e.defaultPrevented || ['Shift', 'Control', 'Meta', 'Alt'].includes(e.key)) return
  const name = keyName(e)
  const now = Date.now()
  const seq = pending && now - pendingAt < SEQUENCE_MS ? `${pending} ${name}` : null
  const inField = typing(e.target)
  const candidates = [...registry].reverse() // the latest registration (the open screen) wins
  const hit = candidates.find((s) => (s.keys === seq || s.keys === name) && (!inField || s.inInputs))
  if (hit) {
    pending = null
    e.preventDefault()
    hit.run(e)
    return
  }
  if (!inField && registry.some((s) => s.keys.startsWith(`${name} `))) {
    pending = name
    pendingAt = now
  } else {
    pending = null
  }
}

export function register(shortcut: Shortcut): () => void {
  registry.push(shortcut)
  return () => {
    const i = registry.indexOf(shortcut)
    if (i >= 0) registry.splice(i, 1)
  }
}

/** Registers shortcuts for the life of the calling component. */
export function useShortcuts(list: Shortcut[]): void {
  const undo = list.map(register)
  onBeforeUnmount(() => undo.forEach((u) => u()))
}

/** How a key combination reads in the help dialog ("Ctrl+Z"). */
export function describeKeys(keys: string): string {
  const mac = typeof navigator !== 'undefined' && /Mac/.test(navigator.platform)
  return keys
    .split(' ')
    .map((k) =>
      k
        .split('+')
        .map((p) => (p === 'Mod' ? (mac ? '⌘' : 'Ctrl') : p.length === 1 ? p.toUpperCase() : p))
        .join('+'),
    )
    .join(' then ')
}
