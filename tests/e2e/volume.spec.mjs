#!/usr/bin/env node
// End-to-end test of the volume viewer in a real headless Chromium (WebGL2), against a real louped.
//
//   LOUPE_E2E_URL, LOUPE_E2E_EMAIL, LOUPE_E2E_PASSWORD, LOUPE_E2E_API_KEY   as in app.spec.mjs
//   LOUPE_E2E_VOLUME_ITEM    a ready item with one volume slot "0"
//   LOUPE_E2E_CLASS          a class allowing mask and raster_layer
//   LOUPE_E2E_VOLUME_PAIR    a ready item with two volume slots "0" (32×24×16) and "0-2" (20×28×12)
//   LOUPE_E2E_ARTIFACTS      where screenshots go
//
// Steps: open the volume (NiiVue: three planes and the 3D render); pick each window preset and see
// the display range follow it; scroll axial slices with the keys and the wheel; paint with the
// brush on an axial slice, see it saved through the annotations API as a mask and a raster layer
// frame on that slice; erase part of it; draw a polygon on a coronal slice and see it land, filled,
// on every axial slice it crosses (a raster layer frame each); undo and redo it, each saved; paint
// while the server cannot be reached, reload, and see the stroke kept and saved once it can;
// reload: every painted voxel is back. On the pair: the slot tabs switch the viewer between slots.

import assert from 'node:assert/strict'
import { apiClient, drag, launch, log, main, openUntil, readSpecConfig, shots, signIn, VIEWPORTS, waitUntil } from './lib.mjs'

function config() {
  return readSpecConfig('volume.spec.mjs', {
    item: ['LOUPE_E2E_VOLUME_ITEM', true],
    cls: ['LOUPE_E2E_CLASS', true],
    pair: ['LOUPE_E2E_VOLUME_PAIR', true],
  })
}

async function openVolume(page, cfg) {
  await openUntil(
    page,
    `${cfg.origin}/items/${cfg.item}`,
    `the volume viewer did not open ${cfg.item}`,
    () => window.loupeVolume?.().ready,
    () => (window.loupeVolume ? window.loupeVolume() : 'not published'),
  )
}

const state = (page) => page.evaluate(() => window.loupeVolume())

async function saved(page) {
  await waitUntil(page, () => window.loupeVolume().saveState === 'saved')
}

/**
 * At every size in VIEWPORTS, the planes + 3D layout fits the stage: the canvas lies inside the
 * window, its drawing buffer is its CSS box (so NiiVue lays out what is shown), and NiiVue's
 * three planes and 3D render each lie whole inside that buffer without overlapping; each plane
 * keeps the volume's proportions in millimetres (fov: [axial, coronal, sagittal] as [w, h]).
 */
async function planesFit(page, fov) {
  for (const vp of VIEWPORTS) {
    await page.setViewportSize(vp)
    const at = `${vp.width}×${vp.height}`
    // the buffer follows the box after NiiVue's resize observer has run
    await waitUntil(page, () => {
      const c = document.querySelector('canvas.editor-canvas').getBoundingClientRect()
      const [w, h] = window.loupeVolume().buffer
      return Math.abs(w - Math.round(c.width * devicePixelRatio)) <= 1 && Math.abs(h - Math.round(c.height * devicePixelRatio)) <= 1 &&
        window.loupeVolume().tiles.length === 4
    })
    const g = await page.evaluate(() => {
      const c = document.querySelector('canvas.editor-canvas')
      const r = c.getBoundingClientRect()
      const p = c.parentElement.getBoundingClientRect()
      return { box: [r.left, r.top, r.right, r.bottom], stage: [p.left, p.top, p.right, p.bottom], view: [innerWidth, innerHeight], dpr: devicePixelRatio, ...window.loupeVolume() }
    })
    const [bw, bh] = g.buffer
    assert.ok(g.box[0] >= 0 && g.box[1] >= 0 && g.box[2] <= g.view[0] && g.box[3] <= g.view[1],
      `${at}: the canvas ${g.box.map(Math.round)} lies inside the window ${g.view}`)
    assert.ok(g.box[0] >= g.stage[0] - 0.5 && g.box[1] >= g.stage[1] - 0.5 && g.box[2] <= g.stage[2] + 0.5 && g.box[3] <= g.stage[3] + 0.5,
      `${at}: the canvas ${g.box.map(Math.round)} lies inside its stage ${g.stage.map(Math.round)} (nothing hidden by its overflow)`)
    assert.deepEqual(g.tiles.map((t) => t.type).sort(), [0, 1, 2, 4], `${at}: three planes and the 3D render are drawn`)
    for (const t of g.tiles) {
      const [l, top, w, h] = t.ltwh
      assert.ok(w > 20 && h > 20 && l >= -0.5 && top >= -0.5 && l + w <= bw + 0.5 && top + h <= bh + 0.5,
        `${at}: tile ${t.type} at ${t.ltwh.map(Math.round)} lies inside the ${bw}×${bh} canvas`)
      if (t.type !== 4) {
        const [fw, fh] = fov[t.type]
        assert.ok(Math.abs(w / h - fw / fh) < 0.02 * (fw / fh), `${at}: tile ${t.type} is ${w}×${h}, the plane ${fw}×${fh} mm`)
      }
    }
    for (const a of g.tiles) for (const b of g.tiles) {
      if (a === b) continue
      const [al, at2, aw, ah] = a.ltwh
      const [bl, bt, bw2, bh2] = b.ltwh
      assert.ok(al + aw <= bl + 0.5 || bl + bw2 <= al + 0.5 || at2 + ah <= bt + 0.5 || bt + bh2 <= at2 + 0.5,
        `${at}: tiles ${a.type} and ${b.type} overlap`)
    }
    log(`ok - ${at}: the canvas buffer is its ${bw}×${bh} box and the planes and 3D render fit in it (${g.tiles.map((t) => t.ltwh.map(Math.round).join(',')).join(' | ')})`)
  }
  await page.setViewportSize(VIEWPORTS[0])
}

