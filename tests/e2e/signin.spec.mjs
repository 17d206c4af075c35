#!/usr/bin/env node
// End-to-end test of signing in and out of Loupe's web UI in a real headless Chromium.
//
// Needs a running louped that serves the built UI (web/dist) and has a user:
//   LOUPE_E2E_URL       base URL of louped, e.g. http://127.0.0.1:8470
//   LOUPE_E2E_EMAIL     email of an existing user
//   LOUPE_E2E_PASSWORD  that user's password
//   LOUPE_E2E_TEAM      optional: the team name the UI must show (default: the one the
//                       login answer names)
//   LOUPE_E2E_CHROMIUM  optional: the browser binary (default /usr/bin/chromium)
//   LOUPE_E2E_TIMEOUT_MS optional: how long one step may wait (default 15000)
//
// Steps: load / (the app sends a visitor without a session to /signin), sign in with a wrong password and expect the server's problem shown; sign in
// correctly and expect the email and team shown and an HttpOnly session cookie; reload and
// still be signed in (cookie + GET /api/v1/me); sign out (with the CSRF header) and be back
// at the form, also after another reload.
//
// Exit status: 0 passed, 1 failed (or misconfigured), 77 skipped (no Chromium or no
// playwright-core: run `npm ci` in tests/e2e).

import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CHROMIUM_ARGS, log, main } from './lib.mjs'

function readConfig() {
  const missing = ['LOUPE_E2E_URL', 'LOUPE_E2E_EMAIL', 'LOUPE_E2E_PASSWORD'].filter((name) => !process.env[name])
  if (missing.length > 0) {
    throw new Error(`set ${missing.join(', ')} (see the comment at the top of signin.spec.mjs)`)
  }
  let base
  try {
    base = new URL(process.env.LOUPE_E2E_URL)
  } catch {
    throw new Error(`LOUPE_E2E_URL is not a URL: ${process.env.LOUPE_E2E_URL}`)
  }
  const timeout = Number(process.env.LOUPE_E2E_TIMEOUT_MS ?? '15000')
  if (!Number.isInteger(timeout) || timeout <= 0) throw new Error('LOUPE_E2E_TIMEOUT_MS must be a positive integer')
  return {
    origin: base.origin,
    email: process.env.LOUPE_E2E_EMAIL,
    password: process.env.LOUPE_E2E_PASSWORD,
    team: process.env.LOUPE_E2E_TEAM || undefined,
    chromium: process.env.LOUPE_E2E_CHROMIUM || '/usr/bin/chromium',
    timeout,
  }
}

/** What the server says about a wrong password: the text the UI must show. */
async function wrongPasswordProblem(cfg, wrongPassword) {
  const url = `${cfg.origin}/api/v1/auth/login`
  let response
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, application/problem+json' },
      body: JSON.stringify({ email: cfg.email, password: wrongPassword }),
    })
  } catch (error) {
    throw new Error(`cannot reach louped at ${url}: ${error.cause?.message ?? error.message}`)
  }
  assert.equal(response.status, 401, 'a wrong password is answered 401')
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/, 'the 401 is a problem+json')
  const problem = await response.json()
  assert.equal(typeof problem.title, 'string', 'the problem has a title')
  return problem
}

