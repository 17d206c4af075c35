#!/usr/bin/env node
// End-to-end test of the annotation editor in a real headless Chromium, against a real louped.
//
//   LOUPE_E2E_URL, LOUPE_E2E_EMAIL, LOUPE_E2E_PASSWORD, LOUPE_E2E_API_KEY   as in app.spec.mjs
//   LOUPE_E2E_ITEM        a ready item with one image slot (at least 640 × 480)
//   LOUPE_E2E_BIG_ITEM    optional: a ready item whose image has a tile pyramid (20,000 × 20,000)
//   LOUPE_E2E_ARTIFACTS   where screenshots go
//
// Steps: draw a box, a polygon with a hole, a keypoint skeleton and a brush mask; everything
// autosaves; a reload shows the same shapes with the same coordinates; sub-types and property
// values set from the panel (what is typed survives an autosave landing meanwhile); undo and redo; an edit
// from a second browser context makes the first one's save conflict and show the dialog, and
// "keep mine" wins; offline (setOffline) edits are journaled, and reach the server on return, also
// after the tab was closed; a pyramid image opens and zooms into a corner, tiles drawn; with
// 2,500 shapes on it (over the viewport threshold), a link to a region loads only the shapes
// around it, panning loads more, and an edit of a loaded shape saves without losing the others.

import assert from 'node:assert/strict'
import { apiClient, axeViolations, drag, launch, log, main, openUntil, readSpecConfig, screenshot, signIn, waitUntil } from './lib.mjs'

function config() {
  return readSpecConfig('editor.spec.mjs', { item: ['LOUPE_E2E_ITEM', true], bigItem: ['LOUPE_E2E_BIG_ITEM', false] })
}

const CLASSES = [
  {
    name: 'car',
    annotation_types: ['bounding_box', 'polygon', 'tag'],
    color: '#e4572e',
    sub_types: ['text', 'attributes', 'instance_id'],
    properties: [
      { name: 'colour', type: 'single_select', required: true, options: [{ value: 'red' }, { value: 'blue' }] },
      { name: 'parts', type: 'multi_select', options: [{ value: 'wheel' }, { value: 'door' }] },
      { name: 'plate', type: 'text' },
    ],
  },
  { name: 'person', annotation_types: ['skeleton', 'keypoint'], color: '#f3a712', skeleton: { nodes: [{ name: 'head' }, { name: 'left hand' }, { name: 'right hand' }], edges: [[0, 1], [0, 2]] } },
  { name: 'road', annotation_types: ['polygon', 'mask', 'line', 'ellipse', 'cuboid'], color: '#2e86ab' },
  { name: 'raster', annotation_types: ['raster_layer'], color: '#000000' },
]

/** The editor's shapes as the page holds them (version and order aside). */
function pageShapes(page) {
  return page.evaluate(() =>
    window
      .loupeEditor()
      .doc.all()
      .map(({ version, source, slot, name, slot_names, ...s }) => s)
      .sort((a, b) => (a.id < b.id ? -1 : 1)),
  )
}

async function serverShapes(api, item) {
  const set = await api('GET', `/api/v1/items/${item}/annotations`)
  // members the server adds (Darwin's name and slot_names, the version, the source) aside
  return set.annotations.map(({ version, source, slot, name, slot_names, ...s }) => s).sort((a, b) => (a.id < b.id ? -1 : 1))
}

async function openEditor(page, cfg, item) {
  // (not drawn: either never made — the item's load did not end — or its frame never came)
  await openUntil(
    page,
    `${cfg.origin}/items/${item}`,
    `the editor did not draw ${item}`,
    () => window.loupeEditor?.()?.drawn === true,
    () => {
      const ed = window.loupeEditor?.()
      return {
        editor: window.loupeEditor ? (ed ? { dirty: ed.dirty, frame: ed.frame, drawnRevision: ed.drawnRevision, revision: ed.doc.revision, shapes: ed.doc.size } : null) : 'not published',
        saver: window.loupeSaver?.()?.state ?? null,
      }
    },
  )
  return page.locator('canvas.editor-canvas').boundingBox()
}

async function saved(page) {
  await waitUntil(page, () => {
    const s = window.loupeSaver?.()
    return s && s.state === 'saved' && s.pendingCount === 0
  })
}

/** Screen position (page coordinates) of an image point. */
async function screenOf(page, canvas, x, y) {
  const p = await page.evaluate(([x, y]) => window.loupeEditor().view.toScreen({ x, y }), [x, y])
  return { x: canvas.x + p.x, y: canvas.y + p.y }
}

async function clickAt(page, canvas, x, y, modifiers = []) {
  const p = await screenOf(page, canvas, x, y)
  await page.mouse.click(p.x, p.y, { modifiers })
}

