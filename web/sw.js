// web/sw.js — the service worker: LocalDx works offline after one visit.
//
// Index of this file
//   [SECTION] Install: precache the app shell, core wasm, ONNX Runtime (14 MB included)
//   [SECTION] Activate: drop caches of older app versions
//   [SECTION] Fetch: what comes from the cache, what from the network
//
// A new app version installs alongside the old one and takes over only when every LocalDx tab
// has been closed (no skipWaiting): a case in progress is never broken by an update.
const VERSION = new URL(self.location).searchParams.get('v') || 'dev';
const SHELL = `ldx-shell-${VERSION}`;
const BUNDLES = 'ldx-bundles';   // verified bundles, by content address (shared across versions)
const INDEX = 'ldx-index';       // last models index seen (signed; the page checks it)
const SHELL_FILES = ['./', 'index.html', 'app.css', 'manifest.webmanifest', 'trust.json', 'assets.json'];  // and assets.json's precache

//-----------------------------------------------------------------------------
// [SECTION] Install
//-----------------------------------------------------------------------------
self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    // Only the files of this version: a server that holds another (a deploy during the install)
    // fails the install, which the browser tries again later. The cache then serves pages of this
    // version their files (shellFetch), so it must hold this version's and nothing else.
    const ofThisVersion = (assets) => {
      if (VERSION !== 'dev' && assets.version !== VERSION) throw new Error(`the server holds version ${assets.version}, not ${VERSION}`);
      return assets;
    };
    const assets = ofThisVersion(await (await fetch('assets.json', { cache: 'no-store' })).json());
    const cache = await caches.open(SHELL);
    try {
      // No size limit here: ONNX Runtime's 14 MB wasm must be offline too.
      await cache.addAll([...SHELL_FILES, ...assets.precache]);
      ofThisVersion(await (await cache.match('assets.json')).json());
      if (VERSION !== 'dev' && buildIn(await (await cache.match('index.html')).text()) !== VERSION) throw new Error('the page cached is of another version');
    } catch (e) {
      await caches.delete(SHELL);
      throw e;
    }
  })());
});

//-----------------------------------------------------------------------------
// [SECTION] Activate
//-----------------------------------------------------------------------------
self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys())
      if (name.startsWith('ldx-shell-') && name !== SHELL) await caches.delete(name);
    await self.clients.claim();
  })());
});

//-----------------------------------------------------------------------------
// [SECTION] Fetch
//-----------------------------------------------------------------------------
// Bundles are immutable (named by SHA-256): cache first. The models index and the page itself:
// network first, so updates are seen when online, with the last index seen and this version's
// copy of the page (shellFetch) as the offline fallback; the page's other files as shellFetch says.
// Metrics reports are never cached (the page queues them itself while offline). Requests to other
// origins — an EHR's FHIR server and token endpoint (smart.js) — are left to the browser, never
// cached; navigations (the EHR's redirect back, with its code in the address) are not stored.
self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/v1/bundles/')) {
    event.respondWith(cacheFirst(BUNDLES, event));
  } else if (url.pathname === '/api/v1/models') {
    event.respondWith(networkFirst(INDEX, event));
  } else if (url.pathname.startsWith('/api/')) {
    return;
  } else {
    event.respondWith(shellFetch(event));
  }
});

// Each fresh copy is stored while the page already reads the response (the worker stays alive
// for it), so a first download or the index's network round trip does not wait for the disk.
function keep(event, cache, req, res) {
  if (res.ok) event.waitUntil(cache.put(req, res.clone()).catch(() => {}));
}

async function cacheFirst(name, event) {
  const req = event.request;
  const cache = await caches.open(name);
  const hit = await cache.match(req, { ignoreVary: true });
  if (hit) return hit;
  const res = await fetch(req);
  keep(event, cache, req, res);
  return res;
}

async function networkFirst(name, event) {
  const req = event.request;
  const cache = await caches.open(name);
  try {
    const res = await fetch(req);
    keep(event, cache, req, res);
    return res;
  } catch (err) {
    const hit = await cache.match(req);
    if (hit) return hit;
    throw err;
  }
}

