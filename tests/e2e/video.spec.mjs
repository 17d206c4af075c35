#!/usr/bin/env node
// End-to-end test of the video editor in a real headless Chromium, against a real louped.
//
//   LOUPE_E2E_URL, LOUPE_E2E_EMAIL, LOUPE_E2E_PASSWORD, LOUPE_E2E_API_KEY   as in app.spec.mjs
//   LOUPE_E2E_VIDEO_ITEM     a ready item with one video slot of at least 100 frames
//   LOUPE_E2E_PLAY_SECONDS   how long to play (default 10)
//   LOUPE_E2E_TRACKS         optional: tracks made through the API before opening (the overlay
//                            played over; default 0) — the benchmark plays with some
//   LOUPE_E2E_PLAY_ONLY      optional: 1 = only open, play and report (the benchmark)
//   LOUPE_E2E_ARTIFACTS      where screenshots go
//
// Steps: open the video; play for LOUPE_E2E_PLAY_SECONDS and count the frames that were due but not
// loaded in time (goal and assertion: none); draw a box on frame 0 and move it on frame 50 (two
// keyframes, autosaved); the box on frame 25 is the midway interpolation; drag the keyframe of frame
// 50 on the timeline and see the shape on frame 25 follow before the button is released; split the
// track at frame 30 and merge it back, then undo both; reload: the track, its keyframes and the
// interpolated box are kept.

import assert from 'node:assert/strict'
import { apiClient, drag, launch, log, main, openUntil, readSpecConfig, shots, signIn, waitUntil } from './lib.mjs'

function config() {
  const cfg = readSpecConfig('video.spec.mjs', { item: ['LOUPE_E2E_VIDEO_ITEM', true] })
  cfg.playSeconds = Number(process.env.LOUPE_E2E_PLAY_SECONDS ?? '10')
  cfg.tracks = Number(process.env.LOUPE_E2E_TRACKS ?? '0')
  cfg.playOnly = process.env.LOUPE_E2E_PLAY_ONLY === '1'
  return cfg
}

const CLASS = { name: 'car', annotation_types: ['bounding_box', 'polygon'], color: '#e4572e' }

async function openVideo(page, cfg) {
  await openUntil(
    page,
    `${cfg.origin}/items/${cfg.item}`,
    `the video editor did not open ${cfg.item}`,
    () => {
      const v = window.loupeVideo?.()
      return v && v.player && v.ready(v.frame) && v.editor.drawn
    },
    () => {
      const v = window.loupeVideo?.()
      return window.loupeVideo ? (v ? { player: !!v.player, frame: v.frame, ready: v.player ? v.ready(v.frame) : null, drawn: v.editor?.drawn } : null) : 'not published'
    },
  )
  return page.locator('canvas.editor-canvas').boundingBox()
}

async function saved(page) {
  await waitUntil(page, () => {
    const s = window.loupeVideo?.().saver
    return s && s.state === 'saved' && s.pendingCount === 0
  })
}

/** Goes to frame n through the frame field, and waits until it is drawn. */
async function goTo(page, n) {
  const field = page.locator('input[data-field="frame"]')
  await field.fill(String(n))
  await field.press('Enter')
  await waitUntil(page, (n) => {
    const v = window.loupeVideo()
    return v.frame === n && v.ready(n) && v.editor.drawn
  }, n)
}

async function screenOf(page, canvas, x, y) {
  const p = await page.evaluate(([x, y]) => window.loupeVideo().editor.view.toScreen({ x, y }), [x, y])
  return { x: canvas.x + p.x, y: canvas.y + p.y }
}

async function dragImage(page, canvas, from, to) {
  await drag(page, await screenOf(page, canvas, ...from), await screenOf(page, canvas, ...to))
}

/** The box of the one shape on the frame shown. */
function shownBox(page) {
  return page.evaluate(() => window.loupeVideo().editor.doc.all().map((s) => s.bounding_box))
}

