// tests/bench/merge.mjs OUT native.json wasm-node.json browser.json server.json store.json imaging.json torch.json — one
// results file, with the browser figures set against XGBoost's native figures (images: PyTorch's)
// from the same run, and a printed table.
import { readFileSync, writeFileSync } from 'node:fs';
const [out, ...inputs] = process.argv.slice(2);
const all = Object.assign({}, ...inputs.map((f) => JSON.parse(readFileSync(f, 'utf8'))));
for (const [name, e] of Object.entries(all)) {
  const m = name.match(/^(.*)\.(wasm|page)\.(explain_one_p50|explain_one_p99|validate_predict_explain_check_p50|validate_predict_explain_check_p99|batch_10k_explained|batch_10k_explained_page_clock)$/);
  if (!m) continue;
  const key = m[3].includes('10k') ? 'explain_10k' : m[3].endsWith('p99') ? 'explain_one_p99' : 'explain_one_p50';
  // The sweep's native batch is 2,000 patients: XGBoost's time for 10,000 is taken as 5 times it.
  const native = all[`${m[1]}.native.${key}`] ||
    (key === 'explain_10k' && all[`${m[1]}.native.explain_2000`] && { reference: 5 * all[`${m[1]}.native.explain_2000`].reference });
  if (native && native.reference) { e.reference = native.reference; e.ratio = e.value / e.reference; }
}
// One image with its heat map against PyTorch (one thread) doing the same work in the same run.
for (const [name, ref] of [['imaging.image_map_p50', 'torch.image_map_p50'], ['imaging.image_map_deletion_p50', 'torch.image_map_deletion_p50'],
  ['imaging.image_shown_page_p50', 'torch.image_map_p50'], ['imaging.image_page_p50', 'torch.image_map_deletion_p50']])
  if (all[name] && all[ref]) { all[name].reference = all[ref].value; all[name].ratio = all[name].value / all[ref].value; }
writeFileSync(out, JSON.stringify(all, null, 2) + '\n');
console.log('\n| measurement | value | unit | reference (same run: XGBoost native, or PyTorch for images) | ratio |\n|---|---:|---|---:|---:|');
for (const [name, e] of Object.entries(all))
  console.log(`| ${name} | ${e.value.toFixed(4)} | ${e.unit} | ${e.reference !== undefined ? e.reference.toFixed(4) : ''} | ${e.ratio !== undefined ? e.ratio.toFixed(3) : ''} |`);
