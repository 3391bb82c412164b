// tests/bench/start_cpu.mjs WEB_DIR [RUNS] — where a cold visit's processor time goes: every
// Chromium thread's CPU time (utime + stime from /proc/PID/task/TID/stat, read every 50 ms) between
// the page's own marks, for RUNS cold visits (a fresh profile each, 1 unless given) of the page
// assembled in WEB_DIR (scripts/assemble-web) against a server of its own with the demo's bundles.
// Three windows: navigation → the bundle verified (localdx:bundle-verified), → ONNX Runtime's
// session (localdx:onnx-session), → the checked result (localdx:load-check-done). Per window: its
// wall time, the CPU time of all the browser's threads, and the threads that used most, named by
// their process's type and pid (the page's renderer, the shared worker's, the GPU process, the
// network service) and the thread's own name as /proc gives it (15 characters; a process's first
// thread is named "main thread").
// With TYPING=1 in the environment the visit types into the form from the moment it appears, as
// bench_browser.mjs's visits do (first_result.mjs, typeWhileStarting).
// Linux only (/proc); the machine should be otherwise idle: the figures are the whole machine's.
//
// Index of this file
//   [SECTION] Threads' CPU time, from /proc
//   [SECTION] The visits, and each window's threads
import { readdirSync, readFileSync } from 'node:fs';
import { startServerWithDemo, launch } from '../e2e/harness.mjs';
import { openForm, askAtForm, firstResult, typeWhileStarting } from './first_result.mjs';

const [webDir, runsArg] = process.argv.slice(2);
if (!webDir) { console.error('usage: start_cpu.mjs WEB_DIR [RUNS]'); process.exit(2); }
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
// Map of "pid/tid" -> { name: "<process kind>:<pid> <thread>", ms: CPU time so far } for every
// thread of every Chromium process now running.
function threadTimes() {
  const out = new Map();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmdline.includes('chromium')) continue;
      const kind = processKind(cmdline);
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const thread = tid === pid ? 'main thread' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');  // from field 3 (state) on
        out.set(`${pid}/${tid}`, { name: `${kind}:${pid} ${thread}`, ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS });
      }
    } catch { /* a process or thread that ended meanwhile */ }
  }
  return out;
}
// The CPU time each thread name used between two readings.
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

const server = await startServerWithDemo('start-cpu', webDir);
const browser = await launch();
try {
  for (let run = 0; run < runs; run++) {
    const readings = [];  // [epoch ms, threadTimes()]
    const timer = setInterval(() => readings.push([Date.now(), threadTimes()]), 50);
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await ctx.addInitScript(askAtForm);
    const page = await ctx.newPage();
    await page.waitForTimeout(2000);  // the browser's own start out of the way
    const field = await openForm(page, server.base);
    const asked = firstResult(page);
    if (typing) await typeWhileStarting(page, field);
    const first = await asked;
    if (!first.ok) throw new Error(`the first result: ${first.why}`);
    const { origin, marks } = await page.evaluate(() => ({ origin: performance.timeOrigin,
      marks: Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])) }));
    await page.waitForTimeout(200);
    clearInterval(timer);
    await ctx.close();
    const nearest = (t) => readings.reduce((b, r) => (Math.abs(r[0] - t) < Math.abs(b[0] - t) ? r : b));
    console.log(`cold visit ${run + 1}${typing ? ', typing' : ''}: checked at ${Math.round(first.checked)} ms`);
    for (const [name, from, to] of WINDOWS) {
      const [a, b] = [nearest(origin + (from ? marks['localdx:' + from] : 0)), nearest(origin + marks['localdx:' + to])];
      const by = [...used(a[1], b[1])].sort((x, y) => y[1] - x[1]);
      const all = by.reduce((s, [, ms]) => s + ms, 0);
      console.log(`  ${name} → ${to}: ${Math.round(b[0] - a[0])} ms wall, ${Math.round(all)} ms CPU`);
      for (const [thread, ms] of by.slice(0, 10)) console.log(`    ${String(Math.round(ms)).padStart(5)} ms  ${thread}`);
    }
  }
} finally {
  await browser.close();
  server.stop();
}
