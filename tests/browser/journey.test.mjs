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
// Then a real iProov tenant, as far as this machine can play one. Each of these tests starts a
// second gateway of the running stack (infra/local/gateway.py, same functions and sandbox) with
// the LOCAL_IPROOV_* settings, and gives the API's answers a real platform's `iproov.base_url`:
// - with a tenant but no web SDK configured, the page says so and how to configure one;
// - with the SDK configured (a pinned URL and its sha384), the page loads it from that URL with
//   Subresource Integrity, under the CSP the gateway derives (not one the test sets), runs
//   <iproov-me> and follows its events (the SDK is fixtures/fake-iproov-me.js, answered by the test
//   at the configured URL, which fires the SDK's events); a changed file is refused by the browser.
// Then /docs: the API console loads under its own CSP, lists every operation and tries one.
// Last, the OpenID Connect sign-in (web/signin.html): another app's GET /oauth2/authorize leads to
// the hosted sign-in page; a face sign-in sends the browser back to the app's redirect URI with a
// code, Cancel with error=access_denied. The app is a small HTTP server this test starts at the
// redirect URI. Skipped while the stack is no OpenID Connect provider (no discovery document).
// Nothing leaves the machine: every request to another origin is answered by the test or refused.
//
// Environment: API_URL, CHROMIUM (default /usr/bin/chromium), SCREENSHOTS_DIR (default
// <repo>/docs/screenshots), FAILURE_SHOTS_DIR (default <repo>/tests/artifacts/browser: a screenshot
// of a failing step), STEP_TIMEOUT_MS (default 15000), PYTHON (default <repo>/.venv/bin/python: runs
// the second gateway, which reaches the stack on LAMBDA_PORT, SANDBOX_PORT, ... as the stack does),
// OIDC_TEST_CLIENT_ID and OIDC_TEST_REDIRECT_URI (the OpenID Connect client the stack must know:
// below).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
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

