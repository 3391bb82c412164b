// tests/bench/side_by_side.mjs — two builds of the page (assembled web folders: a reference A and a
// change B) measured in the same minutes, as bench_start_ab.mjs and keys_running.mjs do: this
// machine's figures drift by more than a change between runs minutes apart.
//
// sideBySide(label, webA, webB, rounds, profile): a localdx-server for each folder with the demo
// bundles published (tests/e2e/harness.mjs, startServerWithDemo; each folder assembled with the
// trust root of those bundles), one browser; in each round a fresh profile (a new context) for each
// page, A then B, then B then A in the next round, and so on. Each context has the init scripts of
// first_result.mjs (instrumentFeel, askAtForm); `profile(context, base, name, round)` makes its
// visits (name 'A' or 'B', base the server's URL), and the context is closed after it. The servers
// and the browser are stopped when it returns or throws.
import { startServerWithDemo, launch } from '../e2e/harness.mjs';
import { instrumentFeel, askAtForm } from './first_result.mjs';

export async function sideBySide(label, webA, webB, rounds, profile) {
  const servers = {};
  let browser = null;
  try {
    for (const [name, web] of [['A', webA], ['B', webB]]) servers[name] = await startServerWithDemo(`${label}-${name}`, web);
    browser = await launch();
    for (let round = 0; round < rounds; round++) {
      for (const name of round % 2 ? ['B', 'A'] : ['A', 'B']) {
        const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
        try {
          await ctx.addInitScript(instrumentFeel);
          await ctx.addInitScript(askAtForm);
          await profile(ctx, servers[name].base, name, round);
        } finally {
          await ctx.close();
        }
      }
    }
  } finally {
    if (browser) await browser.close();
    for (const s of Object.values(servers)) s.stop();  // none left running when a visit fails
  }
}
