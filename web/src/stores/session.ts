// Who is signed in. Loaded once from GET /api/v1/me (the cookie survives reloads); the router's
// guard waits for it before deciding whether a page needs the sign-in form.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api } from '../api/client'
import type { LoginRequest, Session } from '../api/types'

const MANAGERS = ['owner', 'admin']
const ANNOTATORS = ['owner', 'admin', 'reviewer', 'annotator']

export const useSession = defineStore('session', () => {
  const session = ref<Session | null>(null)
  /** Whether this server has workflows (the Work screens are hidden until it does). */
  const hasWorkflows = ref(false)
  const loaded = ref(false)
  let loading: Promise<void> | null = null

  /** Asks the server once (again after `refresh`); errors propagate to the caller. */
  function load(): Promise<void> {
    loading ??= api
      .me()
      .then(async (s) => {
        session.value = s
        loaded.value = true
        if (s) await probeWorkflows()
      })
      .catch((e: unknown) => {
        loading = null
        throw e
      })
    return loading
  }

  async function probeWorkflows(): Promise<void> {
    hasWorkflows.value = await api.listWorkflows().then(
      (page) => page !== null,
      () => false,
    )
  }

  async function signIn(credentials: LoginRequest): Promise<Session> {
    const s = await api.login(credentials)
    session.value = s
    loaded.value = true
    await probeWorkflows()
    return s
  }

  async function signOut(): Promise<void> {
    await api.logout()
    session.value = null
  }

  /** The server said 401 on some call: the session is over. */
  function expired(): void {
    session.value = null
  }

  const canManage = computed(() => MANAGERS.includes(session.value?.role ?? ''))
  const canAnnotate = computed(() => ANNOTATORS.includes(session.value?.role ?? ''))

  return { session, loaded, hasWorkflows, load, signIn, signOut, expired, canManage, canAnnotate }
})