function near(a, b, what, tol = 1.5) {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} is not within ${tol} px of ${b}`)
}

/** The page x of frame f on a track's lane. */
async function laneX(page, frameCount, f) {
  const lane = await page.locator('.lanes .lane').first().boundingBox()
  return { x: lane.x + ((f + 0.5) / frameCount) * lane.width, y: lane.y + lane.height / 2 }
}

async function keyframesShown(page) {
  return page.locator('.lanes .keyframe').evaluateAll((els) => els.map((e) => Number(e.dataset.frame)).sort((a, b) => a - b))
}

async function play(page, seconds) {
  await page.getByRole('button', { name: 'First frame' }).click()
  // the first windows ahead are loaded while the page opens: wait for them as a player's pre-roll
  await waitUntil(page, () => {
    const v = window.loupeVideo()
    return [0, 16, 32, 48].every((n) => v.ready(n))
  })
  const before = await page.evaluate(() => ({ ...window.loupeVideo().stats }))
  await page.getByRole('button', { name: 'Play' }).click()
  await page.waitForTimeout(seconds * 1000)
  await page.getByRole('button', { name: 'Pause' }).click()
  const after = await page.evaluate(() => ({ ...window.loupeVideo().stats, frame: window.loupeVideo().frame }))
  const stats = {
    shown: after.shown - before.shown,
    late: after.late - before.late,
    stalls: after.stalls - before.stalls,
    stallMs: Math.round(after.stallMs - before.stallMs),
    skipped: after.skipped - before.skipped,
    frame: after.frame,
  }
  log(`# played ${seconds} s: ${JSON.stringify(stats)}`)
  assert.ok(stats.frame > 0, 'the playhead did not move')
  return stats
}

async function run(cfg, chromium) {
  const api = apiClient(cfg.origin, cfg.apiKey)
  const have = (await api('GET', '/api/v1/classes?page[size]=200')).classes
  const cls = have.find((h) => h.name === CLASS.name) ?? (await api('POST', '/api/v1/classes', CLASS))
  const old = await api('GET', `/api/v1/items/${cfg.item}/annotations`)
  if (old.annotations.length) await api('POST', `/api/v1/items/${cfg.item}/annotations/batch`, { delete: old.annotations.map((a) => a.id) })
  const item = await api('GET', `/api/v1/items/${cfg.item}`)
  const frameCount = item.slots[0].frame_count
  if (cfg.tracks) {
    // tracks over the whole video, a keyframe every 50 frames, moving across the frame
    const create = Array.from({ length: cfg.tracks }, (_, i) => {
      const frames = {}
      for (let f = 0; f < frameCount; f += 50) frames[String(f)] = { keyframe: true, bounding_box: { x: 10 + ((f * 3 + i * 40) % 500), y: 10 + i * 12, w: 60, h: 40 } }
      return { class_id: cls.id, frames, ranges: [[0, frameCount]], interpolated: true }
    })
    await api('POST', `/api/v1/items/${cfg.item}/annotations/batch`, { create })
  }

  const b = await launch(chromium, cfg.chromium, { width: 1280, height: 720 })
  try {
    const context = await b.newContext()
    context.setDefaultTimeout(cfg.timeout)
    const page = await context.newPage()
    const errors = []
    page.on('pageerror', (e) => errors.push(e.stack ?? e.message))
    await signIn(page, cfg.origin, cfg.email, cfg.password)
    let canvas = await openVideo(page, cfg)
    await shots(page, cfg.artifacts, 'video-open')
    try {
      canvas = await steps(page, cfg, api, canvas, frameCount)
    } catch (e) {
      await shots(page, cfg.artifacts, 'video-failed')
      if (errors.length) log(`# errors on the page: ${errors.join('; ')}`)
      throw e
    }
    assert.deepEqual(errors, [], `errors on the page: ${errors.join('; ')}`)
    await context.close()
  } finally {
    await b.close()
  }
}