async function run(cfg, chromium) {
  const wrongPassword = `${cfg.password}-not-it`
  const problem = await wrongPasswordProblem(cfg, wrongPassword)
  log(`ok - the server refuses a wrong password: ${problem.title}`)

  const profile = await mkdtemp(join(tmpdir(), 'loupe-e2e-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: cfg.chromium,
    headless: true,
    args: CHROMIUM_ARGS,
  })
  try {
    context.setDefaultTimeout(cfg.timeout)
    const page = context.pages()[0] ?? (await context.newPage())
    const pageErrors = []
    page.on('pageerror', (error) => pageErrors.push(error.message))
    const logins = []
    page.on('request', (request) => {
      if (request.url().endsWith('/api/v1/auth/login')) logins.push(request)
    })

    const signInHeading = page.getByRole('heading', { name: 'Sign in to Loupe' })
    const signedInHeading = page.getByRole('heading', { name: 'Datasets' })
    const emailInput = page.getByLabel('Email')
    const passwordInput = page.getByLabel('Password')
    const submit = page.getByRole('button', { name: 'Sign in' })
    const field = (name) => page.locator(`header [data-field="${name}"]`)

    // 1. The page loads and, with no session, shows the form.
    await page.goto(`${cfg.origin}/`)
    await signInHeading.waitFor()
    log('ok - / shows the sign-in form')

    // 2. A wrong password shows the server's problem and keeps the form.
    await emailInput.fill(cfg.email)
    await passwordInput.fill(wrongPassword)
    await submit.click()
    const alert = page.getByRole('alert')
    await alert.waitFor()
    const alertText = await alert.innerText()
    assert.ok(alertText.includes(problem.title), `the error names the problem "${problem.title}"; shown: ${alertText}`)
    if (problem.detail) {
      assert.ok(alertText.includes(problem.detail), `the error shows "${problem.detail}"; shown: ${alertText}`)
    }
    assert.equal(await signInHeading.isVisible(), true, 'still on the sign-in form')
    assert.equal(await passwordInput.inputValue(), '', 'the wrong password is cleared')
    assert.equal(await emailInput.inputValue(), cfg.email, 'the email is kept')
    log(`ok - a wrong password shows: ${alertText.replace(/\s+/g, ' ').trim()}`)

    // 3. The right password signs in and shows who is signed in.
    await passwordInput.fill(cfg.password)
    const [loginResponse] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login') && r.request().method() === 'POST'),
      submit.click(),
    ])
    assert.equal(loginResponse.status(), 200, 'the login answer is 200')
    const login = await loginResponse.json()
    const team = cfg.team ?? login.team?.name
    assert.equal(typeof team, 'string', 'the login answer names the team')
    await signedInHeading.waitFor()
    assert.equal((await field('email').innerText()).trim(), cfg.email, 'the signed-in email is shown')
    assert.ok((await field('team').innerText()).includes(team), `the team "${team}" is shown`)
    assert.equal(await page.getByRole('alert').count(), 0, 'no error is left on screen')
    const cookies = await context.cookies(cfg.origin)
    const session = cookies.find((c) => c.name === 'loupe_session')
    assert.ok(session, 'the loupe_session cookie is set')
    assert.equal(session.httpOnly, true, 'the session cookie is HttpOnly')
    assert.equal(session.sameSite, 'Lax', 'the session cookie is SameSite=Lax')
    log(`ok - signed in as ${cfg.email} of team ${team}`)

    // 4. A reload keeps the session (cookie + GET /api/v1/me) without signing in again.
    const loginsBeforeReload = logins.length
    await page.reload()
    await signedInHeading.waitFor()
    assert.equal((await field('email').innerText()).trim(), cfg.email, 'the email is shown after a reload')
    assert.ok((await field('team').innerText()).includes(team), 'the team is shown after a reload')
    assert.equal(logins.length, loginsBeforeReload, 'the reload did not sign in again')
    log('ok - still signed in after a reload')

    // 5. Sign out: a POST carrying the CSRF token, then the form again.
    const [logoutRequest] = await Promise.all([
      page.waitForRequest((r) => r.url().endsWith('/api/v1/auth/logout')),
      page.getByRole('button', { name: 'Sign out' }).click(),
    ])
    assert.equal(logoutRequest.method(), 'POST', 'sign-out is a POST')
    const csrf = await logoutRequest.headerValue('x-csrf-token')
    assert.ok(csrf, 'sign-out carries X-CSRF-Token')
    const logoutResponse = await logoutRequest.response()
    assert.equal(logoutResponse?.status(), 204, 'sign-out is answered 204')
    await signInHeading.waitFor()
    log('ok - signed out, back at the form')

    // 6. The session has really ended: a reload still shows the form.
    await page.reload()
    await signInHeading.waitFor()
    assert.equal(await signedInHeading.count(), 0, 'not signed in after a reload')
    log('ok - still signed out after a reload')

    assert.deepEqual(pageErrors, [], 'the page threw no uncaught errors')
  } catch (error) {
    const page = context.pages()[0]
    if (page) {
      const text = await page.locator('body').innerText({ timeout: 1000 }).catch(() => '(unreadable)')
      log(`# page at ${page.url()} shows:\n# ${text.replace(/\n/g, '\n# ')}`)
    }
    throw error
  } finally {
    await context.close()
    await rm(profile, { recursive: true, force: true })
  }
}

process.exitCode = await main(readConfig, run, 'sign-in, reload and sign-out work in the browser')
