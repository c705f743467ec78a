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
//
// The API client, the error and form helpers, the scan step and the wait for a registration are
// shared with the hosted sign-in page (signin.js): they live in face.js, loaded first.
'use strict';

(() => {
  const {
    ApiError, api, webConfig, aborted, sleep,
    announce, slot, showNotice, showError, clearError, offerLink,
    clearFieldErrors, showFormError, checkRequired, readForm, busy,
    loadConsent, checkConsent, registrationDetails, coolDown,
    runScanStep, waitForRegistration, showRegistrationFailure,
  } = window.FaceKit;

  const APP_NAME = 'Face sign-in demo';

  const DELETED_NOTICE = {
    text: 'Your account has been deleted. Your face image and iProov enrolment are being erased, and you are logged out.',
    kind: 'ok',
  };

  // In-memory state only; a reload forgets it (the cookies remain, and pages recover from them).
  const state = {
    registration: null, // { username, display_name } typed by the person, to retry with
    login: null,        // { username }
    scan: null,         // { flow: 'register' | 'login' | 'step-up', token, baseUrl, attemptToken? }
    failure: null,      // last failed registration status, for the "try again" page
    notice: null,       // { text, kind } shown once on the next page
  };


  const main = document.getElementById('main');

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
    showNotice(main, notice);

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
    loadConsent(form, signal);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearError(root);
      clearFieldErrors(form);
      if (!checkRequired(form, ['username', 'display_name']) || !(await checkConsent(form))) return;
      const details = registrationDetails(form);
      const button = form.querySelector('button[type="submit"]');
      try {
        const { data } = await busy(button, 'Starting…', () => api.startRegistration(details, signal));
        // Kept (in memory) for a retry of this registration, which must carry the consent too.
        state.registration = details;
        beginScan('register', data);
      } catch (err) {
        if (aborted(err)) return;
        if (err instanceof ApiError && err.code === 'consent_outdated') {
          // The text changed since it was shown: show the new one, to be read and ticked again.
          form.elements.namedItem('consent').checked = false;
          loadConsent(form, signal);
        }
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
    const restart = () => restartScan(flow, signal);

    if (flow === 'register') {
      runScanStep(root, signal, scan, {
        restart,
        submit: async () => {
          try {
            await api.submitScan(signal);
          } catch (err) {
            // Already submitted (a double event, a reload): the progress page knows the rest.
            if (!(err instanceof ApiError && err.code === 'invalid_state')) throw err;
          }
          state.scan = null;
          go('/register/waiting');
        },
      });
    } else if (flow === 'login') {
      runScanStep(root, signal, scan, {
        restart,
        submit: async () => {
          const { data } = await api.login(signal);
          state.scan = null;
          const name = data && data.user && data.user.display_name;
          go('/account', { notice: { text: name ? `Welcome back, ${name}. You are logged in.` : 'You are logged in.', kind: 'ok' } });
        },
      });
    } else {
      let elevated = false; // the face check passed, only the deletion is left to ask
      runScanStep(root, signal, scan, {
        restart,
        submit: async () => {
          try {
            if (!elevated) {
              await api.completeStepUp(scan.attemptToken, signal);
              elevated = true;
              announce('Face confirmed. Deleting your account…');
            }
            await api.eraseMe(signal);
          } catch (err) {
            // The elevation ran out before the deletion was asked: a new face check is needed.
            if (err instanceof ApiError && err.code === 'step_up_required') elevated = false;
            throw err;
          }
          accountDeleted();
        },
        intercept: (err) => {
          if (!sessionGone(err)) return false;
          sessionEndedBeforeDelete();
          return true;
        },
        explain: inStepUp,
      });
    }
  }

  // ----- waiting for the registration to be validated -----

  async function setupWaiting(root, signal) {
    let data;
    try {
      data = await waitForRegistration(root, signal);
    } catch (err) {
      if (aborted(err)) return;
      if (err instanceof ApiError && (err.status === 401 || err.status === 404)) {
        showError(root, new ApiError(err.status, { ...err.body, error: 'registration_not_found' }, null));
        offerLink(root, '#/register', 'Start a registration');
        return;
      }
      throw err;
    }
    const status = data.status;
    if (status === 'completed') {
      state.registration = null;
      await sleep(900, signal);
      go('/account', { notice: { text: 'Your account is ready. Welcome!', kind: 'ok' } });
    } else if (status === 'failed' || status === 'expired') {
      state.failure = data;
      go('/register/failed');
    } else if (state.scan && state.scan.flow === 'register') {
      // awaiting_scan: the scan is not finished yet.
      go('/register/scan', { replace: true });
    } else {
      go('/register', { replace: true, notice: { text: 'We have not received your scan yet. Please start again.', kind: 'info' } });
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
    if (failure.status === 'expired') document.title = `Your scan expired – ${APP_NAME}`;
    showRegistrationFailure(root, signal, failure, async () => {
      await restartScan('register', signal);
      state.failure = null;
    });
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
