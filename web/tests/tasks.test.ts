import { describe, expect, it } from 'vitest'
import type { TaskEvent, WorkflowStage } from '../src/api/types'
import { canClaim, describeEvent, lastRejection, stageName, stageStates, taskActions } from '../src/lib/tasks'

const STAGES: WorkflowStage[] = [
  { id: 'label', name: 'Draw the cars', type: 'annotate', config: { states: ['new', 'blocked'] } },
  { id: 'check', name: 'Review', type: 'review' },
  { id: 'done', name: 'done', type: 'complete' },
]

function ev(action: string, more: Partial<TaskEvent> = {}): TaskEvent {
  return { action, actor_id: null, subject_id: null, from_stage: null, from_state: null, to_stage: null, to_state: null, port: null, comment: null, at: '2026-01-01T00:00:00Z', ...more }
}

describe('task rules', () => {
  it('offers submit on annotate stages and approve/reject on review stages, by role', () => {
    expect(taskActions('annotate', 'annotator')).toEqual(['submit'])
    expect(taskActions('consensus', 'reviewer')).toEqual(['submit'])
    expect(taskActions('review', 'reviewer')).toEqual(['approve', 'reject'])
    expect(taskActions('review', 'owner')).toEqual(['approve', 'reject'])
    expect(taskActions('review', 'annotator')).toEqual([])
    expect(taskActions('annotate', 'viewer')).toEqual([])
    expect(taskActions('complete', 'owner')).toEqual([])
  })

  it('lets only the stage pool roles claim', () => {
    expect(canClaim('annotate', 'annotator')).toBe(true)
    expect(canClaim('review', 'annotator')).toBe(false)
    expect(canClaim('sampling', 'owner')).toBe(false)
  })

  it('reads states and names from the workflow', () => {
    expect(stageStates(STAGES[0])).toEqual(['new', 'blocked'])
    expect(stageStates(STAGES[1])).toEqual(['new'])
    expect(stageStates(undefined)).toEqual(['new'])
    expect(stageName(STAGES, 'label')).toBe('Draw the cars')
    expect(stageName(STAGES, 'gone')).toBe('gone')
    expect(stageName(STAGES, null)).toBe('')
  })

  it('describes history lines with stage names, actors and comments', () => {
    const who = (id: string) => (id === 'u1' ? 'ann@x' : 'rev@x')
    expect(describeEvent(ev('reject', { actor_id: 'u2', from_stage: 'check', to_stage: 'label', comment: 'wheel missing' }), STAGES, who)).toBe(
      'Rejected Review → Draw the cars by rev@x: “wheel missing”',
    )
    expect(describeEvent(ev('submit', { actor_id: 'u1', from_stage: 'label', to_stage: 'label' }), STAGES, who)).toBe('Submitted in Draw the cars by ann@x')
    expect(describeEvent(ev('created', { to_stage: 'label' }), STAGES)).toBe('Entered the workflow into Draw the cars')
    expect(describeEvent(ev('state', { actor_id: 'u1', from_stage: 'label', to_stage: 'label', to_state: 'blocked' }), STAGES, who)).toBe('State changed to blocked by ann@x')
    expect(describeEvent(ev('some_new_action'), STAGES)).toBe('some new action')
  })

  it('finds the rejection that is still open', () => {
    const reject = ev('reject', { comment: 'redo' })
    expect(lastRejection([ev('submit'), reject, ev('route'), ev('claim')])).toBe(reject)
    expect(lastRejection([reject, ev('submit')])).toBeNull()
    expect(lastRejection([ev('created'), ev('route')])).toBeNull()
  })
})
