// The demo web app (web/), driven in Debian's Chromium against the running local stack.
//
// GIVEN the local stack at API_URL (default http://127.0.0.1:3000) with the iProov sandbox
// WHEN a person registers through the pages, fails a scan (too dark) and retries, reaches the
//      account page, logs out, logs in again and deletes the account, which needs the face
//      again (a step-up): the first step-up scan fails (eyes closed), the second passes
// THEN every page does its part, nothing is erased before a step-up passed, and a screenshot
//      of each step lands in docs/screenshots/.
//
// The scan is played through the page's "Sandbox: simulate the scan" panel, which calls the
// sandbox's control surface on the API's own origin (/sandbox/*). If the gateway does not
// forward /sandbox/*, the test stops at that step and says so.
//
// A second test plays a deployment with a real iProov platform: the API's answer is given a
// non-local `iproov.base_url`, and the page must then load <iproov-me> from the CDN (served here
// by fixtures/fake-iproov-me.js, which fires the SDK's events) and follow its events.
// Nothing leaves the machine: every request to another origin is answered by the test or refused.
//
// Environment: API_URL, CHROMIUM (default /usr/bin/chromium), SCREENSHOTS_DIR (default
// <repo>/docs/screenshots), FAILURE_SHOTS_DIR (default <repo>/tests/artifacts/browser: a screenshot
// of a failing step), STEP_TIMEOUT_MS (default 15000).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const API_URL = (process.env.API_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.SCREENSHOTS_DIR || path.join(REPO, 'docs', 'screenshots');
// Screenshots of a failing step go where CI keeps artifacts (ignored by git).
const FAILURES = process.env.FAILURE_SHOTS_DIR || path.join(REPO, 'tests', 'artifacts', 'browser');
const STEP_TIMEOUT = Number(process.env.STEP_TIMEOUT_MS || 15000);
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 375, height: 760 };

// The Content-Security-Policy the gateway should send with web/ files (see web/README.md).
// When the gateway sends none yet, the test adds this one to the page, so the app is always
// proven to run under it: any violation fails the test.
export const RECOMMENDED_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

