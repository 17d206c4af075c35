// Shared by the browser tests: launching Debian's Chromium through playwright-core, screenshots
// and the axe-core accessibility check.

import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const PASS = 0
export const FAIL = 1
export const SKIP = 77

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
]

export function log(message) {
  process.stdout.write(`${message}\n`)
}

/** playwright-core's chromium, or a skip reason. */
export async function loadChromium(binary) {
  if (!existsSync(binary)) return { skip: `no Chromium at ${binary} (apt-get install chromium, or set LOUPE_E2E_CHROMIUM)` }
  try {
    const { chromium } = await import('playwright-core')
    return { chromium }
  } catch {
    return { skip: 'playwright-core is not installed (run npm ci in tests/e2e)' }
  }
}

/**
 * The whole of a spec's main: reads the configuration (readConfig throws on a bad one), loads
 * Chromium, runs `run(cfg, chromium)` and turns the outcome into the exit status.
 */
export async function main(readConfig, run, passMessage) {
  let cfg
  try {
    cfg = readConfig()
  } catch (error) {
    log(`not ok - configuration: ${error.message}`)
    return FAIL
  }
  const { chromium, skip } = await loadChromium(cfg.chromium)
  if (skip) {
    log(`skip - ${skip}`)
    return SKIP
  }
  try {
    await run(cfg, chromium)
  } catch (error) {
    log(`not ok - ${error instanceof Error ? error.message : String(error)}`)
    if (error instanceof Error && error.stack) log(`# ${error.stack.replace(/\n/g, '\n# ')}`)
    return FAIL
  }
  log(`pass - ${passMessage}`)
  return PASS
}

/** A browser with a fresh profile; close() removes the profile too. */
export async function launch(chromium, binary, viewport) {
  const profile = await mkdtemp(join(tmpdir(), 'loupe-e2e-'))
  const browser = await chromium.launch({ executablePath: binary, headless: true, args: CHROMIUM_ARGS })
  return {
    browser,
    newContext: (options = {}) => browser.newContext({ viewport, ...options }),
    async close() {
      await browser.close()
      await rm(profile, { recursive: true, force: true })
    },
  }
}

/** Saves a PNG of the page as <dir>/<name>-<width>x<height>.png; returns the path. */
export async function screenshot(page, dir, name) {
  await mkdir(dir, { recursive: true })
  const { width, height } = page.viewportSize()
  const path = join(dir, `${name}-${width}x${height}.png`)
  await page.screenshot({ path })
  return path
}

/** The two sizes every screen is checked at. */
export const VIEWPORTS = [
  { width: 1280, height: 720 },
  { width: 1920, height: 1080 },
]

/** Screenshots of the page at every size in VIEWPORTS (named <name>-<w>x<h>.png), then back to the first. */
export async function shots(page, dir, name) {
  for (const vp of VIEWPORTS) {
    await page.setViewportSize(vp)
    await page.waitForTimeout(150)
    await screenshot(page, dir, name)
  }
  await page.setViewportSize(VIEWPORTS[0])
}

let axeSource
/** Runs axe-core on the page; returns the serious and critical violations ([] when none). */
export async function axeViolations(page) {
  if (!axeSource) {
    const require = createRequire(import.meta.url)
    axeSource = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8')
  }
  // evaluated through the debugging protocol: the page's CSP forbids inline scripts
  await page.evaluate(axeSource)
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] })
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }))
  })
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical')
}

/** Fails unless axe-core finds no serious or critical violation on the page; logs the check. */
export async function checkAxe(page, screen) {
  const violations = await axeViolations(page)
  if (violations.length) throw new Error(`axe-core finds serious violations on ${screen}: ${JSON.stringify(violations, null, 1)}`)
  log(`ok - axe-core: no serious violation on ${screen}`)
}

/** Signs in through the form at /signin. */
export async function signIn(page, origin, email, password) {
  await page.goto(`${origin}/signin`)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { name: 'Datasets' }).waitFor()
}

