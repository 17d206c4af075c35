// Undo and redo: every edit is a command that knows the shapes before and after. The stack keeps
// at least `limit` steps (default 500); a new edit after some undos drops the redo branch.
import type { ShapeDocument } from './document'
import type { Shape } from './geometry'

/** One undoable step: for each touched id, the shape before (null: absent) and after. */
export interface Command {
  label: string
  changes: { id: string; before: Shape | null; after: Shape | null }[]
}

export class CommandStack {
  private done: Command[] = []
  private undone: Command[] = []
  private readonly listeners = new Set<() => void>()
  /** Set by a host that keeps the shapes elsewhere (see redirect). */
  private target: ((cmd: Command) => void) | null = null

  constructor(
    private readonly doc: ShapeDocument,
    private readonly limit = 500,
  ) {}

  get canUndo(): boolean {
    return this.done.length > 0
  }

  get canRedo(): boolean {
    return this.undone.length > 0
  }

  get depth(): number {
    return this.done.length
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private changed(): void {
    for (const fn of this.listeners) fn()
  }

  /**
   * Sends every step to `target` instead of applying and recording it (null: back to normal). For
   * a host whose document only shows derived shapes: the video editor's document holds the shapes
   * of one frame, and a step on them becomes a step on the tracks they stand for.
   */
  redirect(target: ((cmd: Command) => void) | null): void {
    this.target = target
  }

  /** Applies and records a step. Changes whose before and after are the same object are dropped. */
  run(cmd: Command): void {
    const changes = cmd.changes.filter((c) => c.before !== c.after)
    if (!changes.length) return
    if (this.target) {
      this.target({ label: cmd.label, changes })
      return
    }
    for (const c of changes) this.doc.put(c.id, c.after)
    this.done.push({ label: cmd.label, changes })
    if (this.done.length > this.limit) this.done.shift()
    this.undone = []
    this.changed()
  }

  /** Convenience: replace shapes (each `after` keyed by its id; null entries in `removed`). */
  apply(label: string, after: Shape[], removed: string[] = []): void {
    const changes = [
      ...after.map((s) => ({ id: s.id, before: this.doc.get(s.id) ?? null, after: s })),
      ...removed.map((id) => ({ id, before: this.doc.get(id) ?? null, after: null })),
    ]
    this.run({ label, changes })
  }

  undo(): Command | undefined {
    const cmd = this.done.pop()
    if (!cmd) return undefined
    for (const c of [...cmd.changes].reverse()) this.doc.put(c.id, c.before)
    this.undone.push(cmd)
    this.changed()
    return cmd
  }

  redo(): Command | undefined {
    const cmd = this.undone.pop()
    if (!cmd) return undefined
    for (const c of cmd.changes) this.doc.put(c.id, c.after)
    this.done.push(cmd)
    this.changed()
    return cmd
  }

  clear(): void {
    this.done = []
    this.undone = []
    this.changed()
  }
}
