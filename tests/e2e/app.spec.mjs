#!/usr/bin/env node
// End-to-end test of Loupe's web app in a real headless Chromium, against a real louped and worker.
//
//   LOUPE_E2E_URL, LOUPE_E2E_EMAIL, LOUPE_E2E_PASSWORD   louped and an owner's credentials
//   LOUPE_E2E_API_KEY       that owner's API key (for setting up and checking through the API)
//   LOUPE_E2E_IMAGES        a folder with a.jpg, b.jpg, c.jpg and a sub-folder "street" of images
//   LOUPE_E2E_ARTIFACTS     where screenshots go (one PNG per screen and viewport)
//   LOUPE_E2E_BIG_DATASET   optional: a dataset id with many items (the 100,000-item grid)
//   LOUPE_E2E_CHROMIUM      optional: the browser binary (default /usr/bin/chromium)
//   LOUPE_E2E_TIMEOUT_MS    optional: how long one step may wait (default 20000)
//
// Steps: deep link without a session → sign-in → back to the page asked for; team and role shown;
// API keys (create, shown once, revoke); `?` lists the shortcuts; the 404 page; create a dataset;
// upload three images and a folder (paths kept) and watch them become ready; reload a filtered
// deep link; bulk-move two items; axe-core on each main screen; screenshots at 1280×720 and
// 1920×1080, and of the grid with many items when LOUPE_E2E_BIG_DATASET is set.
// Exit status: 0 passed, 1 failed, 77 skipped (no Chromium or playwright-core).

import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { apiClient, checkAxe, launch, log, main, readSpecConfig, screenshot, shots, VIEWPORTS, waitUntil } from './lib.mjs'


function config() {
  return readSpecConfig('app.spec.mjs', { images: ['LOUPE_E2E_IMAGES', true], bigDataset: ['LOUPE_E2E_BIG_DATASET', false] })
}

async function allItems(api, datasetId) {
  const out = []
  let next = `/api/v1/items?dataset_id=${datasetId}&page[size]=500`
  while (next) {
    const page = await api('GET', next)
    out.push(...page.items)
    next = page.next
  }
  return out
}



