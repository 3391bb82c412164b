// tests/e2e/harness.mjs — a real localdx-server serving the real built page and the real demo
// bundles, and headless Chromium (Debian's) driven by playwright-core.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

const require = createRequire(path.join(process.env.LOCALDX_SOURCE_DIR, 'web/'));
export const { chromium } = require('playwright-core');
export const env = {
  server: process.env.LOCALDX_SERVER_BIN,
  cli: process.env.LOCALDX_CLI,
  source: process.env.LOCALDX_SOURCE_DIR,
  demo: process.env.LOCALDX_DEMO_DIR,
  web: process.env.LOCALDX_WEB_DIR,
  data: process.env.LOCALDX_DATA_DIR,
  work: process.env.LOCALDX_E2E_WORK,
  shots: process.env.LOCALDX_SCREENSHOTS,
};
export const TOKEN = 'e2e-token-0123456789abcdef';
export const OPERATOR_TOKEN = 'e2e-operator-token-0123456789abcdef';

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// options.port: the port to listen on (default: a free one); options.web: the PWA folder (default: env.web);
// options.args: more of the server's options.
export async function startServer(name, options = {}) {
  const dir = path.join(env.work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'token'), TOKEN + '\n');
  writeFileSync(path.join(dir, 'operator-tokens'), OPERATOR_TOKEN + '\n');
  const port = options.port ?? await freePort();
  const proc = spawn(env.server, ['--port', String(port), '--data', path.join(dir, 'data'), '--web', options.web ?? env.web,
    '--trust', path.join(env.demo, 'keys/trust.json'), '--index-key', path.join(env.demo, 'keys/signing-key.json'),
    '--token-file', path.join(dir, 'token'), '--operator-token-file', path.join(dir, 'operator-tokens'),
    '--rate-limit', '0', '--no-access-log', ...(options.args ?? [])], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(base + '/readyz')).ok) break; } catch { /* starting */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { base, port, dir, proc, stop: () => proc.kill('SIGTERM') };
}

// An operator's read of operations data (/metrics, /api/v1/drift): anonymous requests get 401.
export async function operatorGet(base, pathAndQuery) {
  return fetch(base + pathAndQuery, { headers: { Authorization: 'Bearer ' + OPERATOR_TOKEN } });
}

export async function publish(base, file) {
  const res = await fetch(base + '/api/v1/bundles', { method: 'POST', headers: { Authorization: 'Bearer ' + TOKEN, 'Content-Type': 'application/octet-stream' }, body: readFileSync(file) });
  return { status: res.status, body: await res.json() };
}

// A server of the page assembled in `web` with the demo's bundles published (each model's first
// version): the benches that set two builds of the page side by side (tests/bench/).
export async function startServerWithDemo(name, web) {
  const server = await startServer(name, { web: path.resolve(web) });
  for (const f of readdirSync(path.join(env.demo, 'bundles')).filter((n) => n.endsWith('-1.ldxb'))) {
    const r = await publish(server.base, path.join(env.demo, 'bundles', f));
    if (r.status !== 201) { server.stop(); throw new Error(`${f} was not published to ${name}: ${r.status}`); }
  }
  return server;
}

export const chromiumOptions = {
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--enable-unsafe-swiftshader', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
};

// The page's test and benchmark hooks (web/test-hooks.js) load only when this value is set before
// the page's scripts run (web/page.js): every context of launch()'s browser sets it; a context made
// otherwise (a persistent one, another browser) gets it from testHooks(context).
export async function testHooks(context) {
  await context.addInitScript(() => { globalThis.__localdxTestHooks = true; });
  return context;
}

// Chromium whose new contexts (and pages made with browser.newPage) load the test hooks.
export async function withTestHooks(browser) {
  const newContext = browser.newContext.bind(browser);
  browser.newContextWithoutHooks = newContext;  // a clinician's page (no test hooks)
  browser.newContext = async (options) => testHooks(await newContext(options));
  browser.newPage = async (options) => (await browser.newContext(options)).newPage();
  return browser;
}

// The test hooks are never precached (a clinician's page does not load them): a test that reloads
// offline has the service worker keep them first, by fetching them through it once it controls
// the page (web/sw.js keeps, once, each app file its cache does not hold).
export async function keepTestHooksOffline(page) {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30000 });
  await page.evaluate(async () => { if (!(await fetch('test-hooks.js')).ok) throw new Error('test-hooks.js was not served'); });
}

// ONNX Runtime in the page's own worker, as on a browser without shared workers (web/early.js), for
// a context's pages or one page: for a test that holds or blocks ONNX Runtime's files with
// Playwright's routes, which do not reach a shared worker's requests, or that needs ONNX Runtime
// started afresh while the shared worker still lives.
export async function ownOnnxWorker(contextOrPage) {
  await contextOrPage.addInitScript(() => { delete globalThis.SharedWorker; });
  return contextOrPage;
}

