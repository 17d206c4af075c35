#!/usr/bin/env node
// End-to-end test of the video editor in a real headless Chromium, against a real louped.
//
//   LOUPE_E2E_URL, LOUPE_E2E_EMAIL, LOUPE_E2E_PASSWORD, LOUPE_E2E_API_KEY   as in app.spec.mjs
//   LOUPE_E2E_VIDEO_ITEM     a ready item with one video slot of at least 100 frames
//   LOUPE_E2E_WATCH_ITEM     optional: a ready item with one 30 fps video slot of at least 20 s whose
//                            shorter side is over 360 pixels (two renditions, 1080p and 360p), with
//                            sound: watched by the keyboard, a quality picked while playing, and
//                            through the browser's own HLS (hls.js kept out)
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
// interpolated box are kept. Between those: a box dragged past the frame's lower edge is drawn
// inside the frame only; the track is hidden from frame 60 and shown again from 80 (a hidden area,
// saved); watch mode plays the HLS renditions through hls.js (segments fetched, the time advancing,
// the shapes following the picture, a quality picked, the sound decoded when the video has some),
// and back in annotate mode the playhead is on the frame that was showing. With LOUPE_E2E_WATCH_ITEM:
// watching driven by the keyboard alone (W, Space, the arrows: a step pauses on the exact next frame,
// and W lands the annotator on it), the other quality picked by hand while the video plays (its
// segments fetched and playing), and the same video through the browser's own HLS where hls.js
// cannot run (no Media Source Extensions in the page).

import assert from 'node:assert/strict'
import { apiClient, drag, goToFrame as goTo, launch, log, main, openVideoEditor, readSpecConfig, screenshot, shots, signIn, videoSaved as saved, waitUntil } from './lib.mjs'

function config() {
  const cfg = readSpecConfig('video.spec.mjs', { item: ['LOUPE_E2E_VIDEO_ITEM', true], watchItem: ['LOUPE_E2E_WATCH_ITEM', false] })
  cfg.playSeconds = Number(process.env.LOUPE_E2E_PLAY_SECONDS ?? '10')
  cfg.tracks = Number(process.env.LOUPE_E2E_TRACKS ?? '0')
  cfg.playOnly = process.env.LOUPE_E2E_PLAY_ONLY === '1'
  return cfg
}

const CLASS = { name: 'car', annotation_types: ['bounding_box', 'polygon'], color: '#e4572e' }

