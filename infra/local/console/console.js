// The interactive console at /docs: Swagger UI over this stack's OpenAPI document.
//
// It only ever talks to the page's own origin: the document's `servers` are replaced by
// location.origin, any other request is refused here, and the /docs Content-Security-Policy
// (connect-src 'self') would refuse it in the browser anyway. No inline script or style.
'use strict';

(async () => {
  const status = document.getElementById('console-status');
  const say = (text) => { status.textContent = text; };
  try {
    if (typeof window.SwaggerUIBundle !== 'function') {
      throw new Error('Swagger UI did not load (is it installed? `make console`; a file that does not match its integrity hash is refused)');
    }
    const response = await fetch('/docs/openapi.json', { credentials: 'same-origin', cache: 'no-store' });
    if (!response.ok) throw new Error(`GET /docs/openapi.json answered ${response.status}`);
    const spec = await response.json();
    spec.servers = [{ url: location.origin, description: 'this local stack (the page’s own origin)' }];
    window.ui = window.SwaggerUIBundle({
      spec,
      dom_id: '#console',
      deepLinking: true,
      displayRequestDuration: true,
      validatorUrl: null, // no badge fetched from validator.swagger.io
      requestInterceptor: (request) => {
        const url = new URL(request.url, location.href);
        if (url.origin !== location.origin) {
          throw new Error(`the console only calls ${location.origin}, not ${url.origin}`);
        }
        request.credentials = 'same-origin';
        return request;
      },
      onComplete: () => say(`${Object.keys(spec.paths || {}).length} paths of ${spec.info.title} ${spec.info.version}; “Try it out” calls ${location.origin}.`),
    });
  } catch (err) {
    say(`The console could not start: ${err.message}.`);
  }
})();
