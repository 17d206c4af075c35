#!/usr/bin/env node
// End-to-end test of the rotated box tool in a real headless Chromium, against a real louped.
//
//   LOUPE_E2E_URL, LOUPE_E2E_EMAIL, LOUPE_E2E_PASSWORD, LOUPE_E2E_API_KEY   as in app.spec.mjs
//   LOUPE_E2E_ITEM         a ready item with one image slot (at least 400 × 300)
//   LOUPE_E2E_VIDEO_ITEM   a ready item with one video slot of at least 60 frames (at least 320 × 240)
//   LOUPE_E2E_ARTIFACTS    where screenshots go
//
// Image: a class that does not allow rotated boxes draws none (the tool says so); with one that
// does, R and a drag draw a box, its rotation knob dragged with Shift turns it to 30° (15° steps),
// a click inside its upright bounds but outside the turned rectangle selects nothing, a click
// inside selects it, its right edge's handle lengthens it along its own axis (the left edge and the
// angle stay), undo and redo; autosaved, and after a reload the same box with its angle. Video: a
// rotated box drawn on frame 0 and turned to 90° by its knob on frame 50 (two keyframes); frame 25
// shows it at 45° (the server's interpolation once saved), also after a reload.

import assert from 'node:assert/strict'
import { apiClient, drag, goToFrame as goTo, launch, log, main, openUntil, openVideoEditor, readSpecConfig, shots, signIn, videoSaved, waitUntil } from './lib.mjs'

function config() {
  return readSpecConfig('rotated.spec.mjs', { item: ['LOUPE_E2E_ITEM', true], videoItem: ['LOUPE_E2E_VIDEO_ITEM', true] })
}

const CLASSES = [
  { name: 'sign', annotation_types: ['rotated_box'], color: '#2e86ab' },
  { name: 'car', annotation_types: ['bounding_box'], color: '#e4572e' },
]
const DEG = Math.PI / 180
/** The rotation knob's distance above the top edge, in screen pixels (editor.ts ROTATE_HANDLE_PX). */
const KNOB_PX = 22

// `which` names the page's editor engine: 'image' (window.loupeEditor()) or 'video' (window.loupeVideo().editor).

async function screenOf(page, canvas, which, x, y) {
  const p = await page.evaluate(([which, x, y]) => (which === 'video' ? window.loupeVideo().editor : window.loupeEditor()).view.toScreen({ x, y }), [which, x, y])
  return { x: canvas.x + p.x, y: canvas.y + p.y }
}

/** The rotated boxes of the shapes the engine shows now. */
function shownBoxes(page, which) {
  return page.evaluate(
    (which) =>
      (which === 'video' ? window.loupeVideo().editor : window.loupeEditor())
        .doc.all()
        .filter((s) => s.rotated_box)
        .map((s) => ({ id: s.id, ...s.rotated_box })),
    which,
  )
}

function selected(page, which) {
  return page.evaluate((which) => [...(which === 'video' ? window.loupeVideo().editor : window.loupeEditor()).selected], which)
}