async function dragImage(page, canvas, from, to) {
  await drag(page, await screenOf(page, canvas, ...from), await screenOf(page, canvas, ...to))
}

function near(a, b, what) {
  assert.ok(Math.abs(a - b) <= 2, `${what}: ${a} is not within 2 px of ${b}`)
}

async function pickClass(page, name) {
  await page.getByRole('radio', { name: new RegExp(`^${name}`) }).check()
}

async function run(cfg, chromium) {
  const api = apiClient(cfg.origin, cfg.apiKey)
  const have = (await api('GET', '/api/v1/classes?page[size]=200')).classes
  for (const c of CLASSES) if (!have.some((h) => h.name === c.name)) await api('POST', '/api/v1/classes', c)
  // start from an item without annotations
  const old = await api('GET', `/api/v1/items/${cfg.item}/annotations`)
  if (old.annotations.length) await api('POST', `/api/v1/items/${cfg.item}/annotations/batch`, { delete: old.annotations.map((a) => a.id) })

  const b = await launch(chromium, cfg.chromium, { width: 1280, height: 720 })
  try {
    const context = await b.newContext()
    context.setDefaultTimeout(cfg.timeout)
    const page = await context.newPage()
    const errors = []
    page.on('pageerror', (e) => errors.push(e.message))
    await signIn(page, cfg.origin, cfg.email, cfg.password)
    let canvas = await openEditor(page, cfg, cfg.item)

    // 1. A box, a polygon with a hole, a skeleton and a brush mask.
    await pickClass(page, 'car')
    await page.keyboard.press('b')
    await dragImage(page, canvas, [40, 40], [200, 150])
    await page.keyboard.press('p')
    for (const [x, y] of [[250, 40], [450, 40], [450, 220], [250, 220]]) await clickAt(page, canvas, x, y, ['Shift'])
    await page.keyboard.press('Enter')
    await page.keyboard.press('h')
    for (const [x, y] of [[300, 80], [400, 80], [350, 180]]) await clickAt(page, canvas, x, y)
    await page.keyboard.press('Enter')
    await pickClass(page, 'person')
    await page.keyboard.press('s')
    for (const [x, y] of [[100, 300], [60, 380], [140, 380]]) await clickAt(page, canvas, x, y)
    await pickClass(page, 'road')
    await page.keyboard.press('m')
    await dragImage(page, canvas, [300, 350], [450, 400])
    await page.keyboard.press('v')
    await saved(page)
    const drawn = await pageShapes(page)
    const kinds = drawn.map((s) => ['bounding_box', 'polygon', 'skeleton', 'mask', 'raster_layer'].find((k) => s[k] && !(k === 'bounding_box' && s.polygon)))
    assert.deepEqual([...kinds].sort(), ['bounding_box', 'mask', 'polygon', 'raster_layer', 'skeleton'], `the five shapes: ${kinds}`)
    const box = drawn.find((s) => s.bounding_box && !s.polygon).bounding_box
    near(box.x, 40, 'box x')
    near(box.y, 40, 'box y')
    near(box.w, 160, 'box w')
    near(box.h, 110, 'box h')
    const poly = drawn.find((s) => s.polygon).polygon
    assert.equal(poly.paths.length, 2, 'the polygon has its hole')
    near(poly.paths[1][2].x, 350, 'hole vertex x')
    const skel = drawn.find((s) => s.skeleton).skeleton
    assert.deepEqual(skel.nodes.map((n) => n.name), ['head', 'left hand', 'right hand'], 'skeleton nodes from the class')
    const layer = drawn.find((s) => s.raster_layer).raster_layer
    assert.ok(layer.dense_rle.some((v, i) => i % 2 === 0 && v > 0), 'the brush painted pixels')
    assert.deepEqual(await serverShapes(api, cfg.item), drawn, 'the server holds exactly what was drawn')
    await screenshot(page, cfg.artifacts, 'editor-drawn')
    const violations = await axeViolations(page)
    assert.deepEqual(violations, [], `axe-core on the editor: ${JSON.stringify(violations)}`)
    log('ok - box, polygon with a hole, skeleton and brush mask drawn and autosaved (axe-core clean)')

    // 2. A reload shows the same shapes at the same coordinates.
    canvas = await openEditor(page, cfg, cfg.item)
    assert.deepEqual(await pageShapes(page), drawn, 'the same shapes after a reload')
    log('ok - a reload shows the same shapes with the same coordinates')

    // 2b. Sub-types: text, attributes and instance id of the box, from the panel.
    await page.keyboard.press('v')
    await clickAt(page, canvas, 60, 60)
    await page.getByLabel('Text').fill('parked')
    await page.getByLabel('Text').press('Tab')
    await page.getByLabel('Attributes (comma-separated)').fill('red, occluded')
    // the text's autosave lands while the attributes are still being typed: what was typed stays
    await saved(page)
    assert.equal(await page.getByLabel('Attributes (comma-separated)').inputValue(), 'red, occluded', 'typing survives an autosave')
    await page.getByLabel('Attributes (comma-separated)').press('Tab')
    await page.getByLabel('Instance id').fill('7')
    await page.getByLabel('Instance id').press('Tab')
    await saved(page)
    const withSub = (await serverShapes(api, cfg.item)).find((s) => s.id === drawn.find((d) => d.bounding_box && !d.polygon).id)
    assert.deepEqual([withSub.text, withSub.attributes, withSub.instance_id], [{ text: 'parked' }, ['red', 'occluded'], { value: 7 }], 'sub-types saved')
    log('ok - text, attributes and instance id set from the panel')

    // 2c. Property values of the box's class, from the panel: a select, checkboxes, a text field.
    await page.getByText('Still needed: colour').waitFor()
    await page.locator('[data-property="colour"] select').selectOption('blue')
    await page.locator('[data-property="parts"]').getByLabel('wheel').check()
    await page.locator('[data-property="parts"]').getByLabel('door').check()
    await page.locator('[data-property="plate"] input').fill('AB-123')
    await page.locator('[data-property="plate"] input').press('Tab')
    await saved(page)
    assert.equal(await page.getByText('Still needed: colour').count(), 0, 'the required property has a value')
    const withProps = (await serverShapes(api, cfg.item)).find((s) => s.id === withSub.id)
    assert.deepEqual(withProps.properties, [
      { name: 'colour', value: 'blue' },
      { name: 'parts', value: 'wheel' },
      { name: 'parts', value: 'door' },
      { name: 'plate', value: 'AB-123' },
    ])
    await screenshot(page, cfg.artifacts, 'editor-properties')
    log('ok - property values (select, multi-select, text) set from the panel and saved')

    // 3. Undo and redo (keyboard), saved each time.
    await page.keyboard.press('Escape')
    const before = await pageShapes(page)
    await page.keyboard.press('b')
    await pickClass(page, 'car')
    await dragImage(page, canvas, [500, 300], [600, 420])
    await saved(page)
    assert.equal((await serverShapes(api, cfg.item)).length, before.length + 1)
    await page.locator('canvas.editor-canvas').focus()
    await page.keyboard.press('Control+z')
    await saved(page)
    assert.deepEqual(await serverShapes(api, cfg.item), before, 'undo removed the box on the server too')
    await page.keyboard.press('Control+Shift+z')
    await saved(page)
    assert.equal((await serverShapes(api, cfg.item)).length, before.length + 1, 'redo brought it back')
    log('ok - undo and redo')

    // 4. A second browser context edits the same item: the first one's next save conflicts.
    const other = await b.newContext()
    other.setDefaultTimeout(cfg.timeout)
    const page2 = await other.newPage()
    await signIn(page2, cfg.origin, cfg.email, cfg.password)
    await openEditor(page2, cfg, cfg.item)
    await page2.locator('canvas.editor-canvas').focus()
    await page2.keyboard.press('Control+a')
    await page2.keyboard.press('Shift+ArrowRight')
    await saved(page2)
    const theirs = await serverShapes(api, cfg.item)
    await page.locator('canvas.editor-canvas').focus()
    await page.keyboard.press('Control+a')
    await page.keyboard.press('ArrowDown')
    const dialog = page.getByRole('dialog', { name: 'This item was changed by someone else' })
    await dialog.waitFor()
    assert.deepEqual(await serverShapes(api, cfg.item), theirs, 'nothing was overwritten while the dialog is open')
    await screenshot(page, cfg.artifacts, 'editor-conflict')
    await dialog.getByRole('button', { name: 'Keep my version' }).click()
    await saved(page)
    assert.deepEqual(await serverShapes(api, cfg.item), await pageShapes(page), 'my version won')
    await other.close()
    log('ok - a conflicting edit shows the dialog; keeping mine saves mine')

    // 5. Offline: edits are journaled and reach the server on return, also after closing the tab.
    const onServer = (await serverShapes(api, cfg.item)).length
    await context.setOffline(true)
    await page.keyboard.press('b')
    await dragImage(page, canvas, [520, 60], [600, 120])
    await waitUntil(page, () => window.loupeSaver().state === 'offline')
    await page.getByText('change(s) kept on this device').waitFor()
    await screenshot(page, cfg.artifacts, 'editor-offline')
    await context.setOffline(false)
    await saved(page)
    assert.equal((await serverShapes(api, cfg.item)).length, onServer + 1, 'the offline box reached the server')
    await context.setOffline(true)
    await page.keyboard.press('b')
    await dragImage(page, canvas, [520, 140], [600, 200])
    await waitUntil(page, () => window.loupeSaver().state === 'offline')
    await page.close()
    await context.setOffline(false)
    const page3 = await context.newPage()
    await openEditor(page3, cfg, cfg.item)
    await saved(page3)
    assert.equal((await serverShapes(api, cfg.item)).length, onServer + 2, 'the journal of the closed tab was replayed')
    log('ok - offline edits are kept and saved on return, also after the tab was closed')

    // 6. A 20,000 × 20,000 image opens through its tiles and zooms into a corner.
    if (cfg.bigItem) {
      const tiles = []
      page3.on('request', (r) => r.url().includes('/tiles/image_files/') && tiles.push(r.url()))
      const c = await openEditor(page3, cfg, cfg.bigItem)
      await page3.getByText('tiled image').waitFor()
      await page3.waitForLoadState('networkidle')
      await page3.waitForTimeout(300)
      await screenshot(page3, cfg.artifacts, 'editor-big-fit')
      for (let i = 0; i < 12; i++) await page3.mouse.wheel(0, -400).then(() => page3.mouse.move(c.x + 5, c.y + 5))
      await page3.evaluate(() => {
        const ed = window.loupeEditor()
        ed.view.scale = 1
        ed.view.tx = 0
        ed.view.ty = 0
        ed.invalidate()
      })
      await page3.waitForTimeout(500)
      await page3.waitForLoadState('networkidle')
      const deep = tiles.filter((u) => /image_files\/15\//.test(u))
      assert.ok(deep.length > 0, `full-resolution tiles were fetched for the corner (${tiles.length} tiles in all)`)
      assert.ok(tiles.length < 200, `only tiles in view are fetched (${tiles.length})`)
      await screenshot(page3, cfg.artifacts, 'editor-big-corner')
      log(`ok - the 20,000 × 20,000 image opened from tiles and zoomed into a corner (${tiles.length} tiles)`)

      // 7. More shapes than the threshold (2,000): only those around the view load, more as it
      // pans; an edit of a loaded shape saves without touching the others.
      const car = (await api('GET', '/api/v1/classes?page[size]=200')).classes.find((x) => x.name === 'car')
      const grid = []
      for (let i = 0; i < 50; i++) for (let j = 0; j < 50; j++) grid.push({ class_id: car.id, bounding_box: { x: i * 400 + 10, y: j * 400 + 10, w: 100, h: 100 } })
      await api('POST', `/api/v1/items/${cfg.bigItem}/annotations/batch`, { create: grid })
      const reads = []
      page3.on('request', (r) => /\/annotations(\?|$)/.test(r.url()) && r.method() === 'GET' && reads.push(new URL(r.url()).searchParams.get('bbox')))
      await page3.goto(`${cfg.origin}/items/${cfg.bigItem}?view=0,0,2000,1000`)
      await waitUntil(page3, () => window.loupeEditor?.()?.drawn === true && window.loupeSaver?.())
      const loadedFirst = await page3.evaluate(() => window.loupeEditor().doc.size)
      assert.ok(reads.length >= 1 && reads.every((b) => b), `every read names a viewport (${reads.join(' | ')})`)
      assert.ok(loadedFirst > 0 && loadedFirst < 200, `only the shapes around the view are loaded (${loadedFirst} of 2500)`)
      await page3.getByText(`of 2500 shape(s) loaded`).waitFor()
      await screenshot(page3, cfg.artifacts, 'editor-viewport')
      await page3.evaluate(() => {
        const ed = window.loupeEditor()
        ed.showRect({ x0: 18000, y0: 18000, x1: 20000, y1: 19000 })
      })
      await waitUntil(page3, (n) => window.loupeEditor().doc.size > n, loadedFirst)
      const far = await page3.evaluate(() => window.loupeEditor().doc.all().find((s) => s.bounding_box && s.bounding_box.x > 18000 && s.bounding_box.y > 18000))
      assert.ok(far, 'panning far loaded the shapes there')
      await page3.evaluate((id) => window.loupeEditor().select([id]), far.id)
      await page3.locator('canvas.editor-canvas').focus()
      await page3.keyboard.press('ArrowRight')
      await saved(page3)
      const after = await api('GET', `/api/v1/items/${cfg.bigItem}/annotations`)
      assert.equal(after.annotations.length, 2500, 'no shape was lost or duplicated')
      assert.equal(after.annotations.find((a) => a.id === far.id).bounding_box.x, far.bounding_box.x + 1, 'the edit of a loaded shape was saved')
      log(`ok - 2,500 shapes load by viewport (${loadedFirst} at first, more on panning); an edit saves`)
    }
    assert.deepEqual(errors, [], 'no uncaught errors')
  } finally {
    await b.close()
  }
}

process.exitCode = await main(config, run, 'the editor works end to end')