// A real iProov tenant, as the second gateway is told (LOCAL_IPROOV_BASE_URL) and as the API's
// answers are made to say; and the web SDK's pinned URL (never reached: the test answers it).
const IPROOV_PLATFORM = 'https://eu.rp.secure.iproov.me';
const TENANT_API = `${IPROOV_PLATFORM}/api/v2`;
const SDK_SRC = 'https://sdk.iproov-cdn.test/npm/@iproov/web-sdk@5.3.0/iProovMe.js';
const FAKE_SDK = readFileSync(path.join(HERE, 'fixtures', 'fake-iproov-me.js'));
const FAKE_SDK_INTEGRITY = `sha384-${createHash('sha384').update(FAKE_SDK).digest('base64')}`;
// What the gateway derives from these settings (infra/local/iproov_settings.py).
const TENANT_SDK_CSP = [
  "default-src 'self'",
  "script-src 'self' https://sdk.iproov-cdn.test/npm/@iproov/web-sdk@5.3.0/ 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline' https://cdn.iproov.app",
  "img-src 'self' data: blob:",
  "font-src 'self' https://cdn.iproov.app",
  "connect-src 'self' https://eu.rp.secure.iproov.me wss://eu.rp.secure.iproov.me https://cdn.iproov.app",
  "media-src 'self' blob:",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');
// The /docs console's own policy (infra/local/docs_console.py).
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

// The relying party of the OpenID Connect test: a public client (no secret; PKCE S256) that the
// stack must have registered with exactly this redirect URI and the scopes openid and profile.
// The test listens on the redirect URI itself (an http URL on a loopback address, with a port).
const OIDC_CLIENT_ID = process.env.OIDC_TEST_CLIENT_ID || 'browser-test';
const OIDC_REDIRECT_URI = process.env.OIDC_TEST_REDIRECT_URI || 'http://127.0.0.1:3999/callback';

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
  const step = stepsOf(page);

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
    await page.getByRole('checkbox', { name: /explicitly consent/ }).check();
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

test('on a real iProov tenant without a web SDK, the page says so and how to configure one', async (t) => {
  await checkStackIsUp();
  const gateway = await startGateway(t, { LOCAL_IPROOV_BASE_URL: TENANT_API });
  const { context, page, problems, offOrigin } = await openBrowser(t, { csp: 'as-sent', origin: gateway });
  await onTenant(context, gateway);

  // Before anybody starts: the home page says scans cannot start yet.
  const home = await page.goto(`${gateway}/`);
  assert.equal(home.headers()['content-security-policy'], RECOMMENDED_CSP, 'no SDK: the strict policy, unchanged');
  await expectHeading(page, 'Sign up and log in with your face', { focused: false });
  await expectText(page.locator('main .notice'), /Face scans cannot start yet.*LOCAL_IPROOV_SDK_URL/s);
  await page.screenshot({ path: path.join(SHOTS, '15-tenant-without-sdk-home.png'), fullPage: true });

  // The scan page: no sandbox panel, no camera, but what to set (and no "Try again" that cannot help).
  await page.getByRole('link', { name: 'Create an account' }).first().click();
  await page.getByLabel('Username').fill(`nosdk-${randomBytes(4).toString('hex')}`);
  await page.getByLabel('Display name').fill('Ada Lovelace');
  await page.getByRole('checkbox', { name: /explicitly consent/ }).check();
  await page.getByRole('button', { name: 'Continue to the face scan' }).click();
  await expectHeading(page, 'Scan your face', { focused: false });
  const error = page.locator('main [data-slot="error"]');
  await expectText(error, /The face scanner is not set up on this site\..*LOCAL_IPROOV_SDK_URL.*LOCAL_IPROOV_SDK_INTEGRITY/s);
  await waitFor(() => error.evaluate((el) => el === document.activeElement), 'focus on the message');
  await expectText(page.locator('main .sdk-status'), /No face scanner is set up/);
  assert.equal(await page.getByRole('heading', { name: /Sandbox/ }).count(), 0, 'no sandbox panel on a tenant');
  assert.ok(await page.locator('main [data-slot="retry"]').isHidden(), 'no "Try again": the site needs setting up first');
  assert.equal(await page.locator('script[src*="iProovMe"]').count(), 0, 'no SDK script was added');
  await page.screenshot({ path: path.join(SHOTS, '16-tenant-without-sdk-scan.png'), fullPage: true });
  assert.deepEqual(offOrigin, [], 'nothing was asked of another origin');
  assert.deepEqual(problems, [], 'no CSP violations, page errors or console errors');
});

test('with the SDK configured, the page loads it from its pinned URL with SRI under the derived CSP and follows <iproov-me>', async (t) => {
  await checkStackIsUp();
  const gateway = await startGateway(t, {
    LOCAL_IPROOV_BASE_URL: TENANT_API,
    LOCAL_IPROOV_SDK_URL: SDK_SRC,
    LOCAL_IPROOV_SDK_INTEGRITY: FAKE_SDK_INTEGRITY,
  });
  // The page's policy is the gateway's own: the test sets none.
  const { context, page, problems, offOrigin } = await openBrowser(t, { csp: 'as-sent', origin: gateway });
  await onTenant(context, gateway);
  let sdkRequests = 0;
  await context.route(SDK_SRC, (route) => {
    sdkRequests += 1;
    return route.fulfill({
      status: 200,
      contentType: 'text/javascript; charset=utf-8',
      headers: { 'access-control-allow-origin': '*' },
      body: FAKE_SDK,
    });
  });

  const username = `sdk-${randomBytes(4).toString('hex')}`;
  const landing = await page.goto(`${gateway}/#/register`);
  assert.equal(landing.headers()['content-security-policy'], TENANT_SDK_CSP, 'the CSP the gateway derives');
  await expectHeading(page, 'Create an account', { focused: false });
  assert.equal(await page.locator('main .notice').count(), 0, 'no setup notice once an SDK is configured');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Display name').fill('Grace Hopper');
  await page.getByRole('checkbox', { name: /explicitly consent/ }).check();
  await page.getByRole('button', { name: 'Continue to the face scan' }).click();
  await expectHeading(page, 'Scan your face');
  assert.equal(await page.getByRole('heading', { name: /Sandbox/ }).count(), 0, 'no sandbox panel for a real platform');

  try {
    await leaveScanPage(page, /#\/(register\/waiting|account)$/);
  } catch (err) {
    const sandboxStatus = await page.evaluate(() => window.__fakeIproov && window.__fakeIproov.sandboxStatus);
    if (sandboxStatus && sandboxStatus !== 200) {
      err.message = `the stand-in SDK could not reach the sandbox's control surface on the page's origin ` +
        `(POST /sandbox/claims/{token}/scan answered ${sandboxStatus}); the local gateway must forward /sandbox/*. ${err.message}`;
    }
    throw err;
  }
  assert.equal(sdkRequests, 1, 'the SDK script was loaded once, from its configured URL');
  const script = await page.evaluate((src) => {
    const el = [...document.scripts].find((s) => s.src === src);
    return el && { integrity: el.integrity, crossOrigin: el.crossOrigin, referrerPolicy: el.referrerPolicy };
  }, SDK_SRC);
  assert.deepEqual(script, { integrity: FAKE_SDK_INTEGRITY, crossOrigin: 'anonymous', referrerPolicy: 'no-referrer' },
    'the script carries the configured integrity');
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
  await expectHeading(page, 'Scan your face').catch(async (err) => {
    throw new Error(`${err.message}; the page showed: ${(await page.locator('main').innerText()).replace(/\s+/g, ' ')}`);
  });
  assert.equal(await page.getByRole('heading', { name: /Sandbox/ }).count(), 0, 'no sandbox panel for the step-up either');
  await leaveScanPage(page, /#\/$/);
  await expectText(page.locator('.notice'), /Your account has been deleted/);
  const stepUpScan = await page.evaluate(() => window.__fakeIproov);
  assert.notEqual(stepUpScan.token, seen.token, 'the step-up ran <iproov-me> with its own token');
  assert.equal(stepUpScan.base_url, IPROOV_PLATFORM);
  assert.equal(sdkRequests, 1, 'the SDK script was not loaded again');
  assert.deepEqual(offOrigin, [], 'nothing but the SDK was asked of another origin');
  assert.deepEqual(problems, [], 'no CSP violations, page errors or console errors');

  await t.test('a changed SDK file is refused by the browser (Subresource Integrity)', async (tt) => {
    const other = await openBrowser(tt, { csp: 'as-sent', origin: gateway });
    await onTenant(other.context, gateway);
    await other.context.route(SDK_SRC, (route) => route.fulfill({
      status: 200,
      contentType: 'text/javascript; charset=utf-8',
      headers: { 'access-control-allow-origin': '*' },
      body: Buffer.concat([FAKE_SDK, Buffer.from('\n// one byte more than the pinned file\n')]),
    }));
    await other.page.goto(`${gateway}/#/register`);
    await other.page.getByLabel('Username').fill(`sri-${randomBytes(4).toString('hex')}`);
    await other.page.getByLabel('Display name').fill('Mallory');
    await other.page.getByRole('checkbox', { name: /explicitly consent/ }).check();
    await other.page.getByRole('button', { name: 'Continue to the face scan' }).click();
    await expectHeading(other.page, 'Scan your face', { focused: false }).catch(async (err) => {
      throw new Error(`${err.message}; the page showed: ${(await other.page.locator('main').innerText()).replace(/\s+/g, ' ')}`);
    });
    await expectText(other.page.locator('main [data-slot="error"]'), /We couldn’t load the face scanner\..*integrity hash/s);
    assert.equal(await other.page.evaluate(() => Boolean(customElements.get('iproov-me') || window.__fakeIproov)), false,
      'the changed file never ran');
    assert.equal(other.problems.length, 1, `one problem, the refused file: ${other.problems.join(' | ')}`);
    assert.match(other.problems[0], /integrity/i);
  });
});

test('/docs: the API console loads under its own CSP, lists every operation and tries one on this origin', async (t) => {
  await checkStackIsUp();
  const { page, problems, offOrigin } = await openBrowser(t, { csp: 'as-sent' });
  const spec = await (await fetch(`${API_URL}/docs/openapi.json`)).json();
  // Swagger UI lists an operation once under each of its tags.
  const operations = Object.values(spec.paths).flatMap((item) => Object.entries(item)
    .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
    .flatMap(([, op]) => (op.tags && op.tags.length ? op.tags : ['default'])));
  const response = await page.goto(`${API_URL}/docs`);
  assert.equal(response.headers()['content-security-policy'], DOCS_CSP, 'the console has a policy of its own');
  await page.locator('.opblock').first().waitFor();
  await waitFor(async () => (await page.locator('.opblock').count()) === operations.length,
    `${operations.length} operations listed`);
  await expectText(page.locator('#console-status'), /“Try it out” calls http/);
  await page.screenshot({ path: path.join(SHOTS, '17-api-console.png'), fullPage: false });
  // Try GET /v1/health: a real request to this stack, on this origin.
  const health = page.locator('.opblock-get', { hasText: '/v1/health' }).first();
  await health.locator('.opblock-summary').click();
  await health.getByRole('button', { name: 'Try it out' }).click();
  const answer = page.waitForResponse((r) => r.url() === `${API_URL}/v1/health`);
  await health.getByRole('button', { name: 'Execute' }).click();
  assert.equal((await answer).status(), 200);
  await expectText(health.locator('.live-responses-table tbody .response-col_status').first(), /^200$/);
  assert.deepEqual(offOrigin, [], 'the console asked nothing of another origin');
  assert.deepEqual(problems, [], 'no CSP violations, page errors or console errors');
});

test('another app signs a person in with their face through /signin.html (OpenID Connect), or the person cancels', async (t) => {
  await checkStackIsUp();
  // The server side of OpenID Connect is optional for this suite until the stack has it.
  const discovery = await fetch(`${API_URL}/.well-known/openid-configuration`);
  if (discovery.status === 404) {
    t.skip('the stack is no OpenID Connect provider yet (GET /.well-known/openid-configuration answered 404)');
    return;
  }
  assert.equal(discovery.status, 200, 'GET /.well-known/openid-configuration');
  const { issuer } = await discovery.json();
  assert.ok(typeof issuer === 'string' && issuer, 'the discovery document names the issuer');

  // The browser reaches /signin.html through the server's redirect, which the test does not
  // route (openBrowser): the page runs under the policy the gateway sends with it.
  const signinHeaders = (await fetch(`${API_URL}/signin.html`)).headers;
  assert.match(signinHeaders.get('content-security-policy') || '', /script-src 'self'/, '/signin.html comes with a CSP');
  assert.doesNotMatch(signinHeaders.get('content-security-policy'), /script-src[^;]*'unsafe-inline'/, 'and it allows no inline script');

  const app = await startCallbackServer(t, OIDC_REDIRECT_URI);
  const { context, page, problems, offOrigin } = await openBrowser(t, { csp: 'recommended-if-missing', allow: [app.origin] });
  const step = stepsOf(page);
  const atApp = new RegExp(`^${OIDC_REDIRECT_URI.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\?`);
  // Every address the browser asked for, and everything the pages wrote to the console: neither
  // may carry a username.
  const urls = [];
  const consoleLines = [];
  page.on('request', (request) => urls.push(request.url()));
  page.on('console', (msg) => consoleLines.push(msg.text()));
  // Each sign-in request's answer at the app carries the same `state` and the issuer (RFC 9207).
  const expectAnswer = (query, state) => {
    assert.equal(query.state, state, 'the app gets its own state back');
    assert.equal(query.iss, issuer, 'the answer names the issuer');
  };
  const signInPage = async () => {
    await page.waitForURL(/\/signin\.html\?request=[^&]+$/);
    await expectHeading(page, /^.+ asks you to sign in with your face$/, { focused: false });
  };

  const username = `oidc-${randomBytes(4).toString('hex')}`;
  const newcomer = `oidc-new-${randomBytes(4).toString('hex')}`;

  await step('oidc-register-on-demo', async () => {
    // A person with an account (made on the demo page), who is logged out.
    await page.goto(`${API_URL}/#/register`);
    await expectHeading(page, 'Create an account', { focused: false });
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Display name').fill('Katherine Johnson');
    await page.getByRole('checkbox', { name: /explicitly consent/ }).check();
    await page.getByRole('button', { name: 'Continue to the face scan' }).click();
    await expectHeading(page, 'Scan your face');
    await page.getByRole('button', { name: 'Passed', exact: true }).click();
    await leaveScanPage(page, /#\/register\/waiting$/);
    await page.waitForURL(/#\/account$/);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/#\/$/);
  });

  await step('oidc-sign-in', async () => {
    const state = randomBytes(16).toString('base64url');
    await page.goto(authorizeUrl(state));
    await signInPage();
    await expectText(page.locator('main .consent-list'), /unique to .+\s*Your display name/s);
    await page.screenshot({ path: path.join(SHOTS, '18-signin.png'), fullPage: true });
    await page.setViewportSize(PHONE);
    await assertNoSideways(page, 'signin');
    await page.screenshot({ path: path.join(SHOTS, '18-signin-375px.png'), fullPage: true });
    await page.setViewportSize(DESKTOP);

    await page.getByLabel('Username').fill(username);
    await page.getByRole('button', { name: 'Sign in with your face' }).click();
    await expectHeading(page, 'Scan your face');
    await expectText(page.locator('main .steps-label'), /^Sign in to .+/);
    await page.screenshot({ path: path.join(SHOTS, '19-signin-scan.png'), fullPage: true });
    await page.getByRole('button', { name: 'Passed', exact: true }).click();
    await leaveScanPage(page, atApp);
    const answer = await app.next();
    expectAnswer(answer, state);
    assert.ok(answer.code, `the app gets a code (it got ${Object.keys(answer).join(', ')})`);
    assert.equal(answer.error, undefined, 'and no error');
  });

  await step('oidc-cancel', async () => {
    const state = randomBytes(16).toString('base64url');
    await page.goto(authorizeUrl(state));
    await signInPage();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForURL(atApp);
    const answer = await app.next();
    expectAnswer(answer, state);
    assert.equal(answer.error, 'access_denied', 'Cancel answers access_denied');
    assert.equal(answer.code, undefined, 'and no code');
  });

  await step('oidc-link-not-valid', async () => {
    await page.goto(`${API_URL}/signin.html?request=not-a-request`);
    await expectHeading(page, 'This sign-in link is not valid', { focused: false });
    await expectText(page.locator('main .error-title'), /go back to the app and start again/);
    await page.screenshot({ path: path.join(SHOTS, '20-signin-link-not-valid.png'), fullPage: true });
  });

  // The session of the face sign-in is a login session like the demo's: it can erase the account
  // (after its own step-up), which cleans up.
  const eraseAccount = async () => {
    await page.goto(`${API_URL}/#/account/delete`);
    await expectHeading(page, 'Delete your account?', { focused: false });
    await page.getByRole('button', { name: 'Yes, delete my account' }).click();
    await expectHeading(page, 'Confirm it’s you');
    await page.getByRole('button', { name: 'Continue to the face scan' }).click();
    await expectHeading(page, 'Scan your face');
    await page.getByRole('button', { name: 'Passed', exact: true }).click();
    await leaveScanPage(page, /#\/$/);
    await expectText(page.locator('.notice'), /Your account has been deleted/);
  };
  await step('oidc-erase-first-account', eraseAccount);

  await step('oidc-register-from-signin', async () => {
    // No account yet: register from the sign-in page, then the face sign-in for the app.
    const state = randomBytes(16).toString('base64url');
    await page.goto(authorizeUrl(state));
    await signInPage();
    await page.getByRole('button', { name: 'Register' }).click();
    await expectHeading(page, 'Create an account');
    await page.getByLabel('Username').fill(newcomer);
    await page.getByLabel('Display name').fill('Dorothy Vaughan');
    await page.getByRole('checkbox', { name: /explicitly consent/ }).check();
    await page.getByRole('button', { name: 'Continue to the face scan' }).click();
    await expectHeading(page, 'Scan your face');
    await expectText(page.locator('main .steps-label'), /^Create an account · step 2 of 3$/);
    await page.getByRole('button', { name: 'Passed', exact: true }).click();
    const ready = page.locator('main .notice');
    await leaveScanPage(page, async () => (await ready.count()) > 0);
    await expectText(ready, /^Your account is ready\. Scan your face once more to sign in to .+/);
    await expectHeading(page, 'Scan your face');
    await expectText(page.locator('main .steps-label'), /^Sign in to .+/);
    await page.screenshot({ path: path.join(SHOTS, '21-signin-after-registering.png'), fullPage: true });
    await page.getByRole('button', { name: 'Passed', exact: true }).click();
    await leaveScanPage(page, atApp);
    const answer = await app.next();
    expectAnswer(answer, state);
    assert.ok(answer.code, `the app gets a code (it got ${Object.keys(answer).join(', ')})`);
  });

  await step('oidc-erase-second-account', eraseAccount);

  for (const name of [username, newcomer]) {
    assert.deepEqual(urls.filter((url) => url.includes(name)), [], `no address carried the username ${name}`);
    assert.deepEqual(consoleLines.filter((line) => line.includes(name)), [], `no console line carried the username ${name}`);
  }
  await assertNoStoredCredentials(page, context);
  assert.deepEqual(offOrigin, [], 'nothing but the app was asked of another origin');
  assert.deepEqual(problems, [], 'no CSP violations, page errors or console errors');
});

// ----- helpers --------------------------------------------------------------------------------

// A fresh Chromium profile for one test. `csp`: 'recommended-if-missing' adds RECOMMENDED_CSP to
// pages the gateway serves without one; 'as-sent' keeps the gateway's (and fails without one); a
// string replaces whatever the gateway sent. `origin`: the page's origin (default API_URL's);
// requests to any other are refused unless a test answers them or lists the origin in `allow`
// (a server of the test's own), and listed in `offOrigin`.
async function openBrowser(t, { csp, origin = API_URL, allow = [] }) {
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

  const apiOrigin = new URL(origin).origin;
  // Nothing may leave the machine: other origins are refused unless a test answers them.
  const offOrigin = [];
  await context.route((url) => url.origin !== apiOrigin && !allow.includes(url.origin), (route) => {
    offOrigin.push(route.request().url());
    return route.abort('blockedbyclient');
  });
  const headerNotes = new Set();
  await context.route((url) => url.origin === apiOrigin, async (route) => {
    const request = route.request();
    if (request.resourceType() !== 'document') return route.fallback();
    // A redirect (GET /oauth2/authorize) goes back to the browser as it is, so that the browser
    // follows it and the page has the address it was sent to. The request that follows it is not
    // routed again: that page keeps the headers the gateway sent (the OpenID Connect test checks
    // that they have a policy).
    const response = await route.fetch({ maxRedirects: 0 });
    const headers = response.headers();
    for (const name of ['content-security-policy', 'x-content-type-options', 'referrer-policy', 'x-frame-options']) {
      if (!headers[name]) headerNotes.add(name);
    }
    if (csp === 'as-sent') {
      if (!headers['content-security-policy']) throw new Error(`${request.url()} came without a Content-Security-Policy`);
    } else if (typeof csp === 'string' && csp !== 'recommended-if-missing') headers['content-security-policy'] = csp;
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
  return { context, page, problems, headerNotes, offOrigin };
}

// A second gateway of the running stack (same functions and sandbox) with LOCAL_IPROOV_* settings;
// stopped when the test ends. Returns its URL.
async function startGateway(t, settings) {
  const port = await new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address();
      probe.close(() => resolve(free));
    });
  });
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('LOCAL_IPROOV_')) delete env[name];
  Object.assign(env, settings, { API_PORT: String(port) });
  const python = process.env.PYTHON || path.join(REPO, '.venv', 'bin', 'python');
  const child = spawn(python, [path.join(REPO, 'infra', 'local', 'gateway.py')], { cwd: REPO, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  t.after(() => { child.kill('SIGTERM'); });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`the second gateway exited (${child.exitCode}): ${stderr}`);
    try {
      return (await fetch(`${url}/web-config.json`, { signal: AbortSignal.timeout(2000) })).ok;
    } catch {
      return false;
    }
  }, `a gateway on ${url}`, 30000);
  return url;
}

// The API's answers name a real iProov platform instead of the local sandbox. route.fetch() sends
// the request from the test, without the Sec-Fetch-Site header the browser adds on its network
// layer; the API's origin check reads it (the second gateway's origin is not one of the stack's
// allowed origins), so it is set to what the browser sends for the page's own origin.
async function onTenant(context, origin) {
  const onPlatform = async (route) => {
    const request = route.request();
    if (request.method() !== 'POST') return route.fallback();
    const headers = { ...request.headers() };
    if (new URL(request.frame().url()).origin === new URL(request.url()).origin) headers['sec-fetch-site'] = 'same-origin';
    const response = await route.fetch({ headers });
    const body = await response.json().catch(() => null);
    if (!body || !body.iproov) return route.fulfill({ response });
    body.iproov.base_url = IPROOV_PLATFORM;
    return route.fulfill({ response, json: body });
  };
  await context.route(`${origin}/v1/users/registration`, onPlatform);
  await context.route(`${origin}/v1/step-up`, onPlatform);
}

// Runs one named step of a test; when it fails, a screenshot of the page goes to FAILURES.
function stepsOf(page) {
  return async (name, body) => {
    try {
      await body();
    } catch (err) {
      mkdirSync(FAILURES, { recursive: true });
      const file = path.join(FAILURES, `failed-${name}.png`);
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      throw new Error(`step "${name}": ${err.message} (screenshot: ${file})`, { cause: err });
    }
  };
}

// The relying party's redirect URI: a small HTTP server on its host and port that records the
// query of every request to its path, and answers a plain page. `next()` resolves with the next
// query received (an object of its parameters). Stopped when the test ends.
async function startCallbackServer(t, redirectUri) {
  const target = new URL(redirectUri);
  if (target.protocol !== 'http:' || !target.port) {
    throw new Error(`OIDC_TEST_REDIRECT_URI must be an http URL with a port on this machine, got ${redirectUri}`);
  }
  const received = [];
  const waiting = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, target.origin);
    if (req.method === 'GET' && url.pathname === target.pathname) {
      const query = Object.fromEntries(url.searchParams);
      const waiter = waiting.shift();
      if (waiter) waiter(query); else received.push(query);
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end('<!doctype html><html lang="en"><title>Relying party</title><h1>Back at the app</h1></html>');
  });
  await new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on ${target.host} for ${redirectUri} (${err.code}); ` +
      'choose another OIDC_TEST_REDIRECT_URI, registered for the test client', { cause: err })));
    server.listen(Number(target.port), target.hostname, resolve);
  });
  t.after(() => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return {
    origin: target.origin,
    next: (timeout = STEP_TIMEOUT) => {
      if (received.length) return Promise.resolve(received.shift());
      return new Promise((resolve, reject) => {
        const waiter = (query) => {
          clearTimeout(timer);
          resolve(query);
        };
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(waiter), 1);
          reject(new Error(`nothing reached ${redirectUri} within ${timeout} ms`));
        }, timeout);
        waiting.push(waiter);
      });
    },
  };
}

// An authorization request of the test client (authorization code with PKCE), as an app sends
// the browser: GET /oauth2/authorize?… on the API's origin. `state` comes back with the answer.
function authorizeUrl(state) {
  const verifier = randomBytes(32).toString('base64url');
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: OIDC_CLIENT_ID,
    redirect_uri: OIDC_REDIRECT_URI,
    scope: 'openid profile',
    state,
    nonce: randomBytes(16).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  return `${API_URL}/oauth2/authorize?${query}`;
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

// The page's heading is the one given (a string, or a pattern), and (after a navigation) it has
// the keyboard focus.
async function expectHeading(page, text, { focused = true } = {}) {
  const heading = page.locator('main h1');
  const matches = (found) => (typeof text === 'string' ? found === text : text.test(found || ''));
  await waitFor(async () => matches(await heading.textContent()), `the heading "${text}"`);
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
// `next`: the address the page moves to (a pattern), or what shows it moved on (a predicate).
async function leaveScanPage(page, next) {
  const error = page.locator('main [data-slot="error"]');
  const movedOn = typeof next === 'function' ? next : async () => next.test(page.url());
  await waitFor(async () => (await movedOn()) || (await error.isVisible()), 'the scan to finish');
  if (await movedOn()) return;
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