/** The API as the test's own client (an API key), for setup and for checking what the UI did. */
export function apiClient(origin, apiKey) {
  return async (method, path, body) => {
    const r = await fetch(origin + path, {
      method,
      headers: { Authorization: `ApiKey ${apiKey}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await r.text()
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`)
    return text ? JSON.parse(text) : undefined
  }
}

/**
 * The settings every app spec shares (URL, credentials, API key, artifacts, browser, timeout),
 * plus `extra`: { key: ['LOUPE_E2E_NAME', required] }. Throws naming what is missing.
 */
export function readSpecConfig(spec, extra) {
  const need = ['LOUPE_E2E_URL', 'LOUPE_E2E_EMAIL', 'LOUPE_E2E_PASSWORD', 'LOUPE_E2E_API_KEY', 'LOUPE_E2E_ARTIFACTS']
  for (const [name, required] of Object.values(extra)) if (required) need.push(name)
  const missing = need.filter((n) => !process.env[n])
  if (missing.length) throw new Error(`set ${missing.join(', ')} (see the comment at the top of ${spec})`)
  const cfg = {
    origin: new URL(process.env.LOUPE_E2E_URL).origin,
    email: process.env.LOUPE_E2E_EMAIL,
    password: process.env.LOUPE_E2E_PASSWORD,
    apiKey: process.env.LOUPE_E2E_API_KEY,
    artifacts: process.env.LOUPE_E2E_ARTIFACTS,
    chromium: process.env.LOUPE_E2E_CHROMIUM || '/usr/bin/chromium',
    timeout: Number(process.env.LOUPE_E2E_TIMEOUT_MS ?? '20000'),
  }
  for (const [key, [name]] of Object.entries(extra)) cfg[key] = process.env[name] || undefined
  return cfg
}

const pageLogs = new WeakMap()

/** What the page printed, threw and failed to fetch, kept from the first call on for failure messages. */
export function pageLog(page) {
  let lines = pageLogs.get(page)
  if (!lines) {
    pageLogs.set(page, (lines = []))
    page.on('console', (m) => lines.push(`console.${m.type()}: ${m.text()}`))
    page.on('pageerror', (e) => lines.push(`pageerror: ${e.stack ?? e.message}`))
    page.on('requestfailed', (r) => lines.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`))
  }
  return lines
}

/**
 * Opens url and waits until `ready` (run in the page) is true, polled on a timer rather than on
 * animation frames, so that a page whose frames stall is still seen. On a timeout the error says
 * what `describe` (run in the page) reports, the page's text and its last console lines.
 */
export async function openUntil(page, url, what, ready, describe) {
  const lines = pageLog(page)
  await page.goto(url)
  try {
    await page.waitForFunction(ready, undefined, { polling: 100 })
  } catch (e) {
    const state = await page
      .evaluate(describe)
      .catch((x) => ({ evaluate: String(x) }))
    const text = await page.evaluate(() => document.body.innerText.slice(0, 600)).catch(() => '')
    throw new Error(`${what}: ${JSON.stringify(state)}\npage: ${JSON.stringify(text)}\n${lines.slice(-40).join('\n')}\n${e.message}`)
  }
}

/**
 * Waits until fn(arg), run in the page, is true: polled every 100 ms on a timer rather than on
 * animation frames (a page in the background gets few of those). On a timeout the error names
 * what was awaited and carries the page's last console lines.
 */
export async function waitUntil(page, fn, arg, options = {}) {
  try {
    return await page.waitForFunction(fn, arg, { polling: 100, ...options })
  } catch (e) {
    const lines = pageLog(page)
    throw new Error(`waiting for ${String(fn).slice(0, 300)}\n${lines.slice(-30).join('\n')}\n${e.message}`)
  }
}

/** Drags the mouse from screen point a to b (page coordinates) in a few steps. */
export async function drag(page, a, b) {
  await page.mouse.move(a.x, a.y)
  await page.mouse.down()
  await page.mouse.move(b.x, b.y, { steps: 6 })
  await page.mouse.up()
}

/** Opens the video editor on item and waits until its frame and shapes are drawn; the canvas' box. */
export async function openVideoEditor(page, origin, item) {
  await openUntil(
    page,
    `${origin}/items/${item}`,
    `the video editor did not open ${item}`,
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

/** Waits until the video editor has saved every change. */
export async function videoSaved(page) {
  await waitUntil(page, () => {
    const s = window.loupeVideo?.().saver
    return s && s.state === 'saved' && s.pendingCount === 0
  })
}

/** Goes to frame n through the video editor's frame field, and waits until it is drawn. */
export async function goToFrame(page, n) {
  const field = page.locator('input[data-field="frame"]')
  await field.fill(String(n))
  await field.press('Enter')
  await waitUntil(page, (n) => {
    const v = window.loupeVideo()
    return v.frame === n && v.ready(n) && v.editor.drawn
  }, n)
}