async function run(cfg, chromium) {
  const api = apiClient(cfg.origin, cfg.apiKey)
  const b = await launch(chromium, cfg.chromium, VIEWPORTS[0])
  try {
    const context = await b.newContext()
    context.setDefaultTimeout(cfg.timeout)
    const page = await context.newPage()
    const pageErrors = []
    page.on('pageerror', (e) => pageErrors.push(e.message))

    // 1. A deep link without a session: the sign-in form, then back to the page asked for.
    await page.goto(`${cfg.origin}/settings/api-keys`)
    await page.getByRole('heading', { name: 'Sign in to Loupe' }).waitFor()
    assert.equal(new URL(page.url()).searchParams.get("next"), "/settings/api-keys", 'the sign-in URL names the page asked for')
    await shots(page, cfg.artifacts, 'signin')
    await checkAxe(page, 'the sign-in page')
    await page.getByLabel('Email').fill(cfg.email)
    await page.getByLabel('Password').fill(cfg.password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'API keys' }).waitFor()
    assert.equal(new URL(page.url()).pathname, '/settings/api-keys', 'back at the page asked for')
    const me = await api('GET', '/api/v1/me')
    assert.equal((await page.locator('header [data-field="team"]').innerText()).trim(), me.team.name, 'the team is shown')
    assert.equal((await page.locator('header [data-field="role"]').textContent()).trim(), me.role, 'the role is shown')
    log('ok - a deep link signs in and returns to the page; team and role shown')

    // 2. API keys: create (shown once), listed, revoke.
    const keyName = `e2e key ${Date.now()}`
    await page.getByLabel('Name').fill(keyName)
    await page.getByRole('button', { name: 'Create key' }).click()
    const key = (await page.locator('[data-field="new-key"]').innerText()).trim()
    assert.match(key, /^lp_[a-z0-9]{8}_/, 'the new key is shown')
    const check = await fetch(`${cfg.origin}/api/v1/me`, { headers: { Authorization: `ApiKey ${key}` } })
    assert.equal(check.status, 200, 'the shown key works')
    await shots(page, cfg.artifacts, 'api-keys')
    await checkAxe(page, 'the API keys page')
    page.once('dialog', (d) => d.accept())
    await page.getByRole('row', { name: new RegExp(keyName) }).getByRole('button', { name: 'Revoke' }).click()
    await page.getByRole('row', { name: new RegExp(keyName) }).getByText('revoked').waitFor()
    await page.getByRole('row', { name: new RegExp(keyName) }).getByRole('button', { name: 'Revoke' }).waitFor({ state: 'detached' })
    const revoked = await fetch(`${cfg.origin}/api/v1/me`, { headers: { Authorization: `ApiKey ${key}` } })
    assert.equal(revoked.status, 401, 'the revoked key no longer works')
    log('ok - API key created, shown once, revoked')

    // 3. `?` shows the shortcuts; Escape closes them. The 404 page.
    await page.locator('main').click({ position: { x: 5, y: 5 } })
    await page.keyboard.press('?')
    const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' })
    await help.waitFor()
    assert.ok((await help.innerText()).includes('Go to the datasets'), 'the help lists the shortcuts')
    await shots(page, cfg.artifacts, 'shortcuts')
    await page.keyboard.press('Escape')
    await help.waitFor({ state: 'detached' })
    await page.goto(`${cfg.origin}/no/such/page`)
    await page.getByRole('heading', { name: 'Page not found' }).waitFor()
    await shots(page, cfg.artifacts, 'not-found')
    log('ok - ? lists the shortcuts; an unknown path shows the 404 page')

    // 3b. Work queues: the server has workflows, so the link shows and the page lists them.
    await page.getByRole('link', { name: 'Work', exact: true }).click()
    await page.getByRole('heading', { name: 'Work' }).waitFor()
    await page.getByText('No workflows yet').waitFor()
    await shots(page, cfg.artifacts, 'work')
    await checkAxe(page, 'the work page')
    log('ok - the work queues page')

    // 4. Create a dataset through the UI (keyboard: g d, then n).
    await page.keyboard.press('g')
    await page.keyboard.press('d')
    await page.getByRole('heading', { name: 'Datasets' }).waitFor()
    await page.keyboard.press('n')
    const name = `Street scenes ${Date.now()}`
    await page.keyboard.type(name)
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name }).waitFor()
    const datasetId = new URL(page.url()).pathname.split('/').pop()
    assert.match(datasetId, /^[0-9a-f-]{36}$/, 'at the new dataset')
    await page.getByText('This dataset is empty').waitFor()
    await shots(page, cfg.artifacts, 'dataset-empty')
    await checkAxe(page, 'an empty dataset')
    log('ok - dataset created with the keyboard')

    // 5. Upload three images, then a folder; paths kept; every item becomes ready.
    const files = ['a.jpg', 'b.jpg', 'c.jpg'].map((f) => join(cfg.images, f))
    await page.getByTestId('file-input').setInputFiles(files)
    await page.getByTestId('folder-input').setInputFiles(join(cfg.images, 'street'))
    const folderFiles = readdirSync(join(cfg.images, 'street')).length
    const total = 3 + folderFiles
    await page.locator('.upload-list li').nth(total - 1).waitFor()
    await waitUntil(page, 
      (n) => document.querySelectorAll('.item-card [data-field="status"]').length === n &&
        [...document.querySelectorAll('.item-card [data-field="status"]')].every((e) => e.textContent.trim() === 'ready'),
      total,
      { timeout: cfg.timeout * 6 },
    )
    const items = await allItems(api, datasetId)
    assert.equal(items.length, total, 'every file became an item')
    assert.deepEqual(items.filter((i) => i.path === '/street').length, folderFiles, 'the folder is kept as the path')
    assert.ok(items.every((i) => i.status === 'ready'), 'every item is ready')
    await page.locator('.thumb img').first().waitFor()
    await shots(page, cfg.artifacts, 'dataset-3-items')
    await checkAxe(page, 'the item grid')
    await page.getByRole('button', { name: 'Clear finished' }).click()
    await page.getByRole('region', { name: 'Uploads' }).waitFor({ state: 'detached' })
    log(`ok - uploaded ${total} files (3 + a folder of ${folderFiles}); all ready with thumbnails`)

    // 6. Filters in the URL: a reload of a filtered deep link shows the same items.
    await page.getByRole('button', { name: 'ready', exact: true }).click()
    await waitUntil(page, () => new URLSearchParams(location.search).get('status') === 'ready')
    await page.getByLabel('Folder').fill('/street')
    await page.getByLabel('Folder').press('Enter')
    await waitUntil(page, () => new URLSearchParams(location.search).get('path') === '/street')
    await page.reload()
    await waitUntil(page, (n) => document.querySelectorAll('.item-card[data-name]').length === n, folderFiles)
    assert.equal(await page.getByRole('button', { name: 'ready', exact: true }).getAttribute('aria-pressed'), 'true', 'the status filter survives a reload')
    log('ok - filters live in the URL and survive a reload')

    // 7. Bulk-move two items to another dataset.
    const other = await api('POST', '/api/v1/datasets', { name: `Archive ${Date.now()}` })
    await page.goto(`${cfg.origin}/datasets/${datasetId}`)
    const cards = page.locator('.item-card[data-name]') // loaded cards, not the placeholders
    await cards.nth(total - 1).waitFor()
    const moved = [await cards.nth(0).getAttribute('data-name'), await cards.nth(1).getAttribute('data-name')]
    await cards.nth(0).locator('input[type=checkbox]').click()
    await cards.nth(1).locator('input[type=checkbox]').click()
    assert.equal((await page.locator('[data-field="selection"]').innerText()).trim(), '2 selected')
    await page.getByLabel('Target dataset').selectOption(other.id)
    await shots(page, cfg.artifacts, 'dataset-selection')
    await page.getByRole('button', { name: 'Move', exact: true }).click()
    await waitUntil(page, (n) => document.querySelectorAll('.item-card[data-name]').length === n, total - 2)
    const inOther = await allItems(api, other.id)
    assert.deepEqual(inOther.map((i) => i.name).sort(), moved.sort(), 'the two items are in the other dataset')
    log('ok - bulk-moved two items')

    // 8. Many items: the grid renders only what is in view and scrolls.
    if (cfg.bigDataset) {
      await page.goto(`${cfg.origin}/datasets/${cfg.bigDataset}`)
      await page.locator('.item-card[data-name]').first().waitFor()
      await page.locator('.thumb-state, .thumb img').first().waitFor()
      const rendered = await page.locator('.item-card[data-name]').count()
      assert.ok(rendered < 400, `only the cards in view are in the DOM (${rendered})`)
      await shots(page, cfg.artifacts, 'dataset-100k-items')
      const grid = page.getByTestId('item-grid')
      const frames = await page.evaluate(async () => {
        const el = document.querySelector('[data-testid="item-grid"]')
        let n = 0
        let worst = 0
        let last = performance.now()
        const end = last + 2000
        await new Promise((resolve) => {
          function step(t) {
            worst = Math.max(worst, t - last)
            last = t
            n++
            el.scrollTop += 400
            if (t < end) requestAnimationFrame(step)
            else resolve()
          }
          requestAnimationFrame(step)
        })
        return { fps: n / 2, worst }
      })
      await grid.evaluate((el) => el.scrollTop)
      log(`ok - ${rendered} cards in the DOM; scrolling at ${frames.fps.toFixed(0)} fps (worst frame ${frames.worst.toFixed(0)} ms)`)
      await screenshot(page, cfg.artifacts, 'dataset-100k-scrolled')
    }

    assert.deepEqual(pageErrors, [], 'the page threw no uncaught errors')
    await context.close()
  } finally {
    await b.close()
  }
}

process.exitCode = await main(config, run, 'the web app works end to end')