function near(a, b, what, tol = 2) {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} is not within ${tol} of ${b}`)
}

function nearAngle(a, b, what, tol = 1.5 * DEG) {
  const d = Math.abs(((a - b + 3 * Math.PI) % (2 * Math.PI)) - Math.PI)
  assert.ok(d <= tol, `${what}: ${(a / DEG).toFixed(2)}° is not within ${(tol / DEG).toFixed(1)}° of ${(b / DEG).toFixed(2)}°`)
}

/** An image point of a rotated box's own frame: (u, v) from its centre along its turned edges. */
function along(r, u, v) {
  const cx = r.x + r.w / 2
  const cy = r.y + r.h / 2
  return [cx + u * Math.cos(r.angle) - v * Math.sin(r.angle), cy + u * Math.sin(r.angle) + v * Math.cos(r.angle)]
}

/**
 * Drags the rotation knob of rotated box r (the selected shape) so that it points `degrees`
 * clockwise from up, with Shift held when `snap`; the knob is KNOB_PX screen pixels above the top
 * edge, wherever the view is.
 */
async function turn(page, canvas, which, r, degrees, snap) {
  const top = await screenOf(page, canvas, which, ...along(r, 0, -r.h / 2))
  const centre = await screenOf(page, canvas, which, ...along(r, 0, 0))
  const len = Math.hypot(top.x - centre.x, top.y - centre.y)
  const knob = { x: centre.x + ((top.x - centre.x) * (len + KNOB_PX)) / len, y: centre.y + ((top.y - centre.y) * (len + KNOB_PX)) / len }
  const a = degrees * DEG
  const to = { x: centre.x + Math.sin(a) * (len + KNOB_PX), y: centre.y - Math.cos(a) * (len + KNOB_PX) }
  if (snap) await page.keyboard.down('Shift')
  await drag(page, knob, to)
  if (snap) await page.keyboard.up('Shift')
}

async function openImage(page, cfg) {
  await openUntil(page, `${cfg.origin}/items/${cfg.item}`, `the editor did not draw ${cfg.item}`, () => window.loupeEditor?.()?.drawn === true, () => ({ editor: !!window.loupeEditor?.() }))
  return page.locator('canvas.editor-canvas').boundingBox()
}

async function imageSaved(page) {
  await waitUntil(page, () => {
    const s = window.loupeSaver?.()
    return s && s.state === 'saved' && s.pendingCount === 0
  })
}

async function clearItem(api, item) {
  const old = await api('GET', `/api/v1/items/${item}/annotations`)
  if (old.annotations.length) await api('POST', `/api/v1/items/${item}/annotations/batch`, { delete: old.annotations.map((a) => a.id) })
}

async function image(page, cfg, api) {
  let canvas = await openImage(page, cfg)
  const dragImage = async (from, to) => drag(page, await screenOf(page, canvas, 'image', ...from), await screenOf(page, canvas, 'image', ...to))
  const clickImage = async (x, y) => {
    const p = await screenOf(page, canvas, 'image', x, y)
    await page.mouse.click(p.x, p.y)
  }

  // a class without the type draws nothing: the tool says why
  await page.getByRole('radio', { name: /^car/ }).check()
  await page.keyboard.press('r')
  assert.equal(await page.locator('button[data-tool="rotated_box"]').getAttribute('aria-pressed'), 'true', 'R picks the rotated box tool')
  await dragImage([100, 100], [300, 180])
  await page.getByText('does not allow rotated box').first().waitFor()
  assert.deepEqual(await shownBoxes(page, 'image'), [], 'no rotated box with a class that does not allow them')
  log('ok - a class without rotated_box draws none, and the editor says so')

  // drawn as a box
  await page.getByRole('radio', { name: /^sign/ }).check()
  await dragImage([100, 100], [300, 180])
  let [r] = await shownBoxes(page, 'image')
  assert.ok(r, 'a rotated box was drawn')
  near(r.x, 100, 'x')
  near(r.y, 100, 'y')
  near(r.w, 200, 'w')
  near(r.h, 80, 'h')
  assert.equal(r.angle, 0, 'drawn unturned')

  // turned by its knob, still with the tool: with Shift, 32° snaps to 30°
  await turn(page, canvas, 'image', r, 32, true)
  ;[r] = await shownBoxes(page, 'image')
  nearAngle(r.angle, 30 * DEG, 'angle after the knob was dragged with Shift', 1e-6)
  near(r.x + r.w / 2, 200, 'the centre stays (x)')
  near(r.y + r.h / 2, 140, 'the centre stays (y)')
  near(r.w, 200, 'the size stays')
  log(`ok - drawn as a box, turned to ${(r.angle / DEG).toFixed(1)}° by its knob (Shift: 15° steps)`)
  await shots(page, cfg.artifacts, 'rotated-box-image')

  // selecting: inside the turned rectangle only
  await page.keyboard.press('v')
  await page.keyboard.press('Escape')
  await clickImage(100, 62) // a corner of its upright bounds
  assert.deepEqual(await selected(page, 'image'), [], 'a click outside the turned rectangle, inside its bounds, selects nothing')
  await clickImage(...along(r, 80, 25)) // near its turned bottom-right corner
  assert.deepEqual(await selected(page, 'image'), [r.id], 'a click inside the turned rectangle selects it')
  log('ok - hit-tested inside the turned rectangle, not its bounds')

  // resized by its right edge's handle along its own axis: the left edge and the angle stay
  const left = along(r, -r.w / 2, 0)
  await dragImage(along(r, r.w / 2, 0), along(r, r.w / 2 + 20, 6))
  let [g] = await shownBoxes(page, 'image')
  near(g.w, 220, 'w after the right edge moved 20 px along the box')
  near(g.h, 80, 'h stays')
  nearAngle(g.angle, r.angle, 'the angle stays', 1e-6)
  const leftNow = along(g, -g.w / 2, 0)
  near(leftNow[0], left[0], 'the left edge stays (x)')
  near(leftNow[1], left[1], 'the left edge stays (y)')
  log('ok - the edge handle resized it in its own frame')

  // undo and redo
  await page.keyboard.press('Control+z')
  ;[g] = await shownBoxes(page, 'image')
  near(g.w, 200, 'w after undo')
  await page.keyboard.press('Control+Shift+z')
  ;[g] = await shownBoxes(page, 'image')
  near(g.w, 220, 'w after redo')
  await imageSaved(page)
  const server = (await api('GET', `/api/v1/items/${cfg.item}/annotations`)).annotations
  assert.equal(server.length, 1, 'one annotation saved')
  assert.equal(server[0].id, g.id)
  for (const k of ['x', 'y', 'w', 'h', 'angle']) near(server[0].rotated_box[k], g[k], `saved ${k}`, 1e-3)
  log('ok - undo and redo, autosaved')

  // reload: kept with its angle
  canvas = await openImage(page, cfg)
  const [again] = await shownBoxes(page, 'image')
  assert.ok(again, 'the rotated box after a reload')
  for (const k of ['x', 'y', 'w', 'h']) near(again[k], g[k], `${k} after a reload`, 1e-3)
  nearAngle(again.angle, 30 * DEG, 'angle after a reload', 1e-6)
  await page.keyboard.press('v')
  await clickImage(...along(again, 0, 0))
  await shots(page, cfg.artifacts, 'rotated-box-image-reloaded')
  log('ok - after a reload the same rotated box, 30°')
}

async function video(page, cfg) {
  let canvas = await openVideoEditor(page, cfg.origin, cfg.videoItem)
  const dragImage = async (from, to) => drag(page, await screenOf(page, canvas, 'video', ...from), await screenOf(page, canvas, 'video', ...to))
  const clickImage = async (x, y) => {
    const p = await screenOf(page, canvas, 'video', x, y)
    await page.mouse.click(p.x, p.y)
  }
  await page.getByRole('radio', { name: /sign/ }).check()
  await page.keyboard.press('r')
  await dragImage([80, 80], [200, 140])
  await videoSaved(page)
  let [r] = await shownBoxes(page, 'video')
  assert.ok(r, 'a rotated box on frame 0')
  near(r.w, 120, 'w')
  assert.equal(r.angle, 0)

  // frame 50: the box held from frame 0; selected and turned a quarter turn by its knob
  await page.keyboard.press('v')
  await goTo(page, 50)
  ;[r] = await shownBoxes(page, 'video')
  await clickImage(...along(r, 0, 0))
  await turn(page, canvas, 'video', r, 91, true)
  await videoSaved(page)
  const tracks = await page.evaluate(() => window.loupeVideo().tracks)
  assert.equal(tracks.length, 1, 'one track')
  assert.deepEqual(Object.keys(tracks[0].frames).sort((a, b) => a - b), ['0', '50'], 'keyframes at 0 and 50')
  nearAngle(tracks[0].frames['50'].rotated_box.angle, 90 * DEG, 'the angle of keyframe 50', 1e-6)
  await shots(page, cfg.artifacts, 'rotated-box-video-50')

  // frame 25: halfway, 45° (once saved, the server's interpolation)
  const at25 = async () => {
    await goTo(page, 25)
    const [m] = await shownBoxes(page, 'video')
    assert.ok(m, 'a rotated box on frame 25')
    nearAngle(m.angle, 45 * DEG, 'the angle on frame 25')
    near(m.w, 120, 'w on frame 25')
    return m
  }
  const m = await at25()
  log(`ok - keyframes at 0 (0°) and 50 (90°); frame 25 shows ${(m.angle / DEG).toFixed(1)}°`)
  await clickImage(...along(m, 0, 0))
  await shots(page, cfg.artifacts, 'rotated-box-video-25')

  // reload: kept
  canvas = await openVideoEditor(page, cfg.origin, cfg.videoItem)
  const again = await at25()
  log(`ok - after a reload frame 25 still shows ${(again.angle / DEG).toFixed(1)}°`)
}

async function run(cfg, chromium) {
  const api = apiClient(cfg.origin, cfg.apiKey)
  const have = (await api('GET', '/api/v1/classes?page[size]=200')).classes
  for (const c of CLASSES) if (!have.some((h) => h.name === c.name)) await api('POST', '/api/v1/classes', c)
  await clearItem(api, cfg.item)
  await clearItem(api, cfg.videoItem)

  const b = await launch(chromium, cfg.chromium, { width: 1280, height: 720 })
  try {
    const context = await b.newContext()
    context.setDefaultTimeout(cfg.timeout)
    const page = await context.newPage()
    const errors = []
    page.on('pageerror', (e) => errors.push(e.stack ?? e.message))
    await signIn(page, cfg.origin, cfg.email, cfg.password)
    try {
      await image(page, cfg, api)
      await video(page, cfg)
    } catch (e) {
      await shots(page, cfg.artifacts, 'rotated-box-failed')
      throw e
    }
    assert.deepEqual(errors, [], `errors on the page: ${errors.join('; ')}`)
  } finally {
    await b.close()
  }
}

process.exitCode = await main(config, run, 'rotated boxes: drawn, turned by the knob with snapping, hit-tested, resized, undone, kept; interpolated in video')