// What a deployment with a real iProov platform needs on top (see web/README.md).
const IPROOV_PLATFORM = 'https://eu.rp.secure.iproov.me';
const SDK_SRC = 'https://cdn.jsdelivr.net/npm/@iproov/web-sdk@latest/iProovMe.js';
// The policy web/README.md gives for a real platform (a starting point from iProov's CSP guidance).
const PLATFORM_CSP = [
  "default-src 'self'",
  "script-src 'self' https://cdn.jsdelivr.net https://cdn.iproov.app blob: 'wasm-unsafe-eval'",
  "style-src 'self' https://cdn.iproov.app 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' https://cdn.iproov.app",
  "media-src 'self' blob:",
  "worker-src 'self' blob: https://cdn.iproov.app",
  "connect-src 'self' https://*.secure.iproov.me wss://*.secure.iproov.me https://cdn.iproov.app",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

test('a person registers (after one failed scan), logs out, logs in and deletes the account', async (t) => {
  await checkStackIsUp();
  mkdirSync(SHOTS, { recursive: true });
  for (const name of readdirSync(SHOTS)) {
    if (/^\d\d-[a-z0-9-]+\.png$/.test(name)) rmSync(path.join(SHOTS, name));
  }

  const { context, page, problems, headerNotes } = await openBrowser(t, { csp: 'recommended-if-missing' });
  // What the page was told by the API, to check the live status and the tokens.
  const statuses = [];
  const tokens = [];
  const loginCookies = [];
  const erasures = []; // DELETE /v1/users: "status error"
  const stepUps = []; // POST /v1/step-up: the iProov tokens handed out
  const stepUpCompletions = []; // POST /v1/step-up/complete: "status error"
  page.on('response', async (response) => {
    const url = new URL(response.url());
    const answer = async () => {
      const body = await response.json().catch(() => null);
      return `${response.status()}${body && body.error ? ` ${body.error}` : ''}`;
    };
    if (url.pathname === '/v1/users' && response.request().method() === 'DELETE') erasures.push(await answer());
    if (url.pathname === '/v1/step-up/complete') stepUpCompletions.push(await answer());
    if (url.pathname === '/v1/step-up' && response.ok()) {
      const body = await response.json().catch(() => null);
      if (body && body.iproov) stepUps.push(body.iproov.token);
    }
    if (url.pathname === '/v1/login' && response.ok()) {
      for (const { name, value } of await response.headersArray()) {
        if (name.toLowerCase() === 'set-cookie') loginCookies.push(value.split(';')[0].split('=')[0]);
      }
    }
    if (url.pathname === '/v1/users/registration' && response.ok()) {
      const body = await response.json().catch(() => null);
      if (!body) return;
      if (response.request().method() === 'GET') statuses.push(body.status);
      else if (body.iproov) tokens.push(body.iproov.token);
    }
  });

  // Each step has a fixed number, so that the files keep their names from run to run.
  const shot = async (file, { phone = false } = {}) => {
    await page.screenshot({ path: path.join(SHOTS, `${file}.png`), fullPage: true });
    if (phone) {
      await page.setViewportSize(PHONE);
      await assertNoSideways(page, file);
      await page.screenshot({ path: path.join(SHOTS, `${file}-375px.png`), fullPage: true });
      await page.setViewportSize(DESKTOP);
    }
  };
  const step = async (name, body) => {
    try {
      await body();
    } catch (err) {
      mkdirSync(FAILURES, { recursive: true });
      const file = path.join(FAILURES, `failed-${name}.png`);
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      throw new Error(`step "${name}": ${err.message} (screenshot: ${file})`, { cause: err });
    }
  };

  const username = `web-${randomBytes(4).toString('hex')}`;
  const displayName = 'Ada Lovelace';

  await step('home', async () => {
    await page.goto(`${API_URL}/`);
    await expectHeading(page, 'Sign up and log in with your face', { focused: false });
    await shot('01-home', { phone: true });
  });

  await step('register-form', async () => {
    await page.getByRole('link', { name: 'Create an account' }).first().click();
    await expectHeading(page, 'Create an account');
    // A username the API refuses: the field says why, in words.
    await page.getByLabel('Username').fill('Not valid!');
    await page.getByLabel('Display name').fill(displayName);
    await page.getByRole('button', { name: 'Continue to the face scan' }).click();
    const username_ = page.getByLabel('Username');
    await waitFor(async () => (await username_.getAttribute('aria-invalid')) === 'true', 'the username marked invalid');
    await expectText(page.locator('#reg-username-error'), /Username may contain only letters/);
    await shot('02-register-invalid-username');
    await username_.fill(username);
    await shot('03-register-form', { phone: true });
  });

  await step('scan-sandbox-fail', async () => {
    await page.getByRole('button', { name: 'Continue to the face scan' }).click();
    await expectHeading(page, 'Scan your face');
    await page.getByRole('heading', { name: /Sandbox: simulate the scan/ }).waitFor();
    await page.getByLabel('Failure reason').selectOption('too_dark');
    await shot('04-scan-sandbox', { phone: true });
    await page.getByRole('button', { name: 'Failed', exact: true }).click();
    await leaveScanPage(page, /#\/register\/(waiting|failed)$/);
  });

  await step('waiting-then-failed', async () => {
    await page.waitForURL(/#\/register\/failed$/);
    await expectHeading(page, 'The scan didn’t work');
    await expectText(page.locator('.hint'), /brighter/i); // the API's hint for too_dark
    await shot('05-register-failed-hint', { phone: true });
    assert.ok(statuses.includes('failed'), `the page polled and saw "failed" (saw ${statuses.join(', ')})`);
  });

  await step('retry-and-pass', async () => {
    await page.getByRole('button', { name: 'Try again' }).click();
    await expectHeading(page, 'Scan your face');
    assert.equal(tokens.length, 2, 'a second registration call gave a new scan');
    assert.notEqual(tokens[0], tokens[1], 'the retry got a fresh iProov token');
    await page.getByRole('button', { name: 'Passed', exact: true }).click();
    await leaveScanPage(page, /#\/register\/waiting$/);
    await expectHeading(page, 'Checking your scan');
    await shot('06-waiting-live-status', { phone: true });
  });

  await step('account', async () => {
    await page.waitForURL(/#\/account$/);
    await expectHeading(page, 'Your account');
    await expectText(page.locator('.notice'), /Your account is ready/);
    await expectText(page.locator('dd').nth(0), new RegExp(`^${username}$`));
    await expectText(page.locator('dd').nth(1), new RegExp(`^${displayName}$`));
    const created = await page.locator('time').getAttribute('datetime');
    assert.ok(!Number.isNaN(Date.parse(created)), 'created_at is a date');
    // The progress went through the statuses the API reported, ending in "completed".
    assert.equal(statuses.at(-1), 'completed', `last status seen: ${statuses.at(-1)}`);
    await assertNoStoredCredentials(page, context);
    await shot('07-account', { phone: true });
  });

  await step('logout', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/#\/$/);
    await expectHeading(page, 'Sign up and log in with your face');
    await expectText(page.locator('.notice'), /You have logged out/);
    await shot('08-logged-out');
    // The account page now sends the person to the login page.
    await page.getByRole('link', { name: 'My account' }).click();
    await page.waitForURL(/#\/login$/);
    await expectHeading(page, 'Log in');
    await expectText(page.locator('.notice'), /Please log in/);
  });

  await step('login-rate-limited', async () => {
    // One answer is replaced by a 429, as the API gives when a client tries too often: the page
    // says how long to wait, in words, and holds the button until then.
    await page.route(`${API_URL}/v1/verify-login`, (route) => route.fulfill({
      status: 429,
      headers: { 'retry-after': '2' },
      json: { error: 'rate_limited', message: 'Too many requests. Please wait before trying again.', request_id: 'test-429' },
    }), { times: 1 });
    await page.getByLabel('Username').fill(username);
    await page.getByRole('button', { name: 'Continue to the face scan' }).click();
    await expectText(page.locator('main [data-slot="error"]'), /Too many attempts.*Please wait 2 seconds, then try again/s);
    const submit = page.locator('form button[type="submit"]');
    assert.ok(await submit.isDisabled(), 'the button waits for Retry-After');
    await shot('09-login-rate-limited');
    await waitFor(() => submit.isEnabled(), 'the button to be usable again', 5000);
  });

  await step('login', async () => {
    // Keyboard only: type, then Enter submits; Enter on the focused button passes the scan.
    await page.getByLabel('Username').fill(username);
    await shot('10-login-form', { phone: true });
    await page.getByLabel('Username').press('Enter');
    await expectHeading(page, 'Scan your face');
    await shot('11-login-scan');
    await page.getByRole('button', { name: 'Passed', exact: true }).focus();
    await page.keyboard.press('Enter');
    await leaveScanPage(page, /#\/account$/);
    await waitFor(async () => loginCookies.length > 0, 'the answer to POST /v1/login');
    assert.ok(
      loginCookies.some((name) => /^(__Host-)?session$/.test(name)),
      `POST /v1/login must set the session cookie; it set only: ${loginCookies.join(', ')}`,
    );
    await expectHeading(page, 'Your account');
    await expectText(page.locator('.notice'), new RegExp(`Welcome back, ${displayName}`));
    await expectText(page.locator('dd').nth(0), new RegExp(`^${username}$`));
    await shot('12-account-after-login');
  });

  const accountStatus = () => page.evaluate(async () => (await fetch('/v1/users', { credentials: 'same-origin' })).status);

  await step('delete', async () => {
    await page.getByRole('link', { name: 'Delete my account' }).click();
    await expectHeading(page, 'Delete your account?');
    await shot('13-delete-confirm', { phone: true });
    await page.getByRole('button', { name: 'Yes, delete my account' }).click();
  });

  await step('step-up', async () => {
    // The login session alone may not erase: the API asks for the face again, and the page
    // says so before any scan starts.
    await page.waitForURL(/#\/account\/delete\/step-up$/);
    await expectHeading(page, 'Confirm it’s you');
    await waitFor(async () => erasures.length > 0, 'the answer to DELETE /v1/users');
    assert.deepEqual(erasures, ['403 step_up_required'], 'the first DELETE /v1/users was refused until a step-up');
    await expectText(page.locator('main .lead'), /Erasing your account needs your face again/);
    await shot('13-step-up');
    await page.setViewportSize(PHONE);
    await assertNoSideways(page, 'step-up');
    await page.setViewportSize(DESKTOP);
    assert.equal(await accountStatus(), 200, 'the account is still there');
  });

  await step('step-up-failed', async () => {
    await page.getByRole('button', { name: 'Continue to the face scan' }).click();
    await page.waitForURL(/#\/account\/delete\/scan$/);
    await expectHeading(page, 'Scan your face');
    await expectText(page.locator('main .steps-label'), /^Delete your account · confirm it’s you$/);
    assert.equal(stepUps.length, 1, 'POST /v1/step-up gave a scan token');
    await page.getByLabel('Failure reason').selectOption('eyes_closed');
    await page.getByRole('button', { name: 'Failed', exact: true }).click();
    // The API's hint for the failed scan, focused, with "Try again"; nothing is erased.
    const error = page.locator('main [data-slot="error"]');
    await expectText(error, /We couldn’t confirm it was you\..*Keep your eyes open/s);
    await waitFor(() => error.evaluate((el) => el === document.activeElement), 'focus on the error');
    await page.getByRole('button', { name: 'Try again' }).waitFor({ state: 'visible' });
    await waitFor(async () => stepUpCompletions.length > 0, 'the answer to POST /v1/step-up/complete');
    assert.deepEqual(stepUpCompletions, ['401 verification_failed'], 'POST /v1/step-up/complete refused the failed scan');
    assert.deepEqual(erasures, ['403 step_up_required'], 'no DELETE after a failed step-up');
    assert.equal(await accountStatus(), 200, 'the account is still there after a failed step-up');
    assert.ok(page.url().endsWith('#/account/delete/scan'), 'the page stays on the step-up scan');
  });

  await step('step-up-passed-then-deleted', async () => {
    await page.getByRole('button', { name: 'Try again' }).click();
    await waitFor(async () => stepUps.length === 2, 'a second POST /v1/step-up');
    assert.notEqual(stepUps[0], stepUps[1], 'the retry got a fresh iProov token');
    await expectHeading(page, 'Scan your face');
    await page.getByRole('button', { name: 'Passed', exact: true }).click();
    await leaveScanPage(page, /#\/$/);
    await expectText(page.locator('.notice'), /Your account has been deleted/);
    await waitFor(async () => erasures.length > 1, 'the answer to the second DELETE /v1/users');
    assert.deepEqual(stepUpCompletions, ['401 verification_failed', '200'], 'the second step-up passed');
    assert.deepEqual(erasures, ['403 step_up_required', '202'], 'the DELETE was asked again, and accepted');
    await shot('14-deleted');
    // The session ended with the deletion.
    assert.equal(await accountStatus(), 401, 'GET /v1/users after deletion');
  });

  t.diagnostic(`registration statuses the page saw: ${statuses.join(' → ')}`);
  if (headerNotes.size) {
    t.diagnostic(`the gateway sent no ${[...headerNotes].join(', ')} with web/ pages` +
      (headerNotes.has('content-security-policy') ? '; the test applied the recommended CSP itself' : ''));
  }
  assert.deepEqual(problems, [], 'no CSP violations, page errors or console errors');
});

test('with a real iProov platform, the page runs <iproov-me> from the CDN and follows its events', async (t) => {
  await checkStackIsUp();
  const { context, page, problems } = await openBrowser(t, { csp: PLATFORM_CSP });
  // The API's answers name a real platform instead of the local sandbox.
  const onPlatform = async (route) => {
    if (route.request().method() !== 'POST') return route.fallback();
    const response = await route.fetch();
    const body = await response.json().catch(() => null);
    if (!body || !body.iproov) return route.fulfill({ response });
    body.iproov.base_url = IPROOV_PLATFORM;
    return route.fulfill({ response, json: body });
  };
  await context.route(`${API_URL}/v1/users/registration`, onPlatform);
  await context.route(`${API_URL}/v1/step-up`, onPlatform);
  let sdkRequests = 0;
  await context.route(SDK_SRC, (route) => {
    sdkRequests += 1;
    return route.fulfill({
      status: 200,
      contentType: 'text/javascript; charset=utf-8',
      headers: { 'access-control-allow-origin': '*' },
      path: path.join(HERE, 'fixtures', 'fake-iproov-me.js'),
    });
  });

  const username = `sdk-${randomBytes(4).toString('hex')}`;
  await page.goto(`${API_URL}/#/register`);
  await expectHeading(page, 'Create an account', { focused: false });
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Display name').fill('Grace Hopper');
  await page.getByRole('button', { name: 'Continue to the face scan' }).click();
  await expectHeading(page, 'Scan your face');
  assert.equal(await page.getByRole('heading', { name: /Sandbox/ }).count(), 0, 'no sandbox panel for a real platform');

  try {
    await leaveScanPage(page, /#\/(register\/waiting|account)$/);
  } catch (err) {
    const sandboxStatus = await page.evaluate(() => window.__fakeIproov && window.__fakeIproov.sandboxStatus);
    if (sandboxStatus && sandboxStatus !== 200) {
      err.message = `the stand-in SDK could not reach the sandbox's control surface on the API's origin ` +
        `(POST /sandbox/claims/{token}/scan answered ${sandboxStatus}); the local gateway must forward /sandbox/*. ${err.message}`;
    }
    throw err;
  }
  assert.equal(sdkRequests, 1, 'the SDK script was loaded once, from the CDN');
  const seen = await page.evaluate(() => window.__fakeIproov);
  assert.equal(seen.base_url, IPROOV_PLATFORM, '<iproov-me base_url> is the one the API returned');
  assert.ok(seen.token && seen.token.length > 20, '<iproov-me token> is set');
  assert.ok(seen.events.includes('passed'), `events fired: ${seen.events.join(', ')}`);

  await page.waitForURL(/#\/account$/);
  await expectHeading(page, 'Your account');
  await expectText(page.locator('dd').nth(0), new RegExp(`^${username}$`));
  // Clean up through the pages: the step-up scan runs in <iproov-me> too.
  await page.getByRole('link', { name: 'Delete my account' }).click();
  await expectHeading(page, 'Delete your account?');
  await page.getByRole('button', { name: 'Yes, delete my account' }).click();
  await expectHeading(page, 'Confirm it’s you');
  await page.getByRole('button', { name: 'Continue to the face scan' }).click();
  await expectHeading(page, 'Scan your face');
  assert.equal(await page.getByRole('heading', { name: /Sandbox/ }).count(), 0, 'no sandbox panel for the step-up either');
  await leaveScanPage(page, /#\/$/);
  await expectText(page.locator('.notice'), /Your account has been deleted/);
  const stepUpScan = await page.evaluate(() => window.__fakeIproov);
  assert.notEqual(stepUpScan.token, seen.token, 'the step-up ran <iproov-me> with its own token');
  assert.equal(stepUpScan.base_url, IPROOV_PLATFORM);
  assert.equal(sdkRequests, 1, 'the SDK script was not loaded again');
  assert.deepEqual(problems, [], 'no CSP violations, page errors or console errors');
});

// ----- helpers --------------------------------------------------------------------------------

// A fresh Chromium profile for one test. `csp`: 'recommended-if-missing' adds RECOMMENDED_CSP to
// pages the gateway serves without one; a string replaces whatever the gateway sent.
async function openBrowser(t, { csp }) {
  const profile = mkdtempSync(path.join(tmpdir(), 'onboarding-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: DESKTOP,
    locale: 'en-GB',
    timezoneId: 'UTC',
    reducedMotion: 'reduce',
  });
  t.after(async () => {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  });
  context.setDefaultTimeout(STEP_TIMEOUT);

  const apiOrigin = new URL(API_URL).origin;
  // Nothing may leave the machine: other origins are refused unless a test answers them.
  await context.route((url) => url.origin !== apiOrigin, (route) => route.abort('blockedbyclient'));
  const headerNotes = new Set();
  await context.route((url) => url.origin === apiOrigin, async (route) => {
    const request = route.request();
    if (request.resourceType() !== 'document') return route.fallback();
    const response = await route.fetch();
    const headers = response.headers();
    for (const name of ['content-security-policy', 'x-content-type-options', 'referrer-policy', 'x-frame-options']) {
      if (!headers[name]) headerNotes.add(name);
    }
    if (typeof csp === 'string' && csp !== 'recommended-if-missing') headers['content-security-policy'] = csp;
    else if (!headers['content-security-policy']) headers['content-security-policy'] = RECOMMENDED_CSP;
    return route.fulfill({ response, headers });
  });

  const page = context.pages()[0] || await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    const text = msg.text();
    if (/Content Security Policy|Refused to/i.test(text)) problems.push(`CSP: ${text}`);
    else if (msg.type() === 'error' && !/Failed to load resource/.test(text)) problems.push(`console: ${text}`);
  });
  return { context, page, problems, headerNotes };
}

async function checkStackIsUp() {
  let ok = false;
  try {
    const response = await fetch(`${API_URL}/v1/health`, { signal: AbortSignal.timeout(5000) });
    ok = response.ok;
  } catch {
    ok = false;
  }
  assert.ok(ok, `the local stack does not answer at ${API_URL}/v1/health: start it first (make up)`);
}

async function waitFor(predicate, what, timeout = STEP_TIMEOUT) {
  const until = Date.now() + timeout;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The page's heading is the one given, and (after a navigation) it has the keyboard focus.
async function expectHeading(page, text, { focused = true } = {}) {
  const heading = page.locator('main h1');
  await waitFor(async () => (await heading.textContent()) === text, `the heading "${text}"`);
  if (focused) {
    await waitFor(
      () => page.evaluate(() => document.activeElement && document.activeElement.tagName === 'H1'),
      `focus on the heading "${text}"`,
    );
  }
}

async function expectText(locator, pattern) {
  await locator.waitFor({ state: 'visible' });
  await waitFor(async () => pattern.test(((await locator.textContent()) || '').trim()), `text ${pattern}`);
}

// After a sandbox button: either the page moves on, or it shows why not (and the test stops).
async function leaveScanPage(page, next) {
  const error = page.locator('main [data-slot="error"]');
  await waitFor(async () => next.test(page.url()) || (await error.isVisible()), 'the scan to finish');
  if (next.test(page.url())) return;
  const text = (await error.innerText()).replace(/\s+/g, ' ');
  if (/control surface is not reachable/.test(text)) {
    throw new Error(
      `the sandbox's control surface is not reachable on the API's origin: POST ${API_URL}/sandbox/claims/{token}/scan ` +
      `must be forwarded to the iProov sandbox by the local gateway. The page said: ${text}`,
    );
  }
  throw new Error(`the page showed an error instead of moving on: ${text}`);
}

async function assertNoSideways(page, name) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${name}: the page scrolls sideways at 375 px (${overflow}px too wide)`);
}

async function assertNoStoredCredentials(page, context) {
  const stored = await page.evaluate(() => ({
    local: localStorage.length,
    session: sessionStorage.length,
    visibleCookies: document.cookie,
  }));
  assert.deepEqual(stored, { local: 0, session: 0, visibleCookies: '' }, 'nothing in web storage, no script-readable cookie');
  const cookies = await context.cookies(API_URL);
  assert.ok(cookies.length > 0, 'the API set its cookies');
  for (const cookie of cookies) {
    assert.ok(cookie.httpOnly, `cookie ${cookie.name} is HttpOnly`);
    assert.equal(cookie.sameSite, 'Strict', `cookie ${cookie.name} is SameSite=Strict`);
  }
}