function openVideo(page, cfg) {
  return openVideoEditor(page, cfg.origin, cfg.item)
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

/** The most opaque canvas pixel in the image rectangle (x0, y0)–(x1, y1): 0 where nothing is drawn. */
async function canvasAlpha(page, canvas, x0, y0, x1, y1) {
  const a = await screenOf(page, canvas, x0, y0)
  const b = await screenOf(page, canvas, x1, y1)
  return page.evaluate(
    ([a, b]) => {
      const c = document.querySelector('canvas.editor-canvas')
      const box = c.getBoundingClientRect()
      const k = c.width / box.width
      const x = Math.round((a.x - box.left) * k)
      const y = Math.round((a.y - box.top) * k)
      const w = Math.max(1, Math.round((b.x - a.x) * k))
      const h = Math.max(1, Math.round((b.y - a.y) * k))
      const data = c.getContext('2d').getImageData(x, y, w, h).data
      let max = 0
      for (let i = 3; i < data.length; i += 4) max = Math.max(max, data[i])
      return max
    },
    [a, b],
  )
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

/** The track's box x on frame f by then: keyframes at 0 (x 100) and 50 (x 300), hidden on 60 … 79 (null). */
function expectedX(f) {
  if (f >= 60 && f < 80) return null
  return 100 + (200 * Math.min(f, 50)) / 50
}

/** The watch step: see the comment at the top. */
async function watchAndBack(page, cfg, api) {
  const responses = []
  page.on('response', (r) => responses.push({ url: r.url(), status: r.status() }))
  const media = await api('GET', `/api/v1/items/${cfg.item}/slots/0/media`)
  assert.ok(media.playback, 'the video has playback renditions')
  await page.getByRole('button', { name: 'First frame' }).click()
  // the shortcuts of watch mode and of hidden areas are in the help
  await page.keyboard.press('?')
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' })
  await help.waitFor()
  const listed = await help.innerText()
  for (const what of ['Watch (the video with sound', 'Hide the selected track from here', 'Show the selected track again from here']) {
    assert.ok(listed.includes(what), `the shortcut help does not list "${what}"`)
  }
  await help.getByRole('button', { name: 'Close' }).click()
  await page.keyboard.press('w')
  await waitUntil(page, () => {
    const v = window.loupeVideo()
    return v.mode === 'watch' && v.watch && v.watch.engine === 'hls.js' && v.watch.qualities.length > 0
  })
  const watch0 = await page.evaluate(() => window.loupeVideo().watch)
  assert.deepEqual(watch0.qualities, media.playback.renditions.map((r) => r.name), 'the qualities offered are the renditions')
  assert.equal(await page.getByRole('button', { name: 'Watch' }).getAttribute('aria-pressed'), 'true')
  // a quality picked by hand, then automatic again
  const quality = page.locator('select[data-field="quality"]')
  await quality.selectOption({ label: media.playback.renditions.at(-1).name })
  await waitUntil(page, (n) => window.loupeVideo().watch.picked === n, media.playback.renditions.length - 1)
  await quality.selectOption({ index: 0 })
  await waitUntil(page, () => window.loupeVideo().watch.picked === -1)

  // while it plays, the frame shown and the shape drawn over it are read together at every change
  // (in the page, on a timer)
  await page.evaluate(() => {
    const seen = (window.watchSeen = [])
    window.watchTimer = setInterval(() => {
      const v = window.loupeVideo()
      if (seen.at(-1)?.frame !== v.frame) seen.push({ frame: v.frame, box: v.editor.doc.all().map((x) => x.bounding_box)[0] ?? null })
    }, 10)
  })
  await page.getByRole('button', { name: 'Play' }).click()
  await waitUntil(page, () => window.loupeVideo().watch.time > 1.5)
  await page.getByRole('button', { name: 'Pause' }).click()
  await waitUntil(page, () => !window.loupeVideo().watch.playing)
  const seen = await page.evaluate(() => {
    clearInterval(window.watchTimer)
    return window.watchSeen
  })
  const watched = await page.evaluate(() => window.loupeVideo().watch)
  log(`# watched: ${JSON.stringify({ ...watched, fragmentUrls: watched.fragmentUrls.length })}; overlay on frames ${seen.map((s) => s.frame).join(', ')}`)
  assert.ok(new Set(seen.map((s) => s.frame)).size >= 4, `the overlay followed only ${seen.length} frame(s) while playing`)
  for (const s of seen) {
    const x = expectedX(s.frame)
    if (x === null) assert.equal(s.box, null, `a shape over frame ${s.frame}, inside the hidden area`)
    else near(s.box?.x, x, `x of the shape over frame ${s.frame} while watching`)
  }
  assert.ok(Math.abs(watched.frame - Math.floor(watched.time * 30 + 1e-3)) <= 1, `frame ${watched.frame} is not the frame at ${watched.time} s`)
  assert.ok(watched.decoded + watched.dropped >= watched.frame / 2, `the picture stayed behind: ${watched.decoded} frames decoded by frame ${watched.frame}`)
  // segments: playlists from the …/hls/ route, fragments from the URLs they name
  assert.ok(responses.some((r) => /\/slots\/0\/hls\/master\.m3u8$/.test(new URL(r.url).pathname) && r.status === 200), 'the master playlist was not fetched')
  assert.ok(watched.fragments >= 1, 'no segment loaded')
  assert.ok(
    responses.some((r) => watched.fragmentUrls.includes(r.url) && (r.status === 200 || r.status === 206)),
    `no segment fetched: ${JSON.stringify(responses.slice(-10))}`,
  )
  if (media.playback.audio) {
    assert.ok(watched.audioTracks >= 1 && !watched.muted, 'the audio rendition is not playing')
    assert.ok(watched.audioBytes === undefined || watched.audioBytes > 0, 'no sound was decoded')
  }
  await shots(page, cfg.artifacts, 'video-watch')
  log(`ok - watched through ${watched.engine}: ${watched.fragments} segment(s), ${watched.presented} frames, the shapes following`)

  // back to annotating: the exact frame that was showing
  await page.keyboard.press('w')
  await waitUntil(page, (f) => {
    const v = window.loupeVideo()
    return v.mode === 'annotate' && v.ready(v.frame) && v.editor.drawn && Math.abs(v.frame - f) <= 1
  }, watched.frame)
  const back = await page.evaluate(() => window.loupeVideo().frame)
  assert.ok(Math.abs(back - watched.frame) <= 1, `annotating on frame ${back}, watched ${watched.frame}`)
  assert.equal(Number(await page.locator('input[data-field="frame"]').inputValue()), back)
  const x = expectedX(back)
  if (x === null) assert.deepEqual(await shownBox(page), [])
  else near((await shownBox(page))[0].x, x, `x on frame ${back} back in annotate mode`)
  log(`ok - back to annotating on frame ${back} (watched ${watched.frame})`)
}

/** The state of watch mode, as the page reports it. */
function watchState(page) {
  return page.evaluate(() => {
    const v = window.loupeVideo()
    return { mode: v.mode, frame: v.frame, ...(v.watch ?? {}) }
  })
}

/** Frame at time t of a 30 fps video whose timestamps start at 0. */
function frameAtTime(t) {
  return Math.floor(t * 30 + 1e-3)
}

/**
 * Watching by the keyboard on a video with two renditions: W opens watch mode, Space plays and
 * pauses, a quality is picked by hand while the video plays (hls.js then fetches and plays that
 * rendition's segments), the arrows pause on the exact next (previous, tenth) frame, and W takes the
 * annotator to exactly that frame.
 */
async function watchByKeyboard(page, cfg, api) {
  const media = await api('GET', `/api/v1/items/${cfg.watchItem}/slots/0/media`)
  const names = media.playback.renditions.map((r) => r.name)
  assert.deepEqual([...names].sort(), ['1080p', '360p'], 'the watch video has both renditions')
  const files = Object.fromEntries(media.playback.renditions.map((r) => [r.name, `hls-${r.name}`]))
  await openVideo(page, { ...cfg, item: cfg.watchItem })
  await page.locator('canvas.editor-canvas').focus()
  await page.keyboard.press('w')
  await waitUntil(page, () => {
    const v = window.loupeVideo()
    return v.mode === 'watch' && v.watch?.engine === 'hls.js' && v.watch.qualities.length === 2
  })
  assert.deepEqual([...(await watchState(page)).qualities].sort(), [...names].sort(), 'the qualities offered are the renditions')
  await page.keyboard.press('Space')
  await waitUntil(page, () => window.loupeVideo().watch.playing && window.loupeVideo().watch.time > 0.5)
  await waitUntil(page, () => window.loupeVideo().watch.level >= 0)
  // pick, by hand and while playing, the rendition that is not playing
  const before = await watchState(page)
  const other = before.level === 0 ? 1 : 0
  const otherName = before.qualities[other]
  const urlsBefore = before.fragmentUrls.length
  await page.locator('select[data-field="quality"]').selectOption({ label: otherName })
  await waitUntil(page, (n) => window.loupeVideo().watch.picked === n, other)
  assert.ok((await watchState(page)).playing, 'picking a quality stopped the video')
  // hls.js switches from the segment after the one playing: the picked rendition plays within seconds
  await waitUntil(page, ([n, t]) => {
    const w = window.loupeVideo().watch
    return w.level === n && w.playing && w.time > t + 1
  }, [other, before.time], { timeout: 20000 })
  const picked = await watchState(page)
  const fetched = picked.fragmentUrls.slice(urlsBefore)
  assert.ok(fetched.some((u) => u.includes(files[otherName])), `no ${otherName} segment fetched after picking it: ${fetched.join(' ')}`)
  assert.ok(picked.decoded > before.decoded, 'no frame decoded after the quality was picked')
  const label = await page.locator('select[data-field="quality"] option:checked').innerText()
  assert.equal(label, otherName)
  await shots(page, cfg.artifacts, 'video-watch-quality')
  log(`ok - ${otherName} picked by hand while playing (from ${before.qualities[before.level]}): its segments fetched, playing at ${picked.time.toFixed(2)} s`)
  await page.locator('select[data-field="quality"]').selectOption({ index: 0 })
  await waitUntil(page, () => window.loupeVideo().watch.picked === -1)
  await page.locator('canvas.editor-canvas').focus() // out of the select: keys are shortcuts again

  // Space pauses and plays
  await page.keyboard.press('Space')
  await waitUntil(page, () => !window.loupeVideo().watch.playing)
  await page.keyboard.press('Space')
  await waitUntil(page, () => window.loupeVideo().watch.playing)
  // an arrow while playing: paused on the frame after the one showing, exactly
  await page.keyboard.press('ArrowRight')
  await waitUntil(page, () => !window.loupeVideo().watch.playing)
  await page.waitForTimeout(300) // frames presented before the pause have been reported
  const stepped = await watchState(page)
  assert.equal(stepped.mode, 'watch', 'a step left watch mode')
  const steps = [['ArrowRight', 1], ['ArrowRight', 1], ['ArrowLeft', -1], ['Shift+ArrowRight', 10]]
  let expected = stepped.frame
  for (const [key, d] of steps) {
    await page.keyboard.press(key)
    expected += d
    await waitUntil(page, (f) => {
      const w = window.loupeVideo().watch
      return window.loupeVideo().frame === f && w.frame === f && !w.playing
    }, expected)
    // the element shows that frame: its clock lies inside it
    await waitUntil(page, (f) => Math.floor(window.loupeVideo().watch.time * 30 + 1e-3) === f, expected)
  }
  assert.equal(frameAtTime((await watchState(page)).time), expected)
  log(`ok - Space played and paused, the arrows stepped to frame ${expected} while watching`)
  // W: annotating on exactly that frame (paused: no ±1), its exact pixels drawn
  await page.keyboard.press('w')
  await waitUntil(page, (f) => {
    const v = window.loupeVideo()
    return v.mode === 'annotate' && v.frame === f && v.ready(f) && v.editor.drawn
  }, expected)
  assert.equal(Number(await page.locator('input[data-field="frame"]').inputValue()), expected)
  // and W again watches from there
  await page.keyboard.press('w')
  await waitUntil(page, (f) => {
    const v = window.loupeVideo()
    return v.mode === 'watch' && v.watch.frame === f && Math.floor(v.watch.time * 30 + 1e-3) === f
  }, expected)
  await page.keyboard.press('w')
  await waitUntil(page, (f) => window.loupeVideo().mode === 'annotate' && window.loupeVideo().frame === f, expected)
  log(`ok - W took the annotator to frame ${expected} exactly, and back to watching from it`)
}

/**
 * The browser's own HLS: a page without Media Source Extensions (hls.js cannot run there) plays the
 * renditions through the <video> element alone when the browser can (canPlayType of HLS), and
 * otherwise says so and stays on the exact frames.
 */
async function watchNative(browser, cfg) {
  const context = await browser.newContext()
  context.setDefaultTimeout(cfg.timeout)
  await context.addInitScript(() => {
    for (const name of ['MediaSource', 'ManagedMediaSource', 'WebKitMediaSource']) {
      Object.defineProperty(window, name, { value: undefined, configurable: true })
    }
  })
  const page = await context.newPage()
  try {
    await signIn(page, cfg.origin, cfg.email, cfg.password)
    await openVideo(page, { ...cfg, item: cfg.watchItem })
    const native = await page.evaluate(() => document.createElement('video').canPlayType('application/vnd.apple.mpegurl'))
    await page.locator('canvas.editor-canvas').focus()
    await page.keyboard.press('w')
    if (!native) {
      // this Chromium has no HLS of its own: the page says why and the exact frames stay
      await page.getByText('this browser plays neither HLS nor Media Source Extensions').waitFor()
      assert.equal((await watchState(page)).mode, 'annotate')
      log('ok - without Media Source Extensions and without native HLS the page says so and stays on the exact frames')
      return
    }
    await waitUntil(page, () => window.loupeVideo().mode === 'watch' && window.loupeVideo().watch?.engine === 'native')
    const w0 = await watchState(page)
    assert.deepEqual(w0.qualities, [], 'the browser picks the quality itself')
    await page.keyboard.press('Space')
    await waitUntil(page, () => window.loupeVideo().watch.playing && window.loupeVideo().watch.time > 1)
    await page.keyboard.press('ArrowRight')
    await waitUntil(page, () => !window.loupeVideo().watch.playing)
    const w = await watchState(page)
    assert.ok(w.frame > 0 && w.decoded > 0, `native HLS showed nothing: ${JSON.stringify(w)}`)
    await shots(page, cfg.artifacts, 'video-watch-native')
    await page.keyboard.press('w')
    await waitUntil(page, (f) => {
      const v = window.loupeVideo()
      return v.mode === 'annotate' && v.frame === f && v.ready(f)
    }, w.frame)
    log(`ok - the browser's own HLS (${native}) played without hls.js; annotating on frame ${w.frame}`)
  } finally {
    await context.close()
  }
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
      if (cfg.watchItem && !cfg.playOnly) await watchByKeyboard(page, cfg, api)
    } catch (e) {
      await shots(page, cfg.artifacts, 'video-failed')
      if (errors.length) log(`# errors on the page: ${errors.join('; ')}`)
      throw e
    }
    assert.deepEqual(errors, [], `errors on the page: ${errors.join('; ')}`)
    await context.close()
    if (cfg.watchItem && !cfg.playOnly) await watchNative(b, cfg)
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

  // 4b. The box of frame 50 (300, 200, 100 × 80) dragged 140 px down, past the frame's lower edge
  // (360): while the button is down, nothing of it is drawn below the frame.
  await goTo(page, 50)
  const grab = await screenOf(page, canvas, 350, 240)
  const down = await screenOf(page, canvas, 350, 380)
  await page.mouse.move(grab.x, grab.y)
  await page.mouse.down()
  await page.mouse.move(down.x, down.y, { steps: 6 })
  await waitUntil(page, () => window.loupeVideo().editor.drawn)
  const [dragged] = await shownBox(page)
  near(dragged.y, 340, 'y of the box dragged down')
  // its left edge runs from y 340 to 420: inside the frame it is drawn, below the frame it is not
  assert.ok((await canvasAlpha(page, canvas, 295, 345, 305, 355)) > 0, 'the dragged box is drawn inside the frame')
  assert.equal(await canvasAlpha(page, canvas, 295, 392, 305, 408), 0, 'the dragged box is drawn past the frame\'s lower edge')
  await screenshot(page, cfg.artifacts, 'video-box-drag')
  await page.mouse.up()
  await saved(page)
  await page.keyboard.press('Control+z')
  await saved(page)
  near((await shownBox(page))[0].y, 200, 'y on frame 50 after the undo')
  log('ok - a box dragged past the frame is drawn inside the frame only')

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

  // 6. Hidden areas: hide the track from frame 60, show it again from frame 80.
  await goTo(page, 60)
  await page.locator('.lanes .lane-label').first().click()
  await page.getByRole('button', { name: 'Hide from here' }).click()
  await waitUntil(page, () => window.loupeVideo().editor.drawn)
  assert.deepEqual(await shownBox(page), [], 'a shape on the frame the track is hidden from')
  await goTo(page, 80)
  assert.deepEqual(await shownBox(page), [], 'a shape after the frame the track is hidden from')
  await page.locator('.lanes .lane-label').first().click() // out of the frame field: keys are shortcuts again
  await page.keyboard.press('Shift+V') // = the "Show from here" button
  await waitUntil(page, () => window.loupeVideo().editor.drawn)
  assert.equal((await shownBox(page)).length, 1, 'no shape on the frame the track is shown again from')
  await saved(page)
  tracks = await page.evaluate(() => window.loupeVideo().tracks)
  assert.deepEqual(tracks[0].hidden_areas, [[60, 80]])
  assert.equal(await page.locator('.lanes .hidden-area').count(), 1)
  await goTo(page, 70)
  assert.deepEqual(await shownBox(page), [], 'a shape inside the hidden area')
  let server = await api('GET', `/api/v1/items/${cfg.item}/annotations`)
  assert.deepEqual(server.annotations[0].hidden_areas, [[60, 80]])
  log('ok - the track hidden from frame 60 and shown again from 80, saved')

  // 7. Watch mode: hls.js plays the renditions; the shapes follow the picture; back to annotating on
  // the frame that was showing.
  await watchAndBack(page, cfg, api)

  // 8. Reload: kept.
  canvas = await openVideo(page, cfg)
  assert.deepEqual(await keyframesShown(page), [0, 50])
  assert.equal(await page.locator('.lanes .hidden-area').count(), 1)
  await goTo(page, 25)
  const [again] = await shownBox(page)
  near(again.x, 200, 'x on frame 25 after a reload')
  near(again.y, 150, 'y on frame 25 after a reload')
  server = await api('GET', `/api/v1/items/${cfg.item}/annotations`)
  assert.equal(server.annotations.length, 1)
  assert.deepEqual(Object.keys(server.annotations[0].frames).sort((a, b) => a - b), ['0', '50'])
  assert.deepEqual(server.annotations[0].hidden_areas, [[60, 80]])
  log('ok - after a reload the track and its keyframes are kept')
  await shots(page, cfg.artifacts, 'video-reloaded')
  return canvas
}

process.exitCode = await main(config, run, 'video editor: playback without late frames, keyframes, interpolation, split and merge, reload')
