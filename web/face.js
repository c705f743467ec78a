// What the demo (app.js) and the hosted sign-in page (signin.js) share: the API client, error
// and form helpers, the face scan step (the sandbox panel or iProov's <iproov-me>) and the wait
// for a registration to be validated. A plain script, loaded before either page's own script
// (both `defer`, so in document order); it defines one global, `FaceKit`, and nothing else.
//
// The rules of both pages hold here too:
// - Credentials live only in the HttpOnly cookies the API sets; every call is same-origin with
//   `credentials: 'same-origin'`. Nothing is written to localStorage, sessionStorage or
//   document.cookie, and the `session_token` / `attempt_token` fields of answers are ignored
//   (app.js keeps the step-up's `attempt_token` in memory for one scan: the API gives it only
//   in the body).
// - No HTML is built from strings: text goes in with textContent, so the pages run under a
//   strict CSP.
// - The markup these helpers fill is found by `data-slot` and `data-action` names, which each
//   page's templates keep (see web/README.md).
'use strict';

window.FaceKit = (() => {
  const POLL_MS = 700;
  const SLOW_AFTER_MS = 20000;

  // Failure reasons iProov reports (both generations, as the contract lists them).
  const REASONS = {
    current: [
      ['eyes_closed', 'Eyes closed'],
      ['face_too_far', 'Face too far'],
      ['face_too_close', 'Face too close'],
      ['misaligned_face', 'Face not in the oval'],
      ['multiple_faces', 'More than one face'],
      ['obscured_face', 'Face covered'],
      ['sunglasses', 'Sunglasses'],
      ['too_bright', 'Too bright'],
      ['too_dark', 'Too dark'],
      ['too_much_movement', 'Too much movement'],
      ['unknown', 'Unknown'],
    ],
    older: [
      ['ambiguous_outcome', 'Ambiguous outcome'],
      ['network_problem', 'Network problem'],
      ['user_timeout', 'Took too long'],
      ['motion_too_much_movement', 'Too much movement (older code)'],
      ['motion_too_much_mouth_movement', 'Mouth moving'],
      ['lighting_flash_reflection_too_low', 'Flash reflection too low'],
      ['lighting_backlit', 'Backlit'],
      ['lighting_too_dark', 'Too dark (older code)'],
      ['lighting_face_too_bright', 'Face too bright'],
    ],
  };

  // What the web SDK's feedback codes mean, for error/canceled/unsupported events (the API's
  // own hint is shown for failed scans, once it has asked iProov).
  const SDK_FEEDBACK = {
    error_camera_permission_denied: 'The camera is blocked. Allow camera access for this site in your browser settings, then try again.',
    permission_denied: 'The camera is blocked. Allow camera access for this site in your browser settings, then try again.',
    error_camera_in_use: 'Another app is using the camera. Close it, then try again.',
    error_camera: 'The camera could not be started. Check it is connected, then try again.',
    client_camera: 'We could not get video from the camera. Try again.',
    error_camera_not_supported: 'This camera’s resolution is too low for the scan. Try another device.',
    error_no_face_found: 'No face was found. Keep your face in the oval and try again.',
    error_network: 'The connection dropped during the scan. Check your connection and try again.',
    error_server: 'The face-check service had a problem. Try again in a moment.',
    error_too_many_requests: 'The face-check service is very busy. Wait a moment and try again.',
    error_token_timeout: 'The scan was started too long ago. Try again to get a fresh one.',
    error_invalid_token: 'This scan can no longer be used. Try again to get a fresh one.',
    error_user_timeout: 'The scan timed out before it finished. Try again.',
    error_fullscreen_change: 'The scan stopped because the full-screen view was closed. Try again.',
    error_not_supported: 'This browser or device cannot run the face scan. Try an up-to-date browser.',
    sdk_unsupported: 'This version of the face scanner is no longer supported.',
    error_asset_fetch: 'Parts of the face scanner could not be loaded. Check your connection and try again.',
    integration_unloaded: 'The scan was interrupted. Try again.',
  };

  // API error codes in words a person understands. `hint` from the API is shown beneath.
  const ERROR_WORDS = {
    network_error: 'We couldn’t reach the server. Check your connection and try again.',
    invalid_request: 'Some details are missing or not quite right.',
    username_taken: 'That username is already taken.',
    not_registered: 'No account uses this username.',
    verification_failed: 'We couldn’t confirm it was you.',
    attempt_expired: 'This login attempt took too long and expired.',
    attempt_used: 'This login attempt was already used.',
    registration_expired: 'Your scan took too long and expired.',
    registration_in_progress: 'Your registration is already being checked.',
    registration_not_found: 'We couldn’t find your registration in this browser.',
    attempts_exhausted: 'You’ve used all the attempts for this registration.',
    invalid_state: 'This scan was already sent for checking.',
    unauthorized: 'You’re not logged in, or your session has ended.',
    session_expired: 'Your session has ended. Please log in again.',
    not_found: 'We couldn’t find what you asked for.',
    rate_limited: 'Too many attempts in a short time.',
    verifier_unavailable: 'The face-check service is unavailable right now. Please try again in a moment.',
    service_unavailable: 'The service is unavailable right now. Please try again in a moment.',
    storage_unavailable: 'The service is unavailable right now. Please try again in a moment.',
    queue_unavailable: 'The service is unavailable right now. Please try again in a moment.',
    payload_too_large: 'What you entered is too long.',
    unsupported_media_type: 'The request could not be read. Please reload the page.',
    internal_error: 'Something went wrong on our side. Please try again.',
    bad_gateway: 'The service is not answering right now. Please try again in a moment.',
    gateway_timeout: 'The service took too long to answer. Please try again.',
    sandbox_unreachable: 'The sandbox’s control surface is not reachable from this page.',
    sandbox_refused: 'The sandbox refused to simulate this scan.',
    sdk_load_failed: 'We couldn’t load the face scanner.',
    sdk_not_configured: 'The face scanner is not set up on this site.',
    // The face check before deleting the account (the step-up); app.js's inStepUp() rewords
    // the login's codes for it.
    step_up_required: 'Deleting your account needs your face again.',
    step_up_foreign: 'This face check was started in another session.',
    step_up_expired: 'This face check took too long and expired.',
    step_up_used: 'This face check was already used.',
    // The OpenID Connect sign-in for another app (signin.html).
    unauthenticated: 'Your sign-in has ended: scan your face again to go on.',
    fresh_login_required: 'This sign-in needs a fresh scan of your face.',
    request_unknown: 'This sign-in link is not valid.',
    request_expired: 'This sign-in link has expired.',
  };

  const FIELD_LABELS = { username: 'Username', display_name: 'Display name', consent: 'Consent' };

  // ---------------------------------------------------------------------------------------------
  // API access

  class ApiError extends Error {
    constructor(status, body, retryAfter) {
      const data = body && typeof body === 'object' ? body : {};
      super(typeof data.message === 'string' ? data.message : `HTTP ${status}`);
      this.status = status;
      this.code = typeof data.error === 'string' ? data.error : `http_${status}`;
      this.hint = typeof data.hint === 'string' ? data.hint : null;
      this.reason = typeof data.reason === 'string' ? data.reason : null;
      this.fields = data.fields && typeof data.fields === 'object' ? data.fields : null;
      this.requestId = typeof data.request_id === 'string' ? data.request_id : null;
      this.retryAfter = retryAfter;
      this.body = data;
    }
  }

  function retryAfterSeconds(response) {
    const raw = response.headers.get('Retry-After');
    if (!raw) return null;
    const seconds = Number(raw);
    if (Number.isFinite(seconds)) return Math.max(1, Math.ceil(seconds));
    const date = Date.parse(raw);
    return Number.isNaN(date) ? null : Math.max(1, Math.ceil((date - Date.now()) / 1000));
  }

  async function request(method, path, body, signal) {
    const init = {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json' },
      signal,
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      if (err && err.name === 'AbortError') throw err;
      throw new ApiError(0, { error: 'network_error', message: 'Network error' }, null);
    }
    let data = null;
    const text = await response.text();
    if (text) {
      try { data = JSON.parse(text); } catch { data = null; }
    }
    if (!response.ok) throw new ApiError(response.status, data, retryAfterSeconds(response));
    return { status: response.status, data: data || {} };
  }

  const api = {
    consent: (signal) => request('GET', '/v1/consent', undefined, signal),
    startRegistration: (details, signal) => request('POST', '/v1/users/registration', details, signal),
    registrationStatus: (signal) => request('GET', '/v1/users/registration', undefined, signal),
    submitScan: (signal) => request('POST', '/v1/users', undefined, signal),
    verifyLogin: (username, signal) => request('POST', '/v1/verify-login', { username }, signal),
    login: (signal) => request('POST', '/v1/login', undefined, signal),
    me: (signal) => request('GET', '/v1/users', undefined, signal),
    logout: (signal) => request('POST', '/v1/logout', undefined, signal),
    eraseMe: (signal) => request('DELETE', '/v1/users', undefined, signal),
    startStepUp: (signal) => request('POST', '/v1/step-up', undefined, signal),
    completeStepUp: (attemptToken, signal) => request('POST', '/v1/step-up/complete', { attempt_token: attemptToken }, signal),
    // The iProov sandbox's control surface, proxied by the local gateway on this origin.
    sandboxScan: async (token, outcome, reason, signal) => {
      const body = reason ? { outcome, reason } : { outcome };
      try {
        return await request('POST', `/sandbox/claims/${encodeURIComponent(token)}/scan`, body, signal);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        // The sandbox answers {error, error_description}; a JSON 404 without that, or any 5xx
        // from the gateway, means nothing on this origin forwards /sandbox/* to it.
        const fromSandbox = typeof err.body.error_description === 'string';
        const code = fromSandbox ? 'sandbox_refused' : 'sandbox_unreachable';
        const hint = fromSandbox
          ? `The sandbox said: ${err.body.error_description} (${err.code}).`
          : `POST /sandbox/claims/…/scan answered ${err.status || 'nothing'}. The local gateway must forward /sandbox/* to the iProov sandbox.`;
        throw new ApiError(err.status, { error: code, message: err.message, hint, request_id: err.requestId }, null);
      }
    },
  };

  // What a person running the site must do when it talks to a real iProov platform without a web
  // SDK (the local stack's settings; web/README.md has the deployment's side).
  const SDK_SETUP_HINT = 'This site uses a real iProov service, but no iProov web SDK is configured for it, '
    + 'so the camera cannot start. If you run it: set LOCAL_IPROOV_SDK_URL (a version-pinned https URL of '
    + 'iProovMe.js) and LOCAL_IPROOV_SDK_INTEGRITY (its sha384 hash), then restart the stack; web/README.md explains how.';

  // Worth sending again as it is: the network failed, or the service was busy or down.
  function transient(err) {
    return err instanceof ApiError && (err.status === 0 || err.status === 429 || err.status >= 500);
  }

  function isLoopback(url) {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\./.test(host);
  }

  function isSandbox(baseUrl) {
    try {
      const url = new URL(baseUrl, location.href);
      return isLoopback(url) || url.hostname === '0.0.0.0' || url.port === '4600';
    } catch {
      return false;
    }
  }

  // ----- what this site knows about iProov: /web-config.json -----

  // { platform: 'sandbox' | 'tenant' | null, sdk: { src, integrity } | null }. No file (a
  // deployment without one) means no SDK; a failed request rejects, and is tried again next time.
  let webConfigLoading = null;

  function webConfig() {
    if (webConfigLoading) return webConfigLoading;
    webConfigLoading = (async () => {
      const response = await fetch('/web-config.json', {
        credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' },
      });
      if (response.status === 404) return { platform: null, sdk: null };
      if (!response.ok) throw new Error(`GET /web-config.json answered ${response.status}`);
      const data = await response.json().catch(() => null);
      const iproov = (data && data.iproov) || {};
      return { platform: typeof iproov.platform === 'string' ? iproov.platform : null, sdk: usableSdk(iproov.sdk) };
    })().catch((err) => {
      webConfigLoading = null;
      throw err;
    });
    return webConfigLoading;
  }

  // A script from elsewhere runs only with its integrity hash (the browser then refuses any other
  // file), from https (or a loopback host), never from a URL that names no file.
  function usableSdk(sdk) {
    if (!sdk || typeof sdk.src !== 'string' || typeof sdk.integrity !== 'string') return null;
    if (!/^sha(384|512)-[A-Za-z0-9+/]+={0,2}$/.test(sdk.integrity)) return null;
    let url;
    try { url = new URL(sdk.src, location.href); } catch { return null; }
    if (!(url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url)))) return null;
    return { src: url.href, integrity: sdk.integrity };
  }

  // ---------------------------------------------------------------------------------------------
  // Small DOM helpers

  // Each page has one visually hidden live region, #announcer, for page changes and results.
  let announceTimer = 0;

  function announce(text) {
    const announcer = document.getElementById('announcer');
    // Clear first so that the same text twice is still read out.
    announcer.textContent = '';
    clearTimeout(announceTimer);
    announceTimer = setTimeout(() => { announcer.textContent = text; }, 60);
  }

  function slot(root, name) {
    return root.querySelector(`[data-slot="${name}"]`);
  }

  function para(text, className) {
    const p = document.createElement('p');
    if (className) p.className = className;
    p.textContent = text;
    return p;
  }

  function describe(err) {
    if (err instanceof ApiError) {
      let title = ERROR_WORDS[err.code] || err.message || 'Something went wrong. Please try again.';
      let hint = err.hint;
      if (err.status === 429 || err.code === 'rate_limited') {
        title = ERROR_WORDS.rate_limited;
        hint = err.retryAfter
          ? `Please wait ${waitWords(err.retryAfter)}, then try again.`
          : (hint || 'Please wait a little, then try again.');
      } else if (!hint && err.status === 503 && err.retryAfter) {
        hint = `Try again in ${waitWords(err.retryAfter)}.`;
      }
      return { title, hint, requestId: err.requestId };
    }
    return { title: 'Something went wrong. Please try again.', hint: null, requestId: null };
  }

  function waitWords(seconds) {
    if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
    const minutes = Math.ceil(seconds / 60);
    return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  }

  function showError(root, err, options = {}) {
    const box = slot(root, 'error');
    if (!box) return;
    const { title, hint, requestId } = describe(err);
    box.replaceChildren(para(title, 'error-title'));
    if (hint) box.appendChild(para(hint, 'error-hint'));
    if (options.extra) box.appendChild(para(options.extra));
    if (requestId) box.appendChild(para(`Reference: ${requestId}`, 'error-ref'));
    box.hidden = false;
    if (options.focus !== false) box.focus();
  }

  function clearError(root) {
    const box = slot(root, 'error');
    if (box) { box.hidden = true; box.replaceChildren(); }
  }

  function setFieldError(form, name, message) {
    const input = form.elements.namedItem(name);
    if (!input) return false;
    const error = document.getElementById(`${input.id}-error`);
    if (message) {
      input.setAttribute('aria-invalid', 'true');
      if (error) { error.textContent = message; error.hidden = false; }
    } else {
      input.removeAttribute('aria-invalid');
      if (error) { error.textContent = ''; error.hidden = true; }
    }
    return true;
  }

  function clearFieldErrors(form) {
    for (const el of form.elements) if (el.name) setFieldError(form, el.name, null);
  }

  function fieldSentence(name, problem) {
    const label = FIELD_LABELS[name] || name;
    const text = String(problem).trim().replace(/\.$/, '');
    return `${label} ${text}.`;
  }

  // Shows an API error on a form: per-field problems beside their fields, the rest on top.
  function showFormError(root, form, err) {
    clearFieldErrors(form);
    let firstInvalid = null;
    if (err instanceof ApiError && err.fields) {
      for (const [name, problem] of Object.entries(err.fields)) {
        if (setFieldError(form, name, fieldSentence(name, problem)) && !firstInvalid) {
          firstInvalid = form.elements.namedItem(name);
        }
      }
    }
    if (err instanceof ApiError && err.code === 'username_taken') {
      setFieldError(form, 'username', 'That username is already taken. Choose another one.');
      firstInvalid = form.elements.namedItem('username');
    }
    if (err instanceof ApiError && err.code === 'not_registered') {
      setFieldError(form, 'username', 'No account uses this username.');
      firstInvalid = form.elements.namedItem('username');
    }
    const extra = err instanceof ApiError && err.fields && !firstInvalid
      ? Object.entries(err.fields).map(([n, p]) => fieldSentence(n, p)).join(' ')
      : null;
    showError(root, err, { extra, focus: !firstInvalid });
    if (firstInvalid) firstInvalid.focus();
    if (err instanceof ApiError && err.status === 429 && err.retryAfter) {
      coolDown(form.querySelector('button[type="submit"]'), err.retryAfter);
    }
  }

  // Keeps a button disabled while the API asks us to wait (429 Retry-After).
  function coolDown(button, seconds) {
    if (!button) return;
    const label = button.textContent;
    let left = Math.min(seconds, 600);
    button.disabled = true;
    const tick = () => {
      if (!button.isConnected) return;
      if (left <= 0) { button.disabled = false; button.textContent = label; return; }
      button.textContent = `Please wait ${left} s`;
      left -= 1;
      setTimeout(tick, 1000);
    };
    tick();
  }

  async function busy(button, pendingText, work) {
    const label = button ? button.textContent : '';
    if (button) { button.disabled = true; button.textContent = pendingText; }
    try {
      return await work();
    } finally {
      if (button && button.isConnected && button.textContent === pendingText) {
        button.disabled = false;
        button.textContent = label;
      }
    }
  }

  function readForm(form) {
    const values = {};
    for (const el of form.elements) if (el.name) values[el.name] = el.value.trim();
    return values;
  }

  // Checks the browser can do before asking the server (the server checks everything again).
  function checkRequired(form, names) {
    let first = null;
    for (const name of names) {
      const input = form.elements.namedItem(name);
      if (!input.value.trim()) {
        setFieldError(form, name, `Enter your ${FIELD_LABELS[name].toLowerCase()}.`);
        first = first || input;
      } else if (name === 'username' && input.value.trim().length < 3) {
        setFieldError(form, name, 'Username must be at least 3 characters.');
        first = first || input;
      }
    }
    if (first) first.focus();
    return !first;
  }

  // ----- consent to the face scan (docs/consent.md) -----

  // Consent texts being fetched, by form: a submit waits for its form's text.
  const consentLoads = new WeakMap();

  // Shows the current consent text (GET /v1/consent, in the browser's language) in the
  // registration form, and remembers which version and language were shown, so the answer
  // names exactly what the person read. Text only: never parsed as HTML.
  function loadConsent(form, signal) {
    const loading = fetchConsent(form, signal);
    consentLoads.set(form, loading);
    return loading;
  }

  async function fetchConsent(form, signal) {
    const box = form.querySelector('[data-slot="consent-text"]');
    try {
      const { data } = await api.consent(signal);
      if (typeof data.text !== 'string' || typeof data.version !== 'string') throw new Error('bad answer');
      box.textContent = data.text;
      box.lang = typeof data.language === 'string' ? data.language : 'en';
      form.dataset.consentVersion = data.version;
      form.dataset.consentLanguage = box.lang;
    } catch (err) {
      if (aborted(err)) return;
      box.textContent = 'The consent text could not be loaded. Reload the page to try again.';
    }
  }

  // The registration body: the names, and the consent answer for the text shown.
  function registrationDetails(form) {
    const { username, display_name: displayName } = readForm(form);
    return {
      username,
      display_name: displayName,
      consent: {
        version: form.dataset.consentVersion || '',
        accepted: form.elements.namedItem('consent').checked,
        language: form.dataset.consentLanguage || 'en',
      },
    };
  }

  // The box must be ticked, and the text must have been shown, before anything is sent.
  async function checkConsent(form) {
    await consentLoads.get(form);
    const box = form.elements.namedItem('consent');
    let problem = null;
    if (!form.dataset.consentVersion) problem = 'The consent text has not loaded yet. Reload the page to try again.';
    else if (!box.checked) problem = 'Tick the box to consent to the face scan, or you cannot register.';
    if (problem) {
      setFieldError(form, 'consent', problem);
      box.focus();
    }
    return !problem;
  }

  function aborted(err) {
    return err && err.name === 'AbortError';
  }

  function sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new DOMException('Aborted', 'AbortError'));
      }, { once: true });
    });
  }

  // Puts a notice ({ text, kind: 'ok' | 'info' }), made from the page's #tpl-notice template, in
  // place of the `notice` slot of `root`.
  function showNotice(root, notice) {
    const target = slot(root, 'notice');
    if (!notice || !target) return;
    const node = document.getElementById('tpl-notice').content.cloneNode(true);
    slot(node, 'text').textContent = notice.text;
    if (notice.kind === 'info') node.firstElementChild.classList.add('notice-info');
    target.replaceWith(node);
  }

  // A link under the error box's text, to where the person can go on.
  function offerLink(root, href, text) {
    const box = slot(root, 'error');
    const p = document.createElement('p');
    const a = document.createElement('a');
    a.href = href;
    a.textContent = text;
    p.appendChild(a);
    box.appendChild(p);
  }

  // ---------------------------------------------------------------------------------------------
  // The scan step

  // Runs the scan on `root`, a page cloned from a scan template (the `intro`, `sandbox`,
  // `reasons`, `sdk`, `sdk-status`, `sdk-host`, `retry` and `error` slots). `scan` is
  // { token, baseUrl } as the API handed them out.
  //
  // Once the scan is over, whatever its outcome, `submit()` runs: the API (not the page) asks
  // iProov whether it really passed, and answers with the hint when it did not. If `submit()`
  // fails, the error is shown with "Try again", which sends the finished scan again when the API
  // was busy or unreachable, and otherwise calls `restart()` for a new scan (the scan failed,
  // expired or was used). `intercept(err)` may take an error over (returning true: it has moved
  // the person elsewhere); `explain(err)` may reword one before it is shown.
  function runScanStep(root, signal, scan, { submit, restart, intercept = () => false, explain = (err) => err }) {
    const retryBox = slot(root, 'retry');
    const retryButton = retryBox.querySelector('button');
    let finishing = false;
    let retryAction = 'restart';

    async function finished() {
      if (finishing) return;
      finishing = true;
      clearError(root);
      retryBox.hidden = true;
      try {
        await submit();
      } catch (err) {
        if (aborted(err)) return;
        finishing = false;
        if (intercept(err)) return;
        retryAction = transient(err) ? 'submit' : 'restart';
        showError(root, explain(err));
        retryBox.hidden = false;
        if (err instanceof ApiError && err.status === 429 && err.retryAfter) coolDown(retryButton, err.retryAfter);
      }
    }

    retryButton.addEventListener('click', async () => {
      clearError(root);
      if (retryAction === 'submit') {
        retryBox.hidden = true;
        await finished();
        return;
      }
      try {
        await busy(retryButton, 'Starting a new scan…', restart);
      } catch (err) {
        if (aborted(err)) return;
        if (intercept(err)) return;
        showError(root, explain(err));
        if (err instanceof ApiError && err.status === 429 && err.retryAfter) coolDown(retryButton, err.retryAfter);
      }
    }, { signal });

    if (isSandbox(scan.baseUrl)) {
      setupSandboxPanel(root, signal, scan, finished);
    } else {
      setupSdk(root, signal, scan, finished, () => { retryBox.hidden = false; });
    }
  }

  // ----- the local iProov sandbox: the person plays the scan's outcome -----

  function setupSandboxPanel(root, signal, scan, finished) {
    const panel = slot(root, 'sandbox');
    panel.hidden = false;
    slot(root, 'intro').textContent = 'In a real deployment your camera would open here. Locally, you decide the outcome of the scan.';
    const select = slot(root, 'reasons');
    for (const [label, list] of [['Current codes', REASONS.current], ['Older codes', REASONS.older]]) {
      const group = document.createElement('optgroup');
      group.label = label;
      for (const [code, words] of list) {
        const option = document.createElement('option');
        option.value = code;
        option.textContent = `${words} (${code})`;
        group.appendChild(option);
      }
      select.appendChild(group);
    }
    const buttons = panel.querySelectorAll('button');
    let scanned = false; // a token is scanned once; after that only "Try again" makes sense
    const simulate = async (button, outcome, reason) => {
      clearError(root);
      for (const b of buttons) b.disabled = true;
      const label = button.textContent;
      button.textContent = 'Sending…';
      try {
        await api.sandboxScan(scan.token, outcome, reason, signal);
        scanned = true;
        announce(outcome === 'passed' ? 'Scan finished. Checking it now.' : 'Failed scan recorded. Checking it now.');
        await finished();
      } catch (err) {
        if (aborted(err)) return;
        showError(root, err);
        if (err instanceof ApiError && err.code === 'sandbox_refused') slot(root, 'retry').hidden = false;
      } finally {
        if (button.isConnected) {
          button.textContent = label;
          for (const b of buttons) b.disabled = scanned;
        }
      }
    };
    panel.querySelector('[data-action="sandbox-pass"]').addEventListener('click', (e) => simulate(e.currentTarget, 'passed'), { signal });
    panel.querySelector('[data-action="sandbox-fail"]').addEventListener('click', (e) => simulate(e.currentTarget, 'failed', select.value), { signal });
  }

  // ----- iProov's web component (a real platform) -----

  let sdkLoading = null;

  class SdkNotConfigured extends Error {}

  // The SDK named by /web-config.json, with Subresource Integrity: a file that differs from the
  // configured hash never runs (the script's error event fires instead).
  function loadSdk() {
    if (customElements.get('iproov-me')) return Promise.resolve();
    if (sdkLoading) return sdkLoading;
    sdkLoading = webConfig().then((config) => {
      if (!config.sdk) throw new SdkNotConfigured('no iProov web SDK configured');
      return new Promise((resolve, reject) => {
        const script = document.createElement('script');
        script.src = config.sdk.src;
        script.integrity = config.sdk.integrity;
        script.crossOrigin = 'anonymous';
        script.referrerPolicy = 'no-referrer';
        script.async = true;
        script.addEventListener('load', () => {
          customElements.whenDefined('iproov-me').then(resolve);
          setTimeout(() => reject(new Error('iproov-me not defined')), 15000);
        });
        script.addEventListener('error', () => reject(new Error('sdk load failed')));
        document.head.appendChild(script);
      });
    }).catch((err) => {
      sdkLoading = null;
      throw err;
    });
    return sdkLoading;
  }

  function setupSdk(root, signal, scan, finished, offerRetry) {
    const panel = slot(root, 'sdk');
    const status = slot(root, 'sdk-status');
    const host = slot(root, 'sdk-host');
    panel.hidden = false;
    const say = (text) => { status.textContent = text; };
    const stop = (err) => {
      host.replaceChildren();
      showError(root, err);
      offerRetry();
    };

    loadSdk().then(() => {
      if (signal.aborted) return;
      const element = document.createElement('iproov-me');
      element.setAttribute('token', scan.token);
      element.setAttribute('base_url', scan.baseUrl);
      const on = (name, handler) => element.addEventListener(name, handler, { signal });
      const detail = (event) => (event && event.detail) || {};
      const feedbackError = (event, fallback) => {
        const d = detail(event);
        const hint = SDK_FEEDBACK[d.feedback] || (typeof d.reason === 'string' && d.reason) || 'Please try again.';
        return new ApiError(0, { error: 'scan_problem', message: fallback, hint }, null);
      };
      on('ready', () => say('The scanner is ready. Follow its instructions.'));
      on('connecting', () => say('Connecting to the face-check service…'));
      on('connected', () => say('Connected.'));
      on('started', () => say('Scan started.'));
      on('streaming', () => say('Scanning… hold still.'));
      on('streamed', () => say('Scan sent. Waiting for the result…'));
      on('progress', (event) => {
        const d = detail(event);
        const pct = Number.isFinite(d.progress) ? ` ${Math.round(d.progress)}%` : '';
        say(`${typeof d.message === 'string' && d.message ? d.message : 'Working'}…${pct}`);
      });
      on('passed', () => { say('Scan finished. Checking it now…'); finished(); });
      // A failed scan still goes to the API: it asks iProov for the reason and gives the hint.
      on('failed', () => { say('The scan did not pass. Checking why…'); finished(); });
      on('error', (event) => stop(feedbackError(event, 'The scan could not be completed.')));
      on('canceled', (event) => stop(feedbackError(event, 'The scan was cancelled.')));
      on('permission_denied', (event) => stop(feedbackError(event, 'The camera is blocked.')));
      on('no_camera', (event) => stop(feedbackError(event, 'No camera was found.')));
      on('unsupported', (event) => stop(feedbackError(event, 'This browser cannot run the face scan.')));
      host.replaceChildren(element);
      say('Loading the face scanner…');
    }).catch((err) => {
      if (signal.aborted) return;
      if (err instanceof SdkNotConfigured) {
        // Nothing to try again: the site needs setting up first.
        say('No face scanner is set up on this site.');
        host.replaceChildren();
        showError(root, new ApiError(0, { error: 'sdk_not_configured', message: 'No SDK configured', hint: SDK_SETUP_HINT }, null));
        return;
      }
      say('The face scanner is not available.');
      stop(new ApiError(0, {
        error: 'sdk_load_failed',
        message: 'SDK load failed',
        hint: 'Check your connection and try again. (If you run this site: the SDK’s URL must answer with CORS, '
          + 'the file must match its integrity hash, and the Content-Security-Policy must allow it; the browser’s console says which failed.)',
      }, null));
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Waiting for a registration to be validated

  const STEP_ORDER = ['submitted', 'validating', 'completed'];
  const STATUS_WORDS = {
    awaiting_scan: 'Status: waiting for your scan.',
    submitted: 'Status: scan received, queued for checking.',
    validating: 'Status: checking your scan with iProov…',
    completed: 'Status: done! Your account is ready.',
  };

  function showProgress(root, status) {
    const at = STEP_ORDER.indexOf(status);
    for (const li of root.querySelectorAll('[data-step]')) {
      const index = STEP_ORDER.indexOf(li.dataset.step);
      const done = index < at || (status === 'completed' && index === at);
      const currentStep = index === at && !done;
      li.classList.toggle('is-done', done);
      li.classList.toggle('is-current', currentStep);
      if (currentStep) li.setAttribute('aria-current', 'step'); else li.removeAttribute('aria-current');
      li.querySelector('.step-state').textContent = done ? ' (done)' : currentStep ? ' (in progress)' : ' (not started)';
    }
    const live = slot(root, 'status');
    const words = STATUS_WORDS[status] || `Status: ${status}.`;
    if (live.textContent !== words) live.textContent = words;
  }

  // Polls GET /v1/users/registration while the scan is checked, showing the progress in `root`
  // (a page with the progress list and the `status`, `error` and `slow` slots). Resolves with the
  // first answer that is not `submitted` or `validating` (completed, failed, expired or
  // awaiting_scan). A 401 or 404 (no live registration for this browser) rejects; a busy or
  // unreachable API is said in the error box and asked again, a little slower each time.
  async function waitForRegistration(root, signal) {
    showProgress(root, 'submitted');
    const started = Date.now();
    let delay = POLL_MS;
    for (;;) {
      let data;
      try {
        ({ data } = await api.registrationStatus(signal));
        delay = POLL_MS;
        clearError(root);
      } catch (err) {
        if (aborted(err)) throw err;
        if (err instanceof ApiError && (err.status === 401 || err.status === 404)) throw err;
        showError(root, err, { focus: false, extra: 'We’ll keep checking.' });
        delay = Math.min(delay * 2, 10000, err.retryAfter ? err.retryAfter * 1000 : 10000);
        await sleep(delay, signal);
        continue;
      }
      const status = data.status;
      if (status === 'submitted' || status === 'validating') {
        showProgress(root, status);
      } else if (status === 'completed') {
        showProgress(root, 'completed');
        return data;
      } else if (status === 'failed' || status === 'expired' || status === 'awaiting_scan') {
        return data;
      }
      slot(root, 'slow').hidden = Date.now() - started < SLOW_AFTER_MS;
      await sleep(delay, signal);
    }
  }

  // Fills a failed (or expired) registration's page (the `title`, `hint`, `attempts`, `restart`
  // and `error` slots, and a `retry-registration` button) from GET /v1/users/registration's
  // answer. "Try again" calls `retry()`, which starts the next attempt; when no attempt is left,
  // only the page's way to a new registration (`restart`) is shown.
  function showRegistrationFailure(root, signal, failure, retry) {
    if (failure.status === 'expired') slot(root, 'title').textContent = 'Your scan expired';
    slot(root, 'hint').textContent = failure.hint || 'Please try again.';
    const left = Number.isInteger(failure.attempts_left) ? failure.attempts_left : null;
    const attempts = slot(root, 'attempts');
    if (left !== null) {
      attempts.textContent = left === 0
        ? 'You have no attempts left for this registration.'
        : `You can try ${left} more time${left === 1 ? '' : 's'}.`;
      attempts.hidden = false;
    }
    announce(`The scan didn’t work. ${failure.hint || ''}`);
    const button = root.querySelector('[data-action="retry-registration"]');
    const noneLeft = () => {
      button.hidden = true;
      slot(root, 'restart').hidden = false;
    };
    if (left === 0) {
      noneLeft();
      return;
    }
    button.addEventListener('click', async () => {
      clearError(root);
      try {
        await busy(button, 'Starting a new scan…', retry);
      } catch (err) {
        if (aborted(err)) return;
        showError(root, err);
        if (err instanceof ApiError && err.status === 429 && err.retryAfter) coolDown(button, err.retryAfter);
        if (err instanceof ApiError && err.code === 'attempts_exhausted') noneLeft();
      }
    }, { signal });
  }

  // What the pages use.
  return Object.freeze({
    ApiError,
    api,
    request,
    webConfig,
    aborted,
    sleep,
    // DOM
    announce,
    slot,
    showNotice,
    showError,
    clearError,
    offerLink,
    clearFieldErrors,
    showFormError,
    checkRequired,
    readForm,
    loadConsent,
    checkConsent,
    registrationDetails,
    busy,
    coolDown,
    // journeys
    runScanStep,
    waitForRegistration,
    showRegistrationFailure,
  });
})();
