// Short messages in the corner: errors show the problem's title and its `detail` (RFC 9457).
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { ApiError } from '../api/client'

export interface Toast {
  id: number
  kind: 'error' | 'info'
  title: string
  detail?: string | undefined
}

const LIFETIME_MS = 8000

export const useToasts = defineStore('toasts', () => {
  const toasts = ref<Toast[]>([])
  let nextId = 1

  function push(kind: Toast['kind'], title: string, detail?: string): number {
    const id = nextId++
    toasts.value.push({ id, kind, title, detail })
    setTimeout(() => dismiss(id), kind === 'error' ? LIFETIME_MS * 2 : LIFETIME_MS)
    return id
  }

  function dismiss(id: number): void {
    toasts.value = toasts.value.filter((t) => t.id !== id)
  }

  /** Shows any error the API client throws; `what` says what was being done ("Saving"). */
  function error(e: unknown, what?: string): void {
    if (e instanceof ApiError) {
      const fields = e.fieldErrors.map((f) => (f.field ? `${f.field}: ${f.message}` : f.message)).join('; ')
      const detail = e.problem.detail ?? (fields || undefined)
      push('error', what ? `${what}: ${e.problem.title}` : e.problem.title, detail)
    } else {
      push('error', what ? `${what} failed` : 'Something went wrong', e instanceof Error ? e.message : String(e))
    }
  }

  return { toasts, push, dismiss, error, info: (title: string, detail?: string) => push('info', title, detail) }
})
