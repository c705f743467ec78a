// The hosted sign-in page of the OpenID Connect provider (signin.html).
//
// An app (the relying party) sends the browser to GET /oauth2/authorize; the server checks the
// request, keeps it, and redirects here as /signin.html?request=<request_id>. This page shows who
// asks and what they will receive, signs the person in with their face exactly as the demo's
// login does (or registers them first), and then tells the server the person's decision:
//
//   GET  /oauth2/authorize/requests/{request_id}  → {client_id, client_name, scope[], expires_at}
//   POST /v1/verify-login {username} → scan → POST /v1/login          (the login session cookie)
//   POST /oauth2/authorize/complete {request, decision: "allow"|"deny"} → {redirect_to}
//
// and follows `redirect_to` back to the app (with a code, or with error=access_denied).
//
// Rules, as in app.js: credentials are only the API's HttpOnly cookies; nothing is stored in the
// browser; no HTML from strings; no inline script or style. The username and any token never go
// into the URL or the console. Views are not history entries: Back leaves the page, as it does
// from any sign-in form.
'use strict';

(() => {
  const {
    ApiError, api, request, aborted, sleep,
    announce, slot, showNotice, showError, clearError,
    clearFieldErrors, showFormError, checkRequired, readForm, busy,
    loadConsent, checkConsent, registrationDetails,
    runScanStep, waitForRegistration, showRegistrationFailure,
  } = window.FaceKit;

  const PAGE_NAME = 'Face sign-in';

  // The provider's routes behind this page (web/README.md, "Signing in to another app").
  const oauth = {
    pendingRequest: (id, signal) => request('GET', `/oauth2/authorize/requests/${encodeURIComponent(id)}`, undefined, signal),
    complete: (id, decision, signal) => request('POST', '/oauth2/authorize/complete', { request: id, decision }, signal),
  };

  // In memory only; a reload starts again from the request (the cookies remain).
  const state = {
    requestId: null,
    client: null,       // { clientId, name, scope: [], expiresAt } of the pending request
    username: '',       // typed by the person: fills the forms again, and signs in after registering
    registration: null, // { username, display_name }, to try the registration again with
    scan: null,         // { flow: 'register' | 'login', token, baseUrl }
    failure: null,      // the failed registration's status, for its page
    leaving: false,     // the browser is on its way back to the app: no other view may open
  };

  const main = document.getElementById('main');
  let current = null; // the AbortController of the view on screen
  let firstView = true;

  function appName() {
    return (state.client && state.client.name) || 'the app';
  }

  // ---------------------------------------------------------------------------------------------
  // Views

  // Shows one view (a <template> of signin.html) in <main>: the previous view's work is
  // aborted, the app's name is filled in, the heading takes the focus (not on the first view,
  // when the page has just loaded), and `setup(root, signal)` wires the rest.
  function show(templateId, setup = () => {}, { notice = null } = {}) {
    if (state.leaving && templateId !== 'view-leaving') return;
    if (current) current.abort();
    const controller = new AbortController();
    current = controller;
    main.replaceChildren(document.getElementById(templateId).content.cloneNode(true));
    for (const el of main.querySelectorAll('[data-slot="client-name"]')) el.textContent = appName();
    showNotice(main, notice);
    wireActions(main, controller.signal);

    const heading = main.querySelector('h1');
    if (!firstView && heading) heading.focus();
    firstView = false;
    if (notice) announce(notice.text);

    try {
      const result = setup(main, controller.signal);
      if (result && typeof result.catch === 'function') {
        result.catch((err) => {
          if (aborted(err)) return;
          if (!controller.signal.aborted) showError(main, err);
        });
      }
    } catch (err) {
      showError(main, err);
    }
    // After setup, which may change the heading (an expired scan, the way back to the app).
    document.title = heading ? `${heading.textContent} – ${PAGE_NAME}` : PAGE_NAME;
  }

  // Buttons that mean the same on every view.
  function wireActions(root, signal) {
    const actions = {
      cancel: (button) => cancel(root, button, signal),
      'to-start': () => showStart(),
      'to-register': () => showRegister(),
    };
    for (const button of root.querySelectorAll('[data-action]')) {
      const action = actions[button.dataset.action];
      if (action) button.addEventListener('click', () => action(button), { signal });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The request: load it, answer it

  function load() {
    show('view-loading', async (root, signal) => {
      const requestId = new URLSearchParams(location.search).get('request');
      if (!requestId || requestId.length > 512) {
        showEnded('unknown');
        return;
      }
      state.requestId = requestId;
      try {
        const { data } = await oauth.pendingRequest(requestId, signal);
        state.client = readClient(data);
      } catch (err) {
        if (aborted(err)) return;
        if (requestOver(err)) {
          showEnded(err.code === 'request_expired' ? 'expired' : 'unknown', err);
          return;
        }
        // Busy, unreachable or broken: say so, and offer to ask again.
        slot(root, 'status').textContent = 'The sign-in request could not be loaded.';
        showError(root, err);
        const retry = slot(root, 'retry');
        retry.hidden = false;
        retry.querySelector('button').addEventListener('click', load, { signal, once: true });
        return;
      }
      showStart();
    });
  }

  // The pending request as the server describes it; a name is needed to say who asks.
  function readClient(data) {
    if (!data || typeof data.client_id !== 'string' || !data.client_id) {
      throw new ApiError(502, { error: 'bad_gateway', message: 'The sign-in request could not be read.' }, null);
    }
    return {
      clientId: data.client_id,
      name: typeof data.client_name === 'string' && data.client_name.trim() ? data.client_name.trim() : data.client_id,
      scope: Array.isArray(data.scope) ? data.scope.filter((s) => typeof s === 'string' && s) : [],
      expiresAt: typeof data.expires_at === 'string' ? data.expires_at : null,
    };
  }

  // The request is gone (unknown or used) or expired: nothing can be sent back to the app.
  function requestOver(err) {
    return err instanceof ApiError && (err.code === 'request_unknown' || err.code === 'request_expired');
  }

  // Tells the server the person's decision and follows its answer back to the app.
  async function decide(decision, signal) {
    const { data } = await oauth.complete(state.requestId, decision, signal);
    leave(decision, redirectTarget(data));
  }

  // The server checked the address against the app's registration before answering; this only
  // refuses an answer without one, or one that would run script in this page.
  function redirectTarget(data) {
    let url = null;
    try {
      url = new URL(data && data.redirect_to);
    } catch {
      url = null;
    }
    if (!url || ['javascript:', 'data:', 'vbscript:', 'blob:', 'file:'].includes(url.protocol)) {
      throw new ApiError(502, { error: 'bad_gateway', message: 'The answer named no address to go back to.' }, null);
    }
    return url.href;
  }

  function leave(decision, href) {
    show('view-leaving', (root) => {
      slot(root, 'title').textContent = decision === 'allow' ? 'Signed in' : 'Sign-in cancelled';
      slot(root, 'text').textContent = `Taking you back to ${appName()}…`;
    });
    state.leaving = true;
    announce(`Taking you back to ${appName()}…`);
    location.assign(href);
  }

  async function cancel(root, button, signal) {
    if (state.leaving) return;
    clearError(root);
    // One decision at a time: the other buttons wait for this one's answer.
    const others = [...root.querySelectorAll('button')].filter((b) => b !== button && !b.disabled);
    for (const b of others) b.disabled = true;
    try {
      await busy(button, 'Cancelling…', () => decide('deny', signal));
    } catch (err) {
      if (aborted(err)) return;
      if (requestOver(err)) {
        showEnded(err.code === 'request_expired' ? 'expired' : 'unknown', err);
        return;
      }
      showError(root, err);
    } finally {
      if (!state.leaving) for (const b of others) if (b.isConnected) b.disabled = false;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Pages

  function showEnded(kind, err = null) {
    const words = {
      expired: ['This sign-in link has expired', `This sign-in link has expired; go back to ${appName()} and start again.`],
      unknown: ['This sign-in link is not valid', `This sign-in link is not valid, or it was already used; go back to ${appName()} and start again.`],
    }[kind];
    show('view-ended', (root) => {
      slot(root, 'title').textContent = words[0];
      slot(root, 'text').textContent = words[1];
      if (err && err.hint) {
        slot(root, 'hint').textContent = err.hint;
        slot(root, 'hint').hidden = false;
      }
      if (err && err.requestId) {
        slot(root, 'ref').textContent = `Reference: ${err.requestId}`;
        slot(root, 'ref').hidden = false;
      }
      announce(words[1]);
    });
  }

  // Who asks, what they receive, and the username for the face sign-in.
  function showStart({ notice = null, error = null } = {}) {
    show('view-start', (root, signal) => {
      const list = slot(root, 'scopes');
      for (const scope of state.client.scope) {
        const li = document.createElement('li');
        li.textContent = scopeWords(scope);
        list.appendChild(li);
      }
      const expires = slot(root, 'expires');
      const until = timeOfDay(state.client.expiresAt);
      if (until) {
        expires.textContent = `This request is valid until ${until}.`;
        expires.hidden = false;
      }

      const form = root.querySelector('form[data-form="signin"]');
      form.elements.namedItem('username').value = state.username;
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        clearError(root);
        clearFieldErrors(form);
        if (!checkRequired(form, ['username'])) return;
        const { username } = readForm(form);
        const button = form.querySelector('button[type="submit"]');
        try {
          await busy(button, 'Starting…', () => signIn(username, signal));
        } catch (err) {
          if (aborted(err)) return;
          showFormError(root, form, err);
        }
      }, { signal });
      if (error) showFormError(root, form, error);
    }, { notice });
  }

  function scopeWords(scope) {
    if (scope === 'openid') return `An identifier for you that is unique to ${appName()}`;
    if (scope === 'profile') return 'Your display name';
    return `Access named “${scope}”`;
  }

  function timeOfDay(iso) {
    const date = new Date(iso || '');
    if (Number.isNaN(date.getTime())) return null;
    try {
      return new Intl.DateTimeFormat(undefined, { timeStyle: 'short' }).format(date);
    } catch {
      return date.toLocaleTimeString();
    }
  }

  // The demo's login: a login attempt for this username, then its scan.
  async function signIn(username, signal, notice = null) {
    const { data } = await api.verifyLogin(username, signal);
    state.username = username;
    beginScan('login', data, notice);
  }

  // Keeps what the scan needs (in memory only) and shows the scan view.
  function beginScan(flow, data, notice = null) {
    const launch = data && data.iproov;
    if (!launch || typeof launch.token !== 'string' || typeof launch.base_url !== 'string') {
      throw new ApiError(502, { error: 'bad_gateway', message: 'The answer had no scan token.' }, null);
    }
    state.scan = { flow, token: launch.token, baseUrl: launch.base_url };
    showScan(notice);
  }

  function showScan(notice = null) {
    const scan = state.scan;
    show('view-scan', (root, signal) => {
      if (scan.flow === 'register') {
        slot(root, 'steps-label').textContent = 'Create an account · step 2 of 3';
        runScanStep(root, signal, scan, {
          restart: () => restartRegistration(signal),
          submit: async () => {
            try {
              await api.submitScan(signal);
            } catch (err) {
              // Already submitted (a double event): the progress view knows the rest.
              if (!(err instanceof ApiError && err.code === 'invalid_state')) throw err;
            }
            state.scan = null;
            showWaiting();
          },
        });
        return;
      }
      slot(root, 'steps-label').textContent = `Sign in to ${appName()}`;
      let signedIn = false; // POST /v1/login passed: only the answer to the app is left to send
      runScanStep(root, signal, scan, {
        restart: () => signIn(state.username, signal),
        submit: async () => {
          if (!signedIn) {
            await api.login(signal);
            signedIn = true;
            announce(`Face confirmed. Signing you in to ${appName()}…`);
          }
          await decide('allow', signal);
        },
        intercept: (err) => {
          if (requestOver(err)) {
            showEnded(err.code === 'request_expired' ? 'expired' : 'unknown', err);
            return true;
          }
          // 401 unauthenticated (the session is gone) or 403 fresh_login_required (the session
          // is older than this request): "Try again" scans the face again for a new login.
          if (err instanceof ApiError && (err.status === 401 || err.status === 403)) signedIn = false;
          return false;
        },
      });
    }, { notice });
  }

  // ----- no account yet: the demo's registration, then the face sign-in -----

  function showRegister({ notice = null } = {}) {
    show('view-register', (root, signal) => {
      const form = root.querySelector('form[data-form="register"]');
      form.elements.namedItem('username').value = state.registration ? state.registration.username : state.username;
      if (state.registration) form.elements.namedItem('display_name').value = state.registration.display_name;
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
          state.username = details.username;
          beginScan('register', data);
        } catch (err) {
          if (aborted(err)) return;
          if (err instanceof ApiError && err.code === 'consent_outdated') {
            form.elements.namedItem('consent').checked = false;
            loadConsent(form, signal);
          }
          if (err instanceof ApiError && err.code === 'registration_in_progress') {
            // This browser's registration of that name is being checked: wait for it here.
            state.registration = details;
            state.username = details.username;
            showWaiting();
            return;
          }
          showFormError(root, form, err);
        }
      }, { signal });
    }, { notice });
  }

  async function restartRegistration(signal) {
    if (!state.registration) {
      showRegister({ notice: { text: 'Please confirm your details to try again.', kind: 'info' } });
      return;
    }
    const { data } = await api.startRegistration(state.registration, signal);
    beginScan('register', data);
  }

  function showWaiting() {
    show('view-waiting', async (root, signal) => {
      let data;
      try {
        data = await waitForRegistration(root, signal);
      } catch (err) {
        if (aborted(err)) return;
        if (err instanceof ApiError && (err.status === 401 || err.status === 404)) {
          showRegister({ notice: { text: 'We couldn’t find your registration in this browser. Please start again.', kind: 'info' } });
          return;
        }
        throw err;
      }
      if (data.status === 'completed') {
        await sleep(900, signal);
        await registered(signal);
      } else if (data.status === 'failed' || data.status === 'expired') {
        state.failure = data;
        showRegisterFailed();
      } else if (state.scan && state.scan.flow === 'register') {
        showScan(); // awaiting_scan: the scan is not finished yet
      } else {
        showRegister({ notice: { text: 'We have not received your scan yet. Please start again.', kind: 'info' } });
      }
    });
  }

  function showRegisterFailed() {
    show('view-register-failed', (root, signal) => {
      showRegistrationFailure(root, signal, state.failure, async () => {
        await restartRegistration(signal);
        state.failure = null;
      });
    });
  }

  // The account exists, and the registration opened a login session of its own. The app still
  // needs a face login opened for its request, so the person scans once more; the notice says why.
  async function registered(signal) {
    state.registration = null;
    const notice = {
      text: `Your account is ready. Scan your face once more to sign in to ${appName()}: each sign-in needs its own scan.`,
      kind: 'ok',
    };
    try {
      await signIn(state.username, signal, notice);
    } catch (err) {
      if (aborted(err)) return;
      showStart({ notice, error: err });
    }
  }

  // ---------------------------------------------------------------------------------------------

  // Coming back to this page from the app through the browser's back/forward cache would show a
  // view that is over: load the request again, which is used or expired by then.
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) location.reload();
  });
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', load);
  else load();
})();
