import { describe, expect, it } from 'vitest'
import { filterFromQuery, queryFromFilter } from '../src/lib/filters'

describe('grid filters in the URL', () => {
  it('keep the workflow stage and state', () => {
    const f = filterFromQuery('d1', { stage: 'label', state: 'blocked', status: 'ready' })
    expect(f).toEqual({ dataset_id: 'd1', stage: 'label', state: 'blocked', status: ['ready'] })
    expect(queryFromFilter(f)).toEqual({ status: 'ready', stage: 'label', state: 'blocked' })
    expect(filterFromQuery('d1', {})).toEqual({ dataset_id: 'd1' })
  })
})
