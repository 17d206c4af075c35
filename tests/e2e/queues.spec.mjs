#!/usr/bin/env node
// End-to-end test of the work queues in a real headless Chromium, against a real louped and worker.
//
//   LOUPE_E2E_URL, LOUPE_E2E_EMAIL, LOUPE_E2E_PASSWORD, LOUPE_E2E_API_KEY   as in app.spec.mjs (an owner)
//   LOUPE_E2E_IMAGES      a folder with a.jpg and b.jpg
//   LOUPE_E2E_ARTIFACTS   where screenshots go
//
// Set up through the API: a dataset of two images, a class, an annotator and a reviewer, and a
// workflow dataset → annotate → review → complete that the items enter. Then, each in their own
// browser: the annotator asks for the next task on the queue page, draws a box, submits (the next
// item opens by itself), submits again and finds the stage empty; the reviewer rejects the first
// item with a comment (the comment is required) and approves the second; the annotator gets the
// first back with the comment shown and resubmits with the keyboard; the reviewer approves it. The
// history on the item page shows every step; the grid shows stage and state and filters by them
// in the URL. axe-core on the queue page and the task bar; screenshots at 1280×720 and 1920×1080.

import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { apiClient, checkAxe, launch, log, main, readSpecConfig, shots, signIn, VIEWPORTS, waitUntil } from './lib.mjs'

const PASSWORD = 'queues end to end password'
const COMMENT = 'The car on the left has no box'

function config() {
  return readSpecConfig('queues.spec.mjs', { images: ['LOUPE_E2E_IMAGES', true] })
}



/** A ready item holding the image at path. */
async function readyItem(cfg, api, datasetId, path, name) {
  const item = await api('POST', `/api/v1/datasets/${datasetId}/items`, { name, slots: [{ name: '0', type: 'image' }] })
  const r = await fetch(`${cfg.origin}/api/v1/items/${item.id}/slots/0/file`, {
    method: 'PUT',
    headers: { Authorization: `ApiKey ${cfg.apiKey}`, 'Content-Type': 'image/jpeg' },
    body: await readFile(path),
  })
  assert.equal(r.status, 202, await r.text())
  for (let i = 0; i < 480; i++) {
    const it = await api('GET', `/api/v1/items/${item.id}`)
    if (it.status === 'ready') return item.id
    assert.notEqual(it.status, 'error', `${name}: ${it.error}`)
    await new Promise((res) => setTimeout(res, 250))
  }
  throw new Error(`${name} did not become ready`)
}

/** A member with role, signed up through an invitation; their email. */
async function member(cfg, api, teamId, role) {
  const email = `${role}@queues.example.com`
  const inv = await api('POST', `/api/v1/teams/${teamId}/members`, { email, role })
  const r = await fetch(`${cfg.origin}/api/v1/invitations/accept`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token: inv.token, password: PASSWORD }),
  })
  assert.equal(r.status, 201, await r.text())
  return email
}

/** A browser context signed in as email; its page. */
async function person(b, cfg, email, errors) {
  const context = await b.newContext()
  context.setDefaultTimeout(cfg.timeout)
  const page = await context.newPage()
  page.on('pageerror', (e) => errors.push(`${email}: ${e.message}`))
  await signIn(page, cfg.origin, email, PASSWORD)
  return page
}

function itemOf(page) {
  const m = /\/items\/([0-9a-f-]{36})/.exec(page.url())
  return m ? m[1] : null
}

async function openQueue(page, cfg, wf) {
  await page.goto(`${cfg.origin}/queues/${wf}`)
  await page.getByRole('region', { name: 'Stage board' }).waitFor()
}

/** Clicks the stage's next-task button; waits for the editor and its task bar. Returns the item id. */
async function claimNext(page, stage) {
  await page.locator(`[data-next="${stage}"]`).click()
  await page.waitForURL(/\/items\/.+\?task=/)
  await waitUntil(page, () => window.loupeEditor?.()?.drawn === true)
  await page.locator('[data-field="task-stage"]').waitFor()
  return itemOf(page)
}

/** Waits until the page left the item `from`: another item's task bar, or the queue saying `stage` is empty. */
async function movedOn(page, from, stage) {
  await waitUntil(page, 
    ([from, stage]) =>
      (location.pathname.startsWith('/items/') && !location.pathname.includes(from) && document.querySelector('[data-field="task-stage"]')) ||
      document.querySelector(`[data-empty="${stage}"]`),
    [from, stage],
  )
  if (itemOf(page)) await waitUntil(page, () => window.loupeEditor?.()?.drawn === true)
  return itemOf(page)
}