// Every file `match` (a Playwright route's glob, regular expression or URL predicate) names, served
// to `target` (a context or a page) as `rewrite(its text)` returns it, its status and headers as
// the server sent them. Resolves to a function that says whether any answer was changed (the text
// the rewrite looks for was found), so that a test can check that its change was served. A request
// still on its way when the test closes its context is dropped with it.
export async function servedRewritten(target, match, rewrite) {
  let changed = false;
  await target.route(match, async (route) => {
    try {
      const res = await route.fetch();
      const original = await res.text();
      const body = rewrite(original);
      changed ||= body !== original;
      await route.fulfill({ response: res, body });
    } catch (e) {
      if (!/has been disposed|has been closed/.test(e.message)) throw e;
    }
  });
  return () => changed;
}

// The batch worker's script (web/batch-worker.js) served to `context` so that, right after the
// statement `after` (one of its replies), it tells the page its ONNX Runtime files stopped arriving,
// as web/downloads.js's watch does: the page then ends that worker. Resolves to a function that
// says whether the script was served changed (`after` found in it).
export function batchWorkerEndingAfter(context, after) {
  return servedRewritten(context, '**/batch-worker.js',
    (text) => text.replace(after, `${after} self.postMessage({ type: 'stalled', ...workerProblem('files_stalled') });`));
}

// A proxy in front of TARGET (a server's base address) that holds back the downloads `slow(path)`
// names: true, as a network that hangs would (their head and first 64 KB pass, then nothing), or
// a number of ms to wait before answering at all (a proxy that scans a whole file first); any
// other value passes it. { base, stalled (how many it holds), delayed (how many it answered late),
// pass (no longer stalls new requests: those held stay held), close (ends those held, both ways) }. For what Playwright's routes do not reach (a shared worker's
// requests).
export async function stallingProxy(target, slow) {
  const upstream = new URL(target);
  const held = new Set(), upstreams = new Set();  // the answers held, and their servers' answers, paused
  let stalling = true, delayed = 0;
  const proxy = http.createServer((req, res) => {
    const plan = stalling ? slow(req.url) : false;
    const stall = plan === true;
    const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, async (answer) => {
      if (typeof plan === 'number') { await new Promise((r) => setTimeout(r, plan)); delayed += 1; }
      res.writeHead(answer.statusCode, answer.headers);
      if (!stall) { answer.pipe(res); return; }
      held.add(res);
      upstreams.add(answer);
      let sent = 0;
      answer.on('data', (chunk) => {
        if (sent < 65536) res.write(chunk.subarray(0, 65536 - sent));
        sent += chunk.length;
        if (sent >= 65536) answer.pause();
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${proxy.address().port}`,
    stalled: () => held.size,
    delayed: () => delayed,
    pass: () => { stalling = false; },
    close: () => { for (const r of [...held, ...upstreams]) r.destroy(); proxy.closeAllConnections(); proxy.close(); },
  };
}

export async function launch() {
  return withTestHooks(await chromium.launch(chromiumOptions));
}

export async function openApp(browser, base, { model = 'pima-diabetes', dpr = 1, context = null } = {}) {
  const ctx = context || await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: dpr });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/#model=${model}`);
  await page.evaluate(() => window.localdx.ready);
  await page.waitForFunction(() => window.localdx.model() !== null);
  return { ctx, page, errors };
}

// CSV text -> JSON records as a clinician's file would give them (missing cells left out).
export function csvRecords(text, skip = []) {
  const lines = text.trim().split(/\r?\n/);
  const header = lines[0].split(',');
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    const r = {};
    header.forEach((h, i) => { if (!skip.includes(h) && cells[i] !== 'NA' && cells[i] !== '') r[h] = cells[i]; });
    return r;
  });
}

export function cliPredict(bundle, input, out) {
  execFileSync(env.cli, ['predict', '--bundle', bundle, '--trust', path.join(env.demo, 'keys/trust.json'), '--input', input, '--explain', '--out', out]);
  return JSON.parse(readFileSync(out, 'utf8'));
}

// Clicks the canvas button whose rectangle is viewState() at keys (e.g. ['validate',
// 'open_button']) and returns the file chooser it opens. The rectangle is read only once the view
// has drawn it; on a loaded machine a click can land on a frame before the layout settles, so it
// is tried again (a few times) if no chooser opens.
export async function chooseFileWith(page, keys, tries = 4) {
  const rectAt = (k) => k.reduce((o, key) => (o ? o[key] : undefined), window.localdx.viewState());
  for (let i = 1; ; i++) {
    await page.waitForFunction(({ k }) => {
      const r = k.reduce((o, key) => (o ? o[key] : undefined), window.localdx.viewState());
      return r && r[2] > 0 && r[3] > 0;
    }, { k: keys }, { timeout: 20000 });
    const r = await page.evaluate(rectAt, keys);
    try {
      const [chooser] = await Promise.all([page.waitForEvent('filechooser', { timeout: 8000 }),
        page.mouse.click(r[0] + r[2] / 2, r[1] + r[3] / 2)]);
      return chooser;
    } catch (e) {
      if (i >= tries) throw e;
    }
  }
}
