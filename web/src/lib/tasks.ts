// What the work screens may offer on a task, and how its history reads. Pure: the queue page, the
// editor's task bar and their tests share it. The server decides in the end (403 for a role that
// may not act, 409 for a task that moved on); these rules only keep buttons that would fail hidden.
import type { TaskEvent, WorkflowStage } from '../api/types'

/** Stage types where a person works on the task and can ask for "my next task". */
export const HUMAN_STAGES = ['annotate', 'review', 'consensus']

const ANNOTATE_ROLES = ['owner', 'admin', 'reviewer', 'annotator']
const REVIEW_ROLES = ['owner', 'admin', 'reviewer']

export type TaskAction = 'submit' | 'approve' | 'reject'

/** Whether `role` may claim tasks on a stage of this type (annotate, consensus: annotators; review: reviewers). */
export function canClaim(stageType: string, role: string): boolean {
  if (stageType === 'review') return REVIEW_ROLES.includes(role)
  return HUMAN_STAGES.includes(stageType) && ANNOTATE_ROLES.includes(role)
}

/** The actions of a task bar on a stage of this type for `role`, in the order they are shown. */
export function taskActions(stageType: string, role: string): TaskAction[] {
  if (!canClaim(stageType, role)) return []
  return stageType === 'review' ? ['approve', 'reject'] : ['submit']
}

/** A stage's states (config.states), or the one state every stage has without a list. */
export function stageStates(stage: WorkflowStage | undefined): string[] {
  const states = stage?.config?.states
  return Array.isArray(states) && states.length ? states : ['new']
}

/** "Review" for the stage id "check" named "Review"; the id itself when the workflow lacks it. */
export function stageName(stages: WorkflowStage[], id: string | null): string {
  if (!id) return ''
  return stages.find((s) => s.id === id)?.name || id
}

const VERBS: Record<string, string> = {
  created: 'Entered the workflow',
  route: 'Moved on',
  claim: 'Claimed',
  assign: 'Assigned',
  unassign: 'Unassigned',
  submit: 'Submitted',
  approve: 'Approved',
  reject: 'Rejected',
  state: 'State changed',
  move: 'Moved by a manager',
  consensus: 'Consensus judged',
  continue: 'Continued',
}

/** One line of a task's history: what happened, where it went, and the comment if any. */
export function describeEvent(e: TaskEvent, stages: WorkflowStage[], who: (userId: string) => string = (id) => id.slice(0, 8)): string {
  const verb = VERBS[e.action] ?? e.action.replace(/_/g, ' ')
  const parts = [verb]
  const from = stageName(stages, e.from_stage)
  const to = stageName(stages, e.to_stage)
  if (e.action === 'state' && e.to_state) parts.push(`to ${e.to_state}`)
  else if (from && to && from !== to) parts.push(`${from} → ${to}`)
  else if (to && !from) parts.push(`into ${to}`)
  else if (from) parts.push(`in ${from}`)
  if (e.actor_id) parts.push(`by ${who(e.actor_id)}`)
  let line = parts.join(' ')
  if (e.comment) line += `: “${e.comment}”`
  return line
}

/** The reject that sent the task back, when nothing was submitted or approved since: the annotator sees why. */
export function lastRejection(history: TaskEvent[]): TaskEvent | null {
  for (let i = history.length - 1; i >= 0; i--) {
    const e = history[i]!
    if (e.action === 'reject') return e
    if (e.action === 'submit' || e.action === 'approve') return null
  }
  return null
}
