// tests/bench/start_cpu.mjs WEB_DIR [RUNS] — where a cold visit's processor time goes: the CPU time
// of every thread of the Chromium this script launched (utime + stime from
// /proc/PID/task/TID/stat, read every 100 ms) between the page's own marks, for RUNS cold visits (a
// fresh profile each, 1 unless given) of the page assembled in WEB_DIR (scripts/assemble-web)
// against a server of its own with the demo's bundles.
// Three windows: navigation → the bundle verified (localdx:bundle-verified), → ONNX Runtime's
// session (localdx:onnx-session), → the checked result (localdx:load-check-done). Per window: its
// wall time, the CPU time of the browser's threads, and the threads that used most, named by
// their process's type and pid (the page's renderer, the shared worker's, the GPU process, the
// network service) and the thread's own name as /proc gives it (15 characters; a process's first
// thread is named "main thread"). A thread that ended within a window is not counted (its time
// is in neither reading); so is this script's own reading of /proc, printed per visit apart.
// With TYPING=1 in the environment the visit types into the form from the moment it appears, as
// bench_browser.mjs's visits do (first_result.mjs, typeWhileStarting).
// Linux only (/proc), and the machine otherwise idle: the browser's threads share its cores with
// whatever else runs.
//
// Environment as the browser tests' (tests/e2e/harness.mjs): LOCALDX_SOURCE_DIR,
// LOCALDX_SERVER_BIN, LOCALDX_CLI, LOCALDX_DEMO_DIR, LOCALDX_WEB_DIR, LOCALDX_DATA_DIR,
// LOCALDX_E2E_WORK.
//
// Index of this file
//   [SECTION] Threads' CPU time, from /proc
//   [SECTION] The visits, and each window's threads
import { readdirSync, readFileSync } from 'node:fs';
import { startServerWithDemo, launch } from '../e2e/harness.mjs';
import { openForm, askAtForm, firstResult, typeWhileStarting } from './first_result.mjs';

const [webDir, runsArg] = process.argv.slice(2);
if (!webDir) throw new Error('usage: start_cpu.mjs WEB_DIR [RUNS]');
const runs = Number(runsArg || 1);
const typing = process.env.TYPING === '1';

//-----------------------------------------------------------------------------
// [SECTION] Threads' CPU time
//-----------------------------------------------------------------------------
const TICK_MS = 1000 / 100;  // USER_HZ: 100 on Linux (getconf CLK_TCK)
const processKind = (cmdline) => {
  const type = (cmdline.match(/--type=([a-z-]+)/) || [, 'browser'])[1];
  return cmdline.includes('--utility-sub-type=network') ? 'network' : type;
};
// The fields of a /proc stat line from field 3 (state) on: the name, in brackets, may hold spaces.
const statFields = (stat) => stat.slice(stat.lastIndexOf(')') + 2).split(' ');

// The Chromium processes this script started (its descendants whose command line is Chromium's).
function ourChromium() {
  const parent = new Map();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try { parent.set(pid, statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'))[1]); } catch { /* ended */ }
  }
  const ours = (pid) => { for (let p = pid; p && p !== '0'; p = parent.get(p)) if (p === String(process.pid)) return true; return false; };
  const out = [];
  for (const pid of parent.keys()) {
    if (pid === String(process.pid) || !ours(pid)) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes('chromium')) out.push({ pid, kind: processKind(cmdline) });
    } catch { /* ended */ }
  }
  return out;
}
// Map of "pid/tid" -> { name: "<process kind>:<pid> <thread>", ms: CPU time so far } for every
// thread of those processes now running.
function threadTimes() {
  const out = new Map();
  for (const { pid, kind } of ourChromium()) {
    let tids = [];
    try { tids = readdirSync(`/proc/${pid}/task`); } catch { continue; }  // the process ended
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const thread = tid === pid ? 'main thread' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const fields = statFields(stat);  // utime and stime: fields 14 and 15
        out.set(`${pid}/${tid}`, { name: `${kind}:${pid} ${thread}`, ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS });
      } catch { /* the thread ended */ }
    }
  }
  return out;
}
// The CPU time each thread name used between two readings (threads in both, or new in the second).
function used(before, after) {
  const by = new Map();
  for (const [id, t] of after) {
    const ms = t.ms - (before.get(id)?.ms || 0);
    if (ms > 0) by.set(t.name, (by.get(t.name) || 0) + ms);
  }
  return by;
}

//-----------------------------------------------------------------------------
// [SECTION] The visits
//-----------------------------------------------------------------------------
const WINDOWS = [['navigation', null, 'bundle-verified'], ['the bundle verified', 'bundle-verified', 'onnx-session'],
  ["ONNX Runtime's session", 'onnx-session', 'load-check-done']];

// One cold visit: its first result, the marks (ms on the page's clock) and the readings taken
// meanwhile ([epoch ms, threadTimes()]; .own: this script's CPU time reading them).
async function coldVisit(browser, base) {
  const readings = [];
  readings.own = 0;  // ms of this process's CPU time spent reading /proc
  const timer = setInterval(() => {
    const before = process.cpuUsage();
    readings.push([Date.now(), threadTimes()]);
    const spent = process.cpuUsage(before);
    readings.own += (spent.user + spent.system) / 1000;
  }, 100);
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    await ctx.addInitScript(askAtForm);
    const page = await ctx.newPage();
    await page.waitForTimeout(2000);  // the browser's own start out of the way
    const field = await openForm(page, base);
    const asked = firstResult(page);  // throws when the first result is refused
    if (typing) await typeWhileStarting(page, field);
    const first = await asked;
    const { origin, marks } = await page.evaluate(() => ({ origin: performance.timeOrigin,
      marks: Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])) }));
    await page.waitForTimeout(200);
    return { first, origin, marks, readings };
  } finally {
    clearInterval(timer);
    await ctx.close();
  }
}

const server = await startServerWithDemo('start-cpu', webDir);
let browser = null;
try {
  browser = await launch();
  for (let run = 0; run < runs; run++) {
    const { first, origin, marks, readings } = await coldVisit(browser, server.base);
    console.log(`cold visit ${run + 1}${typing ? ', typing' : ''}: checked at ${Math.round(first.checked)} ms (${readings.length} readings of /proc, ${Math.round(readings.own)} ms of this script's CPU)`);
    const nearest = (t) => readings.reduce((b, r) => (Math.abs(r[0] - t) < Math.abs(b[0] - t) ? r : b));
    const at = (mark) => {
      if (mark === null) return origin;
      if (!(('localdx:' + mark) in marks)) throw new Error(`the page set no mark localdx:${mark}`);
      return origin + marks['localdx:' + mark];
    };
    for (const [name, from, to] of WINDOWS) {
      const [a, b] = [nearest(at(from)), nearest(at(to))];
      const by = [...used(a[1], b[1])].sort((x, y) => y[1] - x[1]);
      const all = by.reduce((s, [, ms]) => s + ms, 0);
      console.log(`  ${name} → ${to}: ${Math.round(b[0] - a[0])} ms wall, ${Math.round(all)} ms CPU`);
      for (const [thread, ms] of by.slice(0, 10)) console.log(`    ${String(Math.round(ms)).padStart(5)} ms  ${thread}`);
    }
  }
} finally {
  if (browser) await browser.close();
  server.stop();
}
