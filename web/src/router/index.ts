// Every screen has its own URL (history mode: louped answers index.html for any path that is not
// the API's, so deep links and reloads work). Pages other than /signin need a session; without one
// the guard sends the user to /signin?next=<the page asked for> and back there after signing in.
import { createRouter, createWebHistory, type RouteLocationNormalized } from 'vue-router'
import { useSession } from '../stores/session'

export const router = createRouter({
  history: createWebHistory('/'),
  routes: [
    { path: '/', redirect: '/datasets' },
    { path: '/signin', name: 'signin', component: () => import('../views/SignInView.vue'), meta: { public: true, title: 'Sign in' } },
    { path: '/datasets', name: 'datasets', component: () => import('../views/DatasetsView.vue'), meta: { title: 'Datasets' } },
    { path: '/datasets/:id', name: 'dataset', component: () => import('../views/DatasetView.vue'), props: true, meta: { title: 'Dataset' } },
    { path: '/items/:id', name: 'item', component: () => import('../views/ItemView.vue'), props: true, meta: { title: 'Editor', wide: true } },
    { path: '/queues', name: 'work', component: () => import('../views/WorkView.vue'), meta: { title: 'Work' } },
    { path: '/queues/:id', name: 'workflow', component: () => import('../views/WorkView.vue'), props: true, meta: { title: 'Work' } },
    { path: '/settings/api-keys', name: 'api-keys', component: () => import('../views/ApiKeysView.vue'), meta: { title: 'API keys' } },
    { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('../views/NotFoundView.vue'), meta: { public: true, title: 'Not found' } },
  ],
})

/** Where to go after signing in: a same-site path from ?next=, else the datasets. */
export function afterSignIn(route: RouteLocationNormalized): string {
  const next = route.query.next
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') ? next : '/datasets'
}

router.beforeEach(async (to) => {
  const session = useSession()
  if (!session.loaded) {
    try {
      await session.load()
    } catch {
      // the server could not be asked: public pages still render; App.vue shows the failure
      if (!to.meta.public) return true
    }
  }
  if (to.name === 'signin' && session.session) return afterSignIn(to)
  if (!to.meta.public && !session.session) return { name: 'signin', query: { next: to.fullPath } }
  return true
})

router.afterEach((to) => {
  document.title = to.meta.title ? `${String(to.meta.title)} · Loupe` : 'Loupe'
})
