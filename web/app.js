// Face sign-in demo: a small single-page app over the public v1 API (docs/openapi.yaml).
//
// Rules this file keeps:
// - Credentials live only in the HttpOnly cookies the API sets; every call is same-origin with
//   `credentials: 'same-origin'`. Nothing is written to localStorage, sessionStorage or
//   document.cookie, and the `session_token` / `attempt_token` fields of answers are ignored.
//   The one exception is the step-up's `attempt_token`, which the API gives only in the body:
//   it is kept in memory for that scan and sent back once, to POST /v1/step-up/complete.
// - No HTML is built from strings: pages are <template>s in index.html, text goes in with
//   textContent. No inline scripts or styles, so the page runs under a strict CSP.
// - Each new page moves focus to its heading; results are announced through live regions.
'use strict';

(() => {
  const POLL_MS = 700;
  const SLOW_AFTER_MS = 20000;
  const APP_NAME = 'Face sign-in demo';

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
    // The face check before deleting the account (the step-up); see inStepUp().
    step_up_required: 'Deleting your account needs your face again.',
    step_up_foreign: 'This face check was started in another session.',
    step_up_expired: 'This face check took too long and expired.',
    step_up_used: 'This face check was already used.',
  };

  const DELETED_NOTICE = {
    text: 'Your account has been deleted. Your face image and iProov enrolment are being erased, and you are logged out.',
    kind: 'ok',
  };

  const FIELD_LABELS = { username: 'Username', display_name: 'Display name' };

  // In-memory state only; a reload forgets it (the cookies remain, and pages recover from them).
  const state = {
    registration: null, // { username, display_name } typed by the person, to retry with
    login: null,        // { username }
    scan: null,         // { flow: 'register' | 'login' | 'step-up', token, baseUrl, attemptToken? }
    failure: null,      // last failed registration status, for the "try again" page
    notice: null,       // { text, kind } shown once on the next page
  };

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

  const main = document.getElementById('main');
  const announcer = document.getElementById('announcer');
  let announceTimer = 0;

  function announce(text) {
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

  // ---------------------------------------------------------------------------------------------
  // Router

  let current = null; // { controller }
  let firstRender = true;

  const routes = {
    '/': { template: 'view-home', setup: setupHome },
    '/register': { template: 'view-register', setup: setupRegister, nav: 'register' },
    '/register/scan': { template: 'view-scan', setup: (root, signal) => setupScan(root, signal, 'register'), nav: 'register' },
    '/register/waiting': { template: 'view-waiting', setup: setupWaiting, nav: 'register' },
    '/register/failed': { template: 'view-register-failed', setup: setupRegisterFailed, nav: 'register' },
    '/login': { template: 'view-login', setup: setupLogin, nav: 'login' },
    '/login/scan': { template: 'view-scan', setup: (root, signal) => setupScan(root, signal, 'login'), nav: 'login' },
    '/account': { template: 'view-account', setup: setupAccount, nav: 'account' },
    '/account/delete': { template: 'view-delete', setup: setupDelete, nav: 'account' },
    '/account/delete/step-up': { template: 'view-step-up', setup: setupStepUp, nav: 'account' },
    '/account/delete/scan': { template: 'view-scan', setup: (root, signal) => setupScan(root, signal, 'step-up'), nav: 'account' },
  };

  function currentPath() {
    const raw = location.hash.replace(/^#/, '') || '/';
    return raw.split('?')[0];
  }

  function go(path, options = {}) {
    if (options.notice) state.notice = options.notice;
    const target = `#${path}`;
    if (location.hash === target || (path === '/' && !location.hash)) {
      render();
    } else if (options.replace) {
      history.replaceState(null, '', target);
      render();
    } else {
      location.hash = target;
    }
  }

  function render() {
    if (current) current.controller.abort();
    const controller = new AbortController();
    current = { controller };
    const path = currentPath();
    const route = routes[path] || { template: 'view-not-found', setup: () => {} };
    const template = document.getElementById(route.template);
    const fragment = template.content.cloneNode(true);
    main.replaceChildren(fragment);

    const heading = main.querySelector('h1');
    document.title = heading ? `${heading.textContent} – ${APP_NAME}` : APP_NAME;
    for (const link of document.querySelectorAll('[data-nav]')) {
      if (link.dataset.nav === route.nav) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }

    const notice = state.notice;
    state.notice = null;
    const noticeSlot = slot(main, 'notice');
    if (notice && noticeSlot) {
      const node = document.getElementById('tpl-notice').content.cloneNode(true);
      slot(node, 'text').textContent = notice.text;
      if (notice.kind === 'info') node.firstElementChild.classList.add('notice-info');
      noticeSlot.replaceWith(node);
    }

    if (!firstRender && heading) heading.focus();
    firstRender = false;
    if (notice) announce(notice.text);

    try {
      const result = route.setup(main, controller.signal);
      if (result && typeof result.catch === 'function') {
        result.catch((err) => {
          if (err && err.name === 'AbortError') return;
          if (!controller.signal.aborted) showError(main, err);
        });
      }
    } catch (err) {
      showError(main, err);
    }
  }

  function aborted(err) {
    return err && err.name === 'AbortError';
  }

  // ---------------------------------------------------------------------------------------------
  // Pages

  function setupHome(root, signal) {
    // A stack on a real iProov platform without a web SDK cannot scan a face: say so before
    // anybody starts a registration (the scan page says it again, with what to set).
    webConfig().then((config) => {
      if (signal.aborted || config.platform !== 'tenant' || config.sdk) return;
      const node = document.getElementById('tpl-notice').content.cloneNode(true);
      node.firstElementChild.classList.add('notice-info');
      slot(node, 'text').textContent = 'Face scans cannot start yet: this site talks to a real iProov service, '
        + 'but no iProov web SDK is configured (LOCAL_IPROOV_SDK_URL and LOCAL_IPROOV_SDK_INTEGRITY; see web/README.md).';
      slot(root, 'setup').replaceChildren(node);
    }).catch(() => {});
  }

  function setupRegister(root, signal) {
    const form = root.querySelector('form[data-form="register"]');
    if (state.registration) {
      form.elements.namedItem('username').value = state.registration.username;
      form.elements.namedItem('display_name').value = state.registration.display_name;
    }
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearError(root);
      clearFieldErrors(form);
      if (!checkRequired(form, ['username', 'display_name'])) return;
      const details = readForm(form);
      const button = form.querySelector('button[type="submit"]');
      try {
        const { data } = await busy(button, 'Starting…', () => api.startRegistration(details, signal));
        state.registration = { username: details.username, display_name: details.display_name };
        beginScan('register', data);
      } catch (err) {
        if (aborted(err)) return;
        if (err instanceof ApiError && err.code === 'registration_in_progress') {
          await explainRegistrationInProgress(root, err, signal);
          return;
        }
        showFormError(root, form, err);
      }
    }, { signal });
  }

  // This browser already has a registration under way (or just completed): say which.
  async function explainRegistrationInProgress(root, err, signal) {
    let status = null;
    try {
      ({ data: { status } } = await api.registrationStatus(signal));
    } catch (statusErr) {
      if (aborted(statusErr)) return;
    }
    if (status === 'completed') {
      showError(root, new ApiError(409, {
        error: 'registration_in_progress',
        message: err.message,
        hint: 'This browser has just completed a registration. Log in to use that account; to create another one, use a private window or clear this site’s cookies.',
        request_id: err.requestId,
      }, null));
      offerLink(root, '#/login', 'Log in');
      return;
    }
    showError(root, err, { extra: 'See how it is going on the progress page.' });
    offerLink(root, '#/register/waiting', 'See the progress of your registration');
  }

  function offerLink(root, href, text) {
    const box = slot(root, 'error');
    const p = document.createElement('p');
    const a = document.createElement('a');
    a.href = href;
    a.textContent = text;
    p.appendChild(a);
    box.appendChild(p);
  }

  function setupLogin(root, signal) {
    const form = root.querySelector('form[data-form="login"]');
    if (state.login) form.elements.namedItem('username').value = state.login.username;
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearError(root);
      clearFieldErrors(form);
      if (!checkRequired(form, ['username'])) return;
      const { username } = readForm(form);
      const button = form.querySelector('button[type="submit"]');
      try {
        const { data } = await busy(button, 'Starting…', () => api.verifyLogin(username, signal));
        state.login = { username };
        beginScan('login', data);
      } catch (err) {
        if (aborted(err)) return;
        showFormError(root, form, err);
      }
    }, { signal });
  }

  const SCAN_PATHS = { register: '/register/scan', login: '/login/scan', 'step-up': '/account/delete/scan' };

  // Keeps what the SDK needs (in memory only) and opens the scan page.
  function beginScan(flow, data) {
    const launch = data && data.iproov;
    if (!launch || typeof launch.token !== 'string' || typeof launch.base_url !== 'string') {
      throw new ApiError(502, { error: 'bad_gateway', message: 'The answer had no scan token.' }, null);
    }
    state.scan = { flow, token: launch.token, baseUrl: launch.base_url };
    if (flow === 'step-up') {
      // The step-up's credential comes only in the body; it is sent back once, to complete it.
      if (typeof data.attempt_token !== 'string' || !data.attempt_token) {
        state.scan = null;
        throw new ApiError(502, { error: 'bad_gateway', message: 'The answer had no step-up attempt.' }, null);
      }
      state.scan.attemptToken = data.attempt_token;
    }
    const path = SCAN_PATHS[flow];
    if (currentPath() === path) render(); else go(path);
  }

  // Starts a new scan for the same journey: a new token (or the current one, while unused).
  async function restartScan(flow, signal) {
    if (flow === 'register') {
      if (!state.registration) {
        go('/register', { notice: { text: 'Please confirm your details to try again.', kind: 'info' } });
        return;
      }
      const { data } = await api.startRegistration(state.registration, signal);
      beginScan('register', data);
    } else if (flow === 'step-up') {
      const { data } = await api.startStepUp(signal);
      beginScan('step-up', data);
    } else {
      if (!state.login) {
        go('/login', { notice: { text: 'Please enter your username to try again.', kind: 'info' } });
        return;
      }
      const { data } = await api.verifyLogin(state.login.username, signal);
      beginScan('login', data);
    }
  }

  function setupScan(root, signal, flow) {
    const scan = state.scan;
    if (!scan || scan.flow !== flow) {
      go({ register: '/register', login: '/login', 'step-up': '/account/delete/step-up' }[flow], {
        replace: true,
        notice: { text: 'Your scan was not started yet. Please start again here.', kind: 'info' },
      });
      return;
    }
    slot(root, 'steps-label').textContent = {
      register: 'Create an account · step 2 of 3',
      login: 'Log in · step 2 of 2',
      'step-up': 'Delete your account · confirm it’s you',
    }[flow];
    slot(root, 'cancel').href = { register: '#/register', login: '#/login', 'step-up': '#/account' }[flow];
    const retryBox = slot(root, 'retry');
    const retryButton = retryBox.querySelector('button');
    let finishing = false;
    let elevated = false; // step-up: the face check passed, only the deletion is left to ask
    // "Try again" either sends the finished scan again (the API was busy or unreachable) or
    // starts a new scan (the scan failed, expired or was used).
    let retryAction = 'restart';

    // What happens once the scan is over, whatever its outcome: the API (not the page) asks
    // iProov whether it really passed, and answers with the hint when it did not.
    async function finished() {
      if (finishing) return;
      finishing = true;
      clearError(root);
      retryBox.hidden = true;
      try {
        if (flow === 'register') {
          try {
            await api.submitScan(signal);
          } catch (err) {
            // Already submitted (a double event, a reload): the progress page knows the rest.
            if (!(err instanceof ApiError && err.code === 'invalid_state')) throw err;
          }
          state.scan = null;
          go('/register/waiting');
        } else if (flow === 'step-up') {
          if (!elevated) {
            await api.completeStepUp(scan.attemptToken, signal);
            elevated = true;
            announce('Face confirmed. Deleting your account…');
          }
          await api.eraseMe(signal);
          accountDeleted();
        } else {
          const { data } = await api.login(signal);
          state.scan = null;
          const name = data && data.user && data.user.display_name;
          go('/account', { notice: { text: name ? `Welcome back, ${name}. You are logged in.` : 'You are logged in.', kind: 'ok' } });
        }
      } catch (err) {
        if (aborted(err)) return;
        finishing = false;
        if (flow === 'step-up' && sessionGone(err)) {
          sessionEndedBeforeDelete();
          return;
        }
        // The elevation ran out before the deletion was asked: a new face check is needed.
        if (err instanceof ApiError && err.code === 'step_up_required') elevated = false;
        retryAction = transient(err) ? 'submit' : 'restart';
        showError(root, flow === 'step-up' ? inStepUp(err) : err);
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
        await busy(retryButton, 'Starting a new scan…', () => restartScan(flow, signal));
      } catch (err) {
        if (aborted(err)) return;
        if (flow === 'step-up' && sessionGone(err)) {
          sessionEndedBeforeDelete();
          return;
        }
        showError(root, err);
        if (err instanceof ApiError && err.status === 429 && err.retryAfter) coolDown(retryButton, err.retryAfter);
      }
    }, { signal });

    if (isSandbox(scan.baseUrl)) {
      setupSandboxPanel(root, signal, scan, finished);
    } else {
      setupSdk(root, signal, scan, finished, () => { retryBox.hidden = false; });
    }
  }

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

  // ----- waiting for the registration to be validated -----

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

  function sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new DOMException('Aborted', 'AbortError'));
      }, { once: true });
    });
  }

  async function setupWaiting(root, signal) {
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
        if (aborted(err)) return;
        if (err instanceof ApiError && (err.status === 401 || err.status === 404)) {
          showError(root, new ApiError(err.status, { ...err.body, error: 'registration_not_found' }, null));
          offerLink(root, '#/register', 'Start a registration');
          return;
        }
        // Busy or unreachable: say so, keep trying, a little slower each time.
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
        state.registration = null;
        await sleep(900, signal);
        go('/account', { notice: { text: 'Your account is ready. Welcome!', kind: 'ok' } });
        return;
      } else if (status === 'failed' || status === 'expired') {
        state.failure = data;
        go('/register/failed');
        return;
      } else if (status === 'awaiting_scan') {
        if (state.scan && state.scan.flow === 'register') {
          go('/register/scan', { replace: true });
        } else {
          go('/register', { replace: true, notice: { text: 'We have not received your scan yet. Please start again.', kind: 'info' } });
        }
        return;
      }
      slot(root, 'slow').hidden = Date.now() - started < SLOW_AFTER_MS;
      await sleep(delay, signal);
    }
  }

  // ----- a failed (or expired) registration scan -----

  async function setupRegisterFailed(root, signal) {
    let failure = state.failure;
    if (!failure) {
      try {
        ({ data: failure } = await api.registrationStatus(signal));
      } catch (err) {
        if (aborted(err)) return;
        showError(root, err);
        offerLink(root, '#/register', 'Start a registration');
        return;
      }
      if (failure.status !== 'failed' && failure.status !== 'expired') {
        go('/register/waiting', { replace: true });
        return;
      }
    }
    if (failure.status === 'expired') {
      slot(root, 'title').textContent = 'Your scan expired';
      document.title = `Your scan expired – ${APP_NAME}`;
    }
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
    if (left === 0) {
      button.hidden = true;
      slot(root, 'restart').hidden = false;
      return;
    }
    button.addEventListener('click', async () => {
      clearError(root);
      try {
        await busy(button, 'Starting a new scan…', () => restartScan('register', signal));
        state.failure = null;
      } catch (err) {
        if (aborted(err)) return;
        showError(root, err);
        if (err instanceof ApiError && err.status === 429 && err.retryAfter) coolDown(button, err.retryAfter);
        if (err instanceof ApiError && err.code === 'attempts_exhausted') {
          button.hidden = true;
          slot(root, 'restart').hidden = false;
        }
      }
    }, { signal });
  }

  // ----- account -----

  function formatDate(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    try {
      return new Intl.DateTimeFormat(undefined, { dateStyle: 'long', timeStyle: 'short' }).format(date);
    } catch {
      return date.toLocaleString();
    }
  }

  function loggedOut(err) {
    return err instanceof ApiError && (err.status === 401);
  }

  async function setupAccount(root, signal) {
    let user;
    try {
      ({ data: user } = await api.me(signal));
    } catch (err) {
      if (aborted(err)) return;
      if (loggedOut(err)) {
        go('/login', { replace: true, notice: { text: err.code === 'session_expired' ? 'Your session has ended. Please log in again.' : 'Please log in to see your account.', kind: 'info' } });
        return;
      }
      slot(root, 'loading').hidden = true;
      showError(root, err);
      return;
    }
    slot(root, 'loading').hidden = true;
    slot(root, 'greeting').textContent = user.display_name || user.username;
    slot(root, 'username').textContent = user.username;
    slot(root, 'display-name').textContent = user.display_name;
    const created = slot(root, 'created');
    created.dateTime = user.created_at;
    created.textContent = formatDate(user.created_at);
    slot(root, 'details').hidden = false;

    const logout = root.querySelector('[data-action="logout"]');
    logout.addEventListener('click', async () => {
      clearError(root);
      try {
        await busy(logout, 'Logging out…', () => api.logout(signal));
      } catch (err) {
        if (aborted(err)) return;
        if (!loggedOut(err)) { showError(root, err); return; }
      }
      state.login = null;
      go('/', { notice: { text: 'You have logged out.', kind: 'ok' } });
    }, { signal });
  }

  function setupDelete(root, signal) {
    const button = root.querySelector('[data-action="delete"]');
    button.addEventListener('click', async () => {
      clearError(root);
      try {
        await busy(button, 'Deleting…', () => api.eraseMe(signal));
      } catch (err) {
        if (aborted(err)) return;
        if (loggedOut(err)) {
          sessionEndedBeforeDelete();
          return;
        }
        // Erasing needs a face check on this session first (then the deletion is asked again).
        if (err instanceof ApiError && err.code === 'step_up_required') {
          go('/account/delete/step-up');
          return;
        }
        showError(root, err);
        return;
      }
      accountDeleted();
    }, { signal });
  }

  // ----- the face check (step-up) before deleting the account -----

  function setupStepUp(root, signal) {
    const button = root.querySelector('[data-action="start-step-up"]');
    button.addEventListener('click', async () => {
      clearError(root);
      try {
        await busy(button, 'Starting…', () => restartScan('step-up', signal));
      } catch (err) {
        if (aborted(err)) return;
        if (sessionGone(err)) {
          sessionEndedBeforeDelete();
          return;
        }
        showError(root, err);
        if (err instanceof ApiError && err.status === 429 && err.retryAfter) coolDown(button, err.retryAfter);
      }
    }, { signal });
  }

  // The session is over (not a failed scan, which is a 401 too): log in again first.
  function sessionGone(err) {
    return loggedOut(err) && err.code !== 'verification_failed';
  }

  function sessionEndedBeforeDelete() {
    state.scan = null;
    go('/login', { notice: { text: 'Your session has ended. Log in again to delete your account.', kind: 'info' } });
  }

  // The step-up's errors share their codes with the login's: say which attempt is meant.
  function inStepUp(err) {
    if (!(err instanceof ApiError)) return err;
    const words = {
      attempt_expired: { error: 'step_up_expired' },
      attempt_used: { error: 'step_up_used' },
      step_up_required: { hint: 'The face check counts for a few minutes only. Choose “Try again” to scan your face again.' },
    }[err.code];
    return words ? new ApiError(err.status, { ...err.body, ...words }, err.retryAfter) : err;
  }

  function accountDeleted() {
    state.login = null;
    state.registration = null;
    state.scan = null;
    go('/', { notice: DELETED_NOTICE });
  }

  // ---------------------------------------------------------------------------------------------

  window.addEventListener('hashchange', render);
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', render);
  else render();
})();