async function run(cfg, chromium) {
  const api = apiClient(cfg.origin, cfg.apiKey)
  const b = await launch(chromium, cfg.chromium, { width: 1280, height: 720 })
  try {
    const context = await b.newContext()
    const page = await context.newPage()
    page.setDefaultTimeout(cfg.timeout)
    await signIn(page, cfg.origin, cfg.email, cfg.password)
    await openVolume(page, cfg)
    const media = await api('GET', `/api/v1/items/${cfg.item}/slots/0/media`)
    const [nx, ny, nz] = media.media.shape
    await page.getByText(`${nx}×${ny}×${nz}`).waitFor()
    log(`ok - the viewer opened a ${nx}×${ny}×${nz} volume in three planes and 3D`)
    // the crosshair in patient space is where the slot's affine puts its voxel (within a voxel:
    // the voxel shown is rounded), so drawings are placed in patient coordinates
    const s0 = await state(page)
    const A = media.media.affine
    const want = [0, 1, 2].map((r) => A[r][0] * s0.voxel[0] + A[r][1] * s0.voxel[1] + A[r][2] * s0.voxel[2] + A[r][3])
    const size = Math.max(...media.media.pixdim)
    assert.ok(want.every((w, r) => Math.abs(w - s0.mm[r]) <= size), `crosshair at ${s0.mm} mm, voxel ${s0.voxel} is at ${want} mm`)
    log(`ok - the crosshair at voxel ${s0.voxel} shows ${s0.mm.map((c) => c.toFixed(1))} mm (the affine: ${want.map((c) => c.toFixed(1))})`)
    await shots(page, cfg.artifacts, 'volume-open')
    // the planes fit the stage at every size (the millimetres each plane spans: x, y, z extents)
    const [sx, sy, sz] = media.media.pixdim.map((p, i) => p * media.media.shape[i])
    await planesFit(page, { 0: [sx, sy], 1: [sx, sz], 2: [sy, sz] })

    // window presets: the display range is the preset's centre ± width / 2
    for (const w of media.media.windows) {
      await page.locator(`button[data-window="${w.name}"]`).click()
      await waitUntil(page, (w) => {
        const s = window.loupeVolume()
        return s.window === w.name && Math.abs(s.range[0] - (w.center - w.width / 2)) < 1e-3 && Math.abs(s.range[1] - (w.center + w.width / 2)) < 1e-3
      }, w)
    }
    log(`ok - window presets ${media.media.windows.map((w) => w.name).join(', ')} set the display range`)

    // slices: one view, the axial plane; keys and the wheel move the axial index
    await page.locator('button[data-layout="axial"]').click()
    const canvas = await page.locator('canvas.editor-canvas').boundingBox()
    const mid = { x: canvas.x + canvas.width / 2, y: canvas.y + canvas.height / 2 }
    await page.mouse.click(mid.x, mid.y)
    const k0 = (await state(page)).voxel[2]
    await page.locator('canvas.editor-canvas').focus()
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowUp')
    await waitUntil(page, (k) => window.loupeVolume().voxel[2] === k + 3, k0)
    await page.mouse.move(mid.x, mid.y)
    await page.mouse.wheel(0, -120)
    await waitUntil(page, (k) => window.loupeVolume().voxel[2] !== k + 3, k0)
    const k = (await state(page)).voxel[2]
    await page.getByText(`Axial ${k} of ${nz}`).waitFor()
    log(`ok - slices scroll: axial ${k0} → ${k0 + 3} with the keys, → ${k} with the wheel`)

    // brush: a stroke across the middle of the axial slice, saved as masks
    await page.locator('button[data-tool="brush"]').click()
    await drag(page, { x: mid.x - 40, y: mid.y }, { x: mid.x + 40, y: mid.y + 10 })
    await waitUntil(page, () => window.loupeVolume().labelled > 0)
    await saved(page)
    const painted = (await state(page)).labelled
    const set = await api('GET', `/api/v1/items/${cfg.item}/annotations?slot=0`)
    const layer = set.annotations.find((a) => a.frames && Object.values(a.frames).some((f) => f.raster_layer))
    const mask = set.annotations.find((a) => a.frames && Object.values(a.frames).some((f) => f.mask))
    assert.ok(layer && mask, `a mask and a raster layer were saved: ${JSON.stringify(set.annotations).slice(0, 400)}`)
    assert.deepEqual(Object.keys(layer.frames), [String(k)], 'the stroke lies on the axial slice shown')
    assert.equal(mask.class_id, cfg.cls)
    const rle = layer.frames[String(k)].raster_layer.dense_rle
    let inLayer = 0
    for (let i = 0; i + 1 < rle.length; i += 2) if (rle[i]) inLayer += rle[i + 1]
    assert.equal(inLayer, painted, 'the raster layer holds every painted voxel')
    log(`ok - the brush painted ${painted} voxels on axial slice ${k}, saved as a mask and its raster layer frame`)
    await shots(page, cfg.artifacts, 'volume-brush')

    // eraser: part of the stroke goes
    await page.locator('button[data-tool="eraser"]').click()
    await drag(page, { x: mid.x - 40, y: mid.y }, { x: mid.x - 10, y: mid.y + 4 })
    await waitUntil(page, (n) => window.loupeVolume().labelled < n, painted)
    await saved(page)
    const left = (await state(page)).labelled
    log(`ok - the eraser left ${left} of ${painted} voxels`)

    // a polygon on a coronal slice: an outline closed and filled on release, in voxel space, so it
    // lands on every axial slice it crosses
    await page.locator('button[data-layout="coronal"]').click()
    await page.locator('button[data-tool="polygon"]').click()
    const j = (await state(page)).voxel[1]
    // the Slices panel names the plane shown and the arrow keys step through it
    await page.getByText(`Coronal ${j} of ${ny}`).waitFor()
    await page.keyboard.press('ArrowUp')
    await waitUntil(page, (j) => window.loupeVolume().voxel[1] === j + 1, j)
    await page.getByText(`Coronal ${j + 1} of ${ny}`).waitFor()
    await page.keyboard.press('ArrowDown')
    await waitUntil(page, (j) => window.loupeVolume().voxel[1] === j, j)
    log(`ok - on the coronal plane the panel says "Coronal ${j} of ${ny}" and the arrow keys step coronal slices`)
    const pts = [[-60, -50], [60, -50], [60, 50], [-60, 50], [-60, -50]].map(([dx, dy]) => ({ x: mid.x + dx, y: mid.y + dy }))
    await page.mouse.move(pts[0].x, pts[0].y)
    await page.mouse.down()
    for (const p of pts.slice(1)) await page.mouse.move(p.x, p.y, { steps: 8 })
    await page.mouse.up()
    await waitUntil(page, (n) => window.loupeVolume().labelled > n + 100, left)
    await saved(page)
    const all = (await state(page)).labelled
    const set2 = await api('GET', `/api/v1/items/${cfg.item}/annotations?slot=0`)
    const layer2 = set2.annotations.find((a) => a.frames && Object.values(a.frames).some((f) => f.raster_layer))
    const slices = Object.keys(layer2.frames).map(Number)
    assert.ok(slices.length > 5, `the coronal polygon spans several axial slices: ${slices}`)
    assert.equal(Object.keys(set2.annotations.find((a) => a.frames && Object.values(a.frames).some((f) => f.mask)).frames).length, slices.length)
    // each axial frame holds the coronal slice's row j only (the polygon is one voxel thick)
    const row = ny - 1 - j
    for (const f of slices.filter((s) => s !== k)) { // slice k also holds the brush stroke
      const r = layer2.frames[String(f)].raster_layer.dense_rle
      let at = 0
      for (let i = 0; i + 1 < r.length; i += 2) {
        if (r[i]) assert.equal(Math.floor(at / nx), row, `slice ${f}: labels on pixel row ${Math.floor(at / nx)}, not ${row}`)
        at += r[i + 1]
      }
    }
    log(`ok - a polygon on coronal slice ${j} filled ${all - left} voxels on ${slices.length} axial slices (row ${row} of each)`)
    await shots(page, cfg.artifacts, 'volume-coronal-polygon')

    // undo and redo: the polygon is one step of the editor's command stack; each state is saved
    const layerSlices = async () => {
      const now = await api('GET', `/api/v1/items/${cfg.item}/annotations?slot=0`)
      const l = now.annotations.find((a) => a.frames && Object.values(a.frames).some((f) => f.raster_layer))
      return l ? Object.keys(l.frames).map(Number).sort((a, b) => a - b) : []
    }
    assert.ok((await state(page)).canUndo, 'the strokes can be undone')
    await page.keyboard.press('Control+z')
    await waitUntil(page, (n) => window.loupeVolume().labelled === n, left)
    await saved(page)
    assert.deepEqual(await layerSlices(), [k], 'after the undo only the brush stroke is stored')
    // undo and redo are the ↶/↷ glyphs of the other editors, named for assistive technology
    const redoButton = page.getByRole('button', { name: 'Redo', exact: true })
    assert.equal(await redoButton.textContent(), '↷')
    assert.equal(await page.getByRole('button', { name: 'Undo', exact: true }).textContent(), '↶')
    await redoButton.click()
    await waitUntil(page, (n) => window.loupeVolume().labelled === n, all)
    await saved(page)
    assert.deepEqual(await layerSlices(), slices.sort((a, b) => a - b), 'after the redo the polygon is stored again')
    log(`ok - undo took the polygon away (${left} voxels left, saved) and redo brought it back (${all}, saved)`)

    // saves are not lost: a stroke made while the server cannot be reached is journaled on this
    // device, survives a reload and is saved once the server answers again
    await page.route('**/annotations/batch', (route) => route.abort('internetdisconnected'))
    await page.locator('button[data-layout="axial"]').click()
    await page.locator('button[data-tool="brush"]').click()
    await drag(page, { x: mid.x - 30, y: mid.y - 60 }, { x: mid.x + 30, y: mid.y - 50 })
    await waitUntil(page, (n) => window.loupeVolume().labelled > n, all)
    await waitUntil(page, () => window.loupeVolume().saveState === 'offline')
    const offline = (await state(page)).labelled
    await openVolume(page, cfg) // a reload while the server is still unreachable
    await waitUntil(page, (n) => window.loupeVolume().labelled === n, offline)
    await page.unroute('**/annotations/batch')
    await saved(page)
    const set3 = await api('GET', `/api/v1/items/${cfg.item}/annotations?slot=0`)
    const layer3 = set3.annotations.find((a) => a.frames && Object.values(a.frames).some((f) => f.raster_layer))
    let stored = 0
    for (const f of Object.values(layer3.frames)) {
      const r = f.raster_layer.dense_rle
      for (let i = 0; i + 1 < r.length; i += 2) if (r[i]) stored += r[i + 1]
    }
    assert.equal(stored, offline, 'every voxel painted offline is stored once the server answers')
    log(`ok - a stroke made offline (${offline - all} voxels) was kept through a reload and saved afterwards`)

    // back in planes + 3D for the record, then a reload keeps the painted voxels
    await page.locator('button[data-layout="planes"]').click()
    await planesFit(page, { 0: [sx, sy], 1: [sx, sz], 2: [sy, sz] })
    await shots(page, cfg.artifacts, 'volume-planes-mask')
    await openVolume(page, cfg)
    await waitUntil(page, (n) => window.loupeVolume().labelled === n, offline)
    log(`ok - after a reload the ${offline} painted voxels are back`)

    // an item with two volume slots: a tab per slot; picking the other opens its volume
    await openVolume(page, { ...cfg, item: cfg.pair })
    const first = await state(page)
    assert.equal(first.slot, '0')
    assert.deepEqual(first.shape, [32, 24, 16], 'the first slot is open')
    await page.locator('nav[aria-label="Slots"] button[data-slot="0-2"]').click()
    await waitUntil(page, () => window.loupeVolume?.().ready && window.loupeVolume().slot === '0-2')
    assert.deepEqual((await state(page)).shape, [20, 28, 12], 'the second slot is open')
    await shots(page, cfg.artifacts, 'volume-slots')
    await page.locator('nav[aria-label="Slots"] button[data-slot="0"]').click()
    await waitUntil(page, () => window.loupeVolume?.().ready && window.loupeVolume().slot === '0')
    log('ok - the slot tabs switch the viewer between the two volume slots')
  } finally {
    await b.close()
  }
}

process.exitCode = await main(config, run, 'the volume viewer: planes and 3D, windows, slices, brush and eraser kept, undo, redo and the journal')