async function drawBox(page, at) {
  const canvas = await page.locator('canvas.editor-canvas').boundingBox()
  const screen = (x, y) => page.evaluate(([x, y]) => window.loupeEditor().view.toScreen({ x, y }), [x, y])
  await page.keyboard.press('b')
  const a = await screen(at, at)
  const z = await screen(at + 120, at + 90)
  await page.mouse.move(canvas.x + a.x, canvas.y + a.y)
  await page.mouse.down()
  await page.mouse.move(canvas.x + z.x, canvas.y + z.y, { steps: 6 })
  await page.mouse.up()
}

async function run(cfg, chromium) {
  const api = apiClient(cfg.origin, cfg.apiKey)
  const me = await api('GET', '/api/v1/me')
  const ds = await api('POST', '/api/v1/datasets', { name: 'Queue run' })
  const items = [
    await readyItem(cfg, api, ds.id, join(cfg.images, 'a.jpg'), 'a.jpg'),
    await readyItem(cfg, api, ds.id, join(cfg.images, 'b.jpg'), 'b.jpg'),
  ]
  const classes = (await api('GET', '/api/v1/classes?page[size]=200')).classes
  if (!classes.some((c) => c.name === 'vehicle')) await api('POST', '/api/v1/classes', { name: 'vehicle', annotation_types: ['bounding_box'], color: '#3c9d5d' })
  const annotator = await member(cfg, api, me.team.id, 'annotator')
  const reviewer = await member(cfg, api, me.team.id, 'reviewer')
  const wf = await api('POST', '/api/v1/workflows', {
    name: 'Vehicles',
    dataset_ids: [ds.id],
    stages: [
      { id: 'in', type: 'dataset' },
      { id: 'label', type: 'annotate', name: 'Draw vehicles', config: { assignees: 'any', states: ['new', 'in_progress', 'blocked'] } },
      { id: 'check', type: 'review', name: 'Check boxes' },
      { id: 'done', type: 'complete', name: 'Done' },
    ],
    edges: [
      { from: 'in', port: 'next', to: 'label' },
      { from: 'label', port: 'done', to: 'check' },
      { from: 'check', port: 'approve', to: 'done' },
      { from: 'check', port: 'reject', to: 'label' },
    ],
  })
  await api('POST', `/api/v1/workflows/${wf.id}/enter`, { filters: { dataset_id: ds.id } })
  log('ok - set up through the API: two ready items, an annotator, a reviewer, a four-stage workflow')

  const b = await launch(chromium, cfg.chromium, VIEWPORTS[0])
  const errors = []
  try {
    const ann = await person(b, cfg, annotator, errors)
    const rev = await person(b, cfg, reviewer, errors)

    // 1. The annotator's queue: the board with counts, "Start next task" only where the role works.
    await ann.getByRole('link', { name: 'Work' }).click()
    await ann.getByRole('link', { name: 'Vehicles' }).click()
    await ann.getByRole('region', { name: 'Stage board' }).waitFor()
    assert.match(await ann.locator('[data-stage="label"] .stage-count').innerText(), /^2 item/, 'two items wait in the annotate stage')
    assert.equal(await ann.locator('[data-next="check"]').count(), 0, 'an annotator is offered no review')
    assert.match(await ann.locator('[data-stage="check"]').innerText(), /does not work on review stages/)
    await shots(ann, cfg.artifacts, 'queue')
    await checkAxe(ann, 'the queue page')

    // 2. Claim, draw, submit: the next item opens by itself; after the second, the stage is empty.
    const first = await claimNext(ann, 'label')
    assert.ok(items.includes(first), 'the task opens its item')
    assert.equal(await ann.locator('[data-field="task-stage"]').innerText(), 'Draw vehicles')
    assert.match(await ann.locator('[data-field="task-holder"]').innerText(), /held by you/)
    assert.equal(await ann.locator('[data-action="approve"]').count(), 0, 'no approve for an annotator')
    await ann.keyboard.press('?')
    const help = ann.getByRole('dialog', { name: 'Keyboard shortcuts' })
    const listed = await help.innerText()
    for (const line of ['Submit the task', 'Approve the task', 'Reject the task with a comment', 'Show or hide the task history']) {
      assert.ok(listed.includes(line), `? lists "${line}"`)
    }
    await help.getByRole('button', { name: 'Close' }).click()
    await ann.locator('[data-field="task-state"]').selectOption('in_progress')
    await waitUntil(ann, () => document.querySelector('[data-field="task-state"]')?.value === 'in_progress')
    await drawBox(ann, 60)
    await shots(ann, cfg.artifacts, 'task-bar')
    await checkAxe(ann, 'the editor with its task bar')
    await ann.locator('[data-action="submit"]').click()
    const second = await movedOn(ann, first, 'label')
    assert.ok(second && second !== first && items.includes(second), 'after submitting, the next task opens')
    await drawBox(ann, 100)
    await ann.keyboard.press('Control+Enter')
    assert.equal(await movedOn(ann, second, 'label'), null, 'no task left: back on the queue')
    assert.match(await ann.locator('[data-empty="label"]').innerText(), /No open task in Draw vehicles/)
    await shots(ann, cfg.artifacts, 'queue-empty')
    for (const id of items) assert.equal((await api('GET', `/api/v1/items/${id}/annotations`)).annotations.length, 1, 'the box was saved before submitting')
    log('ok - the annotator claimed, drew, submitted twice (Ctrl+Enter the second time) and met the empty state')

    // 3. The reviewer: reject the first with a comment (required), approve the second.
    await openQueue(rev, cfg, wf.id)
    assert.equal(await rev.locator('[data-next="label"]').count(), 1, 'a reviewer may annotate too')
    const r1 = await claimNext(rev, 'check')
    assert.equal(await rev.locator('[data-action="submit"]').count(), 0, 'no submit on a review stage')
    await rev.keyboard.press('Shift+R')
    const confirm = rev.locator('[data-action="confirm-reject"]')
    await confirm.waitFor()
    assert.ok(await confirm.isDisabled(), 'a reject needs a comment')
    await rev.locator('[data-field="reject-comment"]').fill(COMMENT)
    await shots(rev, cfg.artifacts, 'reject-dialog')
    await confirm.click()
    const r2 = await movedOn(rev, r1, 'check')
    assert.ok(r2 && r2 !== r1, 'after rejecting, the next review opens')
    await rev.locator('[data-action="approve"]').click()
    assert.equal(await movedOn(rev, r2, 'check'), null, 'nothing left to review')
    log('ok - the reviewer rejected one item with a comment and approved the other')

    // 4. The annotator gets the rejected item back with the comment, and resubmits.
    await openQueue(ann, cfg, wf.id)
    const again = await claimNext(ann, 'label')
    assert.equal(again, r1, 'the rejected item comes back')
    assert.match(await ann.locator('[data-field="rejection"]').innerText(), new RegExp(COMMENT))
    await shots(ann, cfg.artifacts, 'task-rejected')
    await ann.keyboard.press('Control+Enter')
    assert.equal(await movedOn(ann, again, 'label'), null)

    // 5. The reviewer approves it with the keyboard.
    await openQueue(rev, cfg, wf.id)
    assert.equal(await claimNext(rev, 'check'), r1)
    await rev.keyboard.press('Shift+A')
    assert.equal(await movedOn(rev, r1, 'check'), null)
    log('ok - the annotator saw the comment and resubmitted; the reviewer approved (Shift+A)')

    // 6. The history on the item page, as the API has it.
    const task = await api('GET', `/api/v1/tasks/${(await api('GET', `/api/v1/items/${r1}`)).task.id}`)
    assert.equal(task.stage, 'done')
    const acts = task.history.map((e) => e.action).filter((a) => ['submit', 'approve', 'reject'].includes(a))
    assert.deepEqual(acts, ['submit', 'reject', 'submit', 'approve'])
    await rev.goto(`${cfg.origin}/items/${r1}`)
    await waitUntil(rev, () => window.loupeEditor?.()?.drawn === true)
    assert.equal(await rev.locator('[data-field="task-stage"]').innerText(), 'Done')
    await rev.keyboard.press('Shift+Y')
    const history = await rev.locator('[data-field="history"]').innerText()
    for (const line of ['Submitted', 'Rejected', COMMENT, 'Approved']) assert.ok(history.includes(line), `the history shows ${line}: ${history}`)
    await shots(rev, cfg.artifacts, 'task-history')
    await checkAxe(rev, 'the task history')
    log('ok - the history shows submit, reject with its comment, submit, approve')

    // 7. The grid: stage and state on each card, and the stage filter in the URL.
    await rev.goto(`${cfg.origin}/datasets/${ds.id}`)
    // (the badge names the stage once the dataset's workflow is read)
    await rev.locator('[data-field="task"]', { hasText: /Done · new/ }).nth(1).waitFor()
    const badges = await rev.locator('[data-field="task"]').allInnerTexts()
    assert.deepEqual(badges, ['Done · new', 'Done · new'])
    await rev.goto(`${cfg.origin}/datasets/${ds.id}?stage=label`)
    await rev.getByText('No item matches these filters').waitFor()
    await rev.goto(`${cfg.origin}/datasets/${ds.id}?stage=done&state=new`)
    await rev.locator('[data-field="task"]').nth(1).waitFor()
    assert.equal(await rev.locator('#filter-stage').inputValue(), 'done', 'the stage filter reads the URL')
    await shots(rev, cfg.artifacts, 'grid-stages')
    log('ok - the grid shows stage and state, and filters by them in the URL')

    assert.deepEqual(errors, [], 'no uncaught errors in the pages')
  } finally {
    await b.close()
  }
}

process.exitCode = await main(config, run, 'work queues: claim, submit, reject with a comment, resubmit, approve, history, grid')