// The paths this version precached (SHELL_FILES and its assets.json's list, which it keeps),
// read once per start of this worker.
let precachedPaths = null;
function precached(cache) {
  if (!precachedPaths) {
    precachedPaths = cache.match('assets.json').then((res) => res.json())
      .then((a) => new Set([...SHELL_FILES, ...a.precache].map((p) => new URL(p, self.registration.scope).pathname)), () => new Set());
  }
  return precachedPaths;
}

// The build of each page this worker serves: client id -> Promise of the build's version (or null),
// read from the page as it arrives (its list of the app's files, inline in index.html: "version").
// Only the last few pages are remembered, and a worker started again remembers none: the files of
// a page it does not know (or a worker's, where the browser does not say which worker a request
// starts) take the network's path below, as a page of another build's do.
const builds = new Map();
const BUILDS_KEPT = 16;
function noteBuild(clientId, version) {
  if (!clientId) return;
  builds.delete(clientId);
  builds.set(clientId, version);
  for (const old of builds.keys()) { if (builds.size <= BUILDS_KEPT) break; builds.delete(old); }
}
const buildIn = (html) => (/<script type="application\/json" id="ldx-assets">[^<]*?"version":\s*"([0-9a-f]+)"/.exec(html) || [])[1] || null;

// The version a page names (buildIn), read from its response's copy only as far as the list of
// the app's files (in its head), or null.
async function buildOf(res) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (value) text += decoder.decode(value, { stream: true });
      const found = buildIn(text);
      if (found || done || text.includes('</head>')) return found;
    }
  } catch {
    return null;
  } finally {
    reader.cancel().catch(() => {});
  }
}

// The app's files: a content-named one (its name carries its hash, so it never changes) from the
// cache first, and kept once fetched (ONNX Runtime's WebGPU build, not precached, is kept on first
// use). So is every other file this version precached, asked for by a page of this worker's own
// build (the page as served named this version: its modules, styles and trust root are the ones
// this version precached, and a worker it starts is of its build too; the site's ehr.json, never
// precached, is not among them): on a repeat visit they come from the disk at once rather than
// waiting behind the network's round trips (docs/benchmarks.md). Any other (a page of another
// build: a newer one, fetched before its service worker takes over) from the network while online,
// and from this version's cache offline. A file this version precached is never stored again: a
// page offline runs the files of one build (a copy of a newer build's module would otherwise sit
// beside this build's page), and each response reaches the page without being read a second time
// by this worker (on a two-core machine, a visit's 20 modules stored again took the worker's thread
// most of the page's first 450 ms). One it did not precache (the site's ehr.json, the test hooks) is
// stored each time it is fetched, so offline it is the last one seen. A navigation is never stored
// (an EHR's redirect back carries its code in the address).
async function shellFetch(event) {
  const req = event.request;
  const cache = await caches.open(SHELL);
  const url = new URL(req.url);
  const hashed = /[.-][0-9a-f]{8,64}[./]/.test(url.pathname);
  const starts = req.destination === 'worker' || req.destination === 'sharedworker';  // a worker's script
  const ownBuild = !hashed && req.mode !== 'navigate' && (!starts || !!event.resultingClientId) &&
    (await (builds.get(event.clientId) || null)) === VERSION && (await precached(cache)).has(url.pathname);
  if (hashed || ownBuild) {
    const hit = await cache.match(req);
    if (hit) {
      if (ownBuild && event.resultingClientId) noteBuild(event.resultingClientId, Promise.resolve(VERSION));  // a worker it starts
      return hit;
    }
  }
  try {
    if (req.mode === 'navigate') {
      const res = await fetch(req);
      const html = res.ok && (res.headers.get('content-type') || '').startsWith('text/html');
      noteBuild(event.resultingClientId, html ? buildOf(res.clone()) : Promise.resolve(null));
      return res;
    }
    const [res, paths] = await Promise.all([fetch(req), precached(cache)]);
    if (res.ok && (hashed || !paths.has(url.pathname))) event.waitUntil(cache.put(req, res.clone()).catch(() => {}));
    return res;
  } catch (err) {
    const hit = await cache.match(req, { ignoreSearch: true }) || (req.mode === 'navigate' ? await cache.match('index.html') : undefined);
    if (hit) {
      if (req.mode === 'navigate') noteBuild(event.resultingClientId, Promise.resolve(VERSION));  // this version's own page
      return hit;
    }
    throw err;
  }
}