async function steps(page, cfg, api, canvas, frameCount) {
  // 1. Playback: no frame may be late.
  const stats = await play(page, cfg.playSeconds)
  if (cfg.playOnly) {
    // the benchmark reports what happened; the test below asserts it
    log(`# video_player: shown=${stats.shown} late=${stats.late} stalls=${stats.stalls} stall_ms=${stats.stallMs} skipped=${stats.skipped}`)
    return canvas
  }
  assert.equal(stats.late, 0, `${stats.late} frame(s) were shown late (${stats.stalls} stall(s), ${stats.stallMs} ms)`)
  log(`ok - ${cfg.playSeconds} s played, ${stats.shown} frames shown, none late`)

  // 2. A box on frame 0, moved on frame 50: two keyframes.
  await page.getByRole('button', { name: 'First frame' }).click()
  await page.getByRole('radio', { name: /car/ }).check()
  await page.keyboard.press('b')
  await dragImage(page, canvas, [100, 100], [200, 180])
  await saved(page)
  let tracks = await page.evaluate(() => window.loupeVideo().tracks)
  assert.equal(tracks.length, 1, 'one track after drawing a box')
  assert.deepEqual(Object.keys(tracks[0].frames), ['0'])
  await page.keyboard.press('v')
  await goTo(page, 50)
  await dragImage(page, canvas, [150, 140], [350, 240])
  await saved(page)
  assert.deepEqual(await keyframesShown(page), [0, 50])
  const [at50] = await shownBox(page)
  near(at50.x, 300, 'x on frame 50')
  near(at50.y, 200, 'y on frame 50')
  log('ok - keyframes on frames 0 and 50, autosaved')

  // 3. Frame 25 is the midway interpolation.
  await goTo(page, 25)
  const [at25] = await shownBox(page)
  near(at25.x, 200, 'x on frame 25')
  near(at25.y, 150, 'y on frame 25')
  near(at25.w, 100, 'w on frame 25')
  log('ok - the box on frame 25 is interpolated')
  await shots(page, cfg.artifacts, 'video-keyframes')

  // 4. Dragging the keyframe of frame 50 to 40: the shape on frame 25 follows before release.
  const k50 = await laneX(page, frameCount, 50)
  const k40 = await laneX(page, frameCount, 40)
  await page.mouse.move(k50.x, k50.y)
  await page.mouse.down()
  await page.mouse.move(k40.x, k40.y, { steps: 5 })
  await waitUntil(page, () => window.loupeVideo().editor.drawn)
  const [live] = await shownBox(page)
  near(live.x, 100 + (200 * 25) / 40, 'x on frame 25 while the keyframe is dragged to 40')
  await shots(page, cfg.artifacts, 'video-drag')
  await page.mouse.up()
  await saved(page)
  assert.deepEqual(await keyframesShown(page), [0, 40])
  log('ok - a keyframe dragged on the timeline, the interpolation shown live')
  await page.keyboard.press('Control+z')
  await saved(page)
  assert.deepEqual(await keyframesShown(page), [0, 50])

  // 5. Split at frame 30, merge back, undo both.
  await goTo(page, 30)
  await page.getByRole('button', { name: 'Split here' }).click()
  tracks = await page.evaluate(() => window.loupeVideo().tracks)
  assert.equal(tracks.length, 2, 'two tracks after the split')
  assert.equal(await page.locator('.lanes .lane-row').count(), 2)
  await page.locator('.lanes .lane-label').first().click()
  await page.getByRole('button', { name: 'Merge', exact: true }).click()
  tracks = await page.evaluate(() => window.loupeVideo().tracks)
  assert.equal(tracks.length, 1, 'one track after the merge')
  assert.deepEqual(await keyframesShown(page), [0, 29, 30, 50])
  await saved(page)
  await page.keyboard.press('Control+z')
  await page.keyboard.press('Control+z')
  await saved(page)
  assert.deepEqual(await keyframesShown(page), [0, 50])
  log('ok - split and merge, undone')

  // 6. Reload: kept.
  canvas = await openVideo(page, cfg)
  assert.deepEqual(await keyframesShown(page), [0, 50])
  await goTo(page, 25)
  const [again] = await shownBox(page)
  near(again.x, 200, 'x on frame 25 after a reload')
  near(again.y, 150, 'y on frame 25 after a reload')
  const server = await api('GET', `/api/v1/items/${cfg.item}/annotations`)
  assert.equal(server.annotations.length, 1)
  assert.deepEqual(Object.keys(server.annotations[0].frames).sort((a, b) => a - b), ['0', '50'])
  log('ok - after a reload the track and its keyframes are kept')
  await shots(page, cfg.artifacts, 'video-reloaded')
  return canvas
}

process.exitCode = await main(config, run, 'video editor: playback without late frames, keyframes, interpolation, split and merge, reload')
