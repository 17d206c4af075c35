// The browser half of bench/editor_bench.sh: opens the editor on an item in headless Chromium and
// measures first render, pan/zoom frames per second, click-to-selected and one edit's save time,
// beside the raw Canvas 2D cost of drawing the same polygons once (the baseline).
//   node bench/editor_bench.mjs URL EMAIL PASSWORD ITEM SHAPES
import { launch, loadChromium, signIn } from '../tests/e2e/lib.mjs'

const [url, email, password, item, shapes] = process.argv.slice(2)
const binary = process.env.LOUPE_E2E_CHROMIUM || '/usr/bin/chromium'
const { chromium, skip } = await loadChromium(binary)
if (skip) {
  console.error(`editor_bench: ${skip}`)
  process.exit(77)
}
const b = await launch(chromium, binary, { width: 1920, height: 1080 })
try {
  const context = await b.newContext()
  context.setDefaultTimeout(60_000)
  const page = await context.newPage()
  await signIn(page, url, email, password)
  const n = Number(shapes)

  // first render: from navigation to every shape drawn
  const t0 = Date.now()
  await page.goto(`${url}/items/${item}`)
  await page.waitForFunction((n) => window.loupeEditor?.()?.doc.size === n && window.loupeEditor().drawn, n, { polling: 'raf' })
  const firstRender = Date.now() - t0

  const r = await page.evaluate(async () => {
    const ed = window.loupeEditor()
    const raf = () => new Promise((res) => requestAnimationFrame(res))
    const untilDrawn = async () => {
      while (!ed.drawn) await raf()
    }
    // the baseline: the same polygons through raw Canvas 2D, one fill and stroke each
    const shapes = ed.doc.all()
    const c = document.createElement('canvas')
    c.width = 1920
    c.height = 1080
    const ctx = c.getContext('2d')
    const tb = performance.now()
    const s = ed.view.scale
    ctx.setTransform(s, 0, 0, s, ed.view.tx, ed.view.ty)
    ctx.fillStyle = '#e4572e33'
    ctx.strokeStyle = '#e4572e'
    for (const sh of shapes) {
      const p = new Path2D()
      for (const path of sh.polygon.paths) {
        path.forEach((q, i) => (i ? p.lineTo(q.x, q.y) : p.moveTo(q.x, q.y)))
        p.closePath()
      }
      ctx.fill(p, 'evenodd')
      ctx.stroke(p)
    }
    ctx.getImageData(0, 0, 1, 1) // wait for the drawing to finish
    const rawDraw = performance.now() - tb

    // a full redraw by the editor (cached paths)
    const rest = () => new Promise((res) => setTimeout(res, 250)) // the layer is redrawn sharp after the view rests
    ed.redrawAll()
    await untilDrawn()
    const editorDraw = ed.lastDrawMs

    // pan and zoom for 5 s around the fitted view (every shape in view: the worst case)
    ed.fit()
    await untilDrawn()
    const f0 = ed.frames
    const start = performance.now()
    let i = 0
    while (performance.now() - start < 5000) {
      const k = i++ % 120
      if (k < 60) ed.view.pan(k < 30 ? 4 : -4, k < 30 ? 2 : -2)
      else ed.zoomAt(k < 90 ? 1.01 : 1 / 1.01)
      ed.invalidate()
      await raf()
    }
    const fps = (ed.frames - f0) / ((performance.now() - start) / 1000)
    ed.fit()
    await untilDrawn()
    await rest()
    await untilDrawn()

    // click to selected: a polygon in the middle of the view, by pointer events on the canvas
    const target = ed.doc.inRect(ed.view.visible()).find((sh) => {
      const q = sh.polygon.paths[0]
      const cx = q.reduce((a, p) => a + p.x, 0) / q.length
      const cy = q.reduce((a, p) => a + p.y, 0) / q.length
      const hit = ed.shapeAt(ed.view.toScreen({ x: cx, y: cy }))
      return hit && hit.id === sh.id
    })
    const q = target.polygon.paths[0]
    const centre = ed.view.toScreen({ x: q.reduce((a, p) => a + p.x, 0) / q.length, y: q.reduce((a, p) => a + p.y, 0) / q.length })
    const canvas = document.querySelector('canvas.editor-canvas')
    const box = canvas.getBoundingClientRect()
    const ev = (type) => new PointerEvent(type, { clientX: box.left + centre.x, clientY: box.top + centre.y, button: 0, pointerId: 1, bubbles: true })
    const ts = performance.now()
    canvas.dispatchEvent(ev('pointerdown'))
    canvas.dispatchEvent(ev('pointerup'))
    await untilDrawn()
    const select = performance.now() - ts
    const selected = ed.selected.has(target.id)

    // one edited shape saved: nudge it, then flush (autosave's debounce aside)
    const saver = window.loupeSaver()
    ed.nudge(1, 0)
    const tsave = performance.now()
    await saver.flush()
    const save = performance.now() - tsave
    return { rawDraw, editorDraw, fps, select, selected, save, saved: saver.state }
  })
  if (!r.selected || r.saved !== 'saved') throw new Error(`the click did not select (${r.selected}) or the save failed (${r.saved})`)
  console.log(
    JSON.stringify({
      shapes: n,
      first_render_ms: firstRender,
      editor_full_draw_ms: Math.round(r.editorDraw * 10) / 10,
      raw_canvas_draw_ms: Math.round(r.rawDraw * 10) / 10,
      pan_zoom_fps: Math.round(r.fps * 10) / 10,
      select_ms: Math.round(r.select * 10) / 10,
      save_ms: Math.round(r.save * 10) / 10,
    }),
  )
} finally {
  await b.close()
}
