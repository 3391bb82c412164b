// web/smart.js — SMART App Launch 2.x (EHR launch and standalone) with the SMART project's own
// client (fhirclient, served from our origin), and the form filled from the patient's chart.
//
// Index of this file
//   [SECTION] The core's words (the app's core; on launch.html, the core's module loaded to say something)
//   [SECTION] The site's EHRs (ehr.json: which EHRs may launch LocalDx)
//   [SECTION] Launch (launch.html: checks, scopes, then the EHR's authorization page)
//   [SECTION] Return (the app's page: the token, the chart, the form)
//   [SECTION] Save to chart (RiskAssessment, or Observation for a score; only with a write scope and the site's consent)
//
// The access token lives in this page's memory: fhirclient keeps its state in sessionStorage
// only across the redirect, and it is removed as soon as the token is in hand. Nothing of the
// chart goes anywhere but the core in this page; FHIR requests go to the EHR only (the service
// worker leaves other origins alone).
'use strict';
import { page } from './page-state.js';
import { sentenceIn } from './answers.js';
import { compiledWasm } from './compile.js';

const $ = (id) => document.getElementById(id);

//-----------------------------------------------------------------------------
// [SECTION] The core's words
//-----------------------------------------------------------------------------
// Every sentence here is the core's (shared/client/page_words.h page_sentence), by id with the
// details that vary. On the app's page the app's core words it; launch.html has no app, so the
// core's own module (precached with the app) is loaded there, only once there is something to say:
// a launch that goes well leaves for the EHR without it.
let launchCore = null;
function coreForWords() {
  if (page.M) return Promise.resolve(page.M);
  launchCore ??= (async () => {
    const assets = await (await fetch('assets.json')).json();
    const wasm = compiledWasm(assets.core_wasm);
    const { default: createLocalDxCore } = await import('./' + assets.core_js);
    return Promise.race([createLocalDxCore({ instantiateWasm: wasm.instantiateWasm }), wasm.failed]);
  })();
  return launchCore;
}
const words = async (id, details = {}) => sentenceIn(await coreForWords(), id, details);

//-----------------------------------------------------------------------------
// [SECTION] The site's EHRs
//-----------------------------------------------------------------------------
// ehr.json, set by the site's administrator: {"ehrs": [{"iss", "client_id", "write_back"}]}. The
// server's Content-Security-Policy lets the page reach these EHRs' origins and nothing else.
async function siteEhrs() {
  const res = await fetch('ehr.json', { cache: 'no-store' });
  if (!res.ok) return [];
  return (await res.json()).ehrs || [];
}
const sameIss = (a, b) => String(a).replace(/\/+$/, '') === String(b).replace(/\/+$/, '');

//-----------------------------------------------------------------------------
// [SECTION] Launch
//-----------------------------------------------------------------------------
function randomState() {
  const b = crypto.getRandomValues(new Uint8Array(16));  // 128 bits (SMART asks for at least 122)
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// What "Save to chart" writes for a model of this kind (the core's fhir_result_type).
const resultType = (kind) => (kind === 'regression' ? 'Observation' : 'RiskAssessment');

// The resource types "Save to chart" would write for the launch's model (?model=, else the last
// one used), from the models index's `kind`; both when the model is not known here.
async function writeTypes(model) {
  try {
    const index = await (await fetch('/api/v1/models', { cache: 'no-store' })).json();
    const entry = ((index.signed || {}).models || []).find((m) => m.name === model);
    if (entry && entry.kind) return [resultType(entry.kind)];
  } catch { /* offline or no index: ask for both */ }
  return ['RiskAssessment', 'Observation'];
}

// The least the form needs: the patient and their Observations (read and search), and with the
// site's write-back the creation of what the model's result is written as. SMART v2 scopes when
// the server says permission-v2, else v1 (.read, .write).
function scopesFor(config, ehr, launch, write) {
  const v2 = (config.capabilities || []).includes('permission-v2');
  const read = v2 ? 'rs' : 'read', create = v2 ? 'c' : 'write';
  const s = [launch ? 'launch' : 'launch/patient', 'openid', 'fhirUser', `patient/Patient.${read}`, `patient/Observation.${read}`];
  if (ehr.write_back) for (const type of write) s.push(`patient/${type}.${create}`);
  return s.join(' ');
}

async function launchPage() {
  const say = async (id, details) => { $('launch-status').textContent = await words(id, details); };
  const q = new URLSearchParams(location.search);
  const iss = q.get('iss'), launch = q.get('launch'), model = q.get('model');
  try {
    if (!iss) return await say('ehr_no_iss');
    const ehr = (await siteEhrs()).find((e) => sameIss(e.iss, iss));
    if (!ehr) return await say('ehr_not_listed', { iss });
    const config = await (await fetch(iss.replace(/\/+$/, '') + '/.well-known/smart-configuration', { cache: 'no-store' })).json();
    if (!(config.code_challenge_methods_supported || []).includes('S256'))
      return await say('ehr_no_pkce', { iss, methods: (config.code_challenge_methods_supported || []).join(', ') });
    // The model for this launch; otherwise the last one used (the app's own choice).
    if (model) localStorage.setItem('ldx.model', JSON.stringify(model));
    const chosen = model || JSON.parse(localStorage.getItem('ldx.model') || 'null');
    const write = ehr.write_back ? await writeTypes(chosen) : [];
    await FHIR.oauth2.authorize({
      clientId: ehr.client_id, iss, launch: launch || undefined, scope: scopesFor(config, ehr, launch, write),
      redirectUri: new URL('./', location.href).href, pkceMode: 'required', stateKey: randomState(), completeInTarget: true,
    });
  } catch (e) {
    await say('ehr_launch_failed', { reason: String(e.message || e) }).catch(() => { $('launch-status').textContent = String(e.message || e); });
  }
}

//-----------------------------------------------------------------------------
// [SECTION] Return
//-----------------------------------------------------------------------------
let client = null;   // fhirclient's Client: the token, in this page's memory only

function loadFhirClient() {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = 'fhirclient/fhir-client.pure.min.js';
    s.onload = resolve;
    s.onerror = () => reject(Object.assign(new Error('SMART client not loaded'), { sentence: 'ehr_client_unloadable' }));
    document.head.appendChild(s);
  });
}

async function appReady() {
  await globalThis.localdx.ready;
  while (!globalThis.localdx.model()) await new Promise((r) => setTimeout(r, 100));
}

function forgetRedirectState() {
  const key = sessionStorage.getItem('SMART_KEY');
  if (key) sessionStorage.removeItem(JSON.parse(key));
  sessionStorage.removeItem('SMART_KEY');
  history.replaceState(null, '', location.pathname + location.hash);
}

async function returnPage() {
  const status = async (id, details) => globalThis.localdx.chartStatus(await words(id, details));
  let tokenError = null;
  try {
    await loadFhirClient();
    client = await FHIR.oauth2.ready();
  } catch (e) {
    tokenError = e;
  }
  forgetRedirectState();
  await appReady();
  if (tokenError) return tokenError.sentence ? status(tokenError.sentence) : status('ehr_token_failed', { reason: String(tokenError.message || tokenError) });
  const granted = String(client.state.tokenResponse.scope || '').split(' ');
  // v1 "read" or "*", or v2 permissions (in the order c r u d s) with read or search.
  const canRead = (type) => granted.some((s) => {
    const m = /^patient\/(\*|[A-Za-z]+)\.(.+)$/.exec(s);
    return m && (m[1] === '*' || m[1] === type) && (m[2] === 'read' || m[2] === '*' || (/^c?r?u?d?s?$/.test(m[2]) && /[rs]/.test(m[2])));
  });
  const patient = client.patient.id;
  if (!patient) return status('ehr_no_patient');
  for (const type of ['Patient', 'Observation'])
    if (!canRead(type)) return status('ehr_not_granted', { type, granted: granted.join(' ') });
  try {
    const schema = globalThis.localdx.model().schema;
    const codes = schema.fields.map((f) => (f.code && f.code.startsWith('LOINC:') ? 'http://loinc.org|' + f.code.slice(6) : 'urn:localdx:field|' + f.name));
    // Blood pressures are usually components of a panel (LOINC 85354-9), which a code search finds by the panel's code.
    if (codes.some((c) => /\|(8480-6|8462-4)$/.test(c))) codes.push('http://loinc.org|85354-9');
    const [p, observations] = await Promise.all([
      client.request(`Patient/${encodeURIComponent(patient)}`),
      client.request(`Observation?patient=${encodeURIComponent(patient)}&code=${encodeURIComponent(codes.join(','))}&_count=200`, { pageLimit: 0, flat: true }),
    ]);
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [p, ...observations].map((resource) => ({ resource })) };
    const r = globalThis.localdx.prefillFromChart(JSON.stringify(bundle));
    if (!r.ok) return status('ehr_chart_unreadable', { reason: r.problems.map((x) => x.message).join('; ') });
    await status('ehr_prefilled', { patient });
    // "Save to chart" only when the site allows write-back for this EHR and the EHR granted it:
    // the app offers it for a model whose result is one of these types.
    const ehr = (await siteEhrs()).find((e) => sameIss(e.iss, client.state.serverUrl));
    const canCreate = (type) => granted.some((s) => {
      const m = /^patient\/(\*|[A-Za-z]+)\.(.+)$/.exec(s);
      return m && (m[1] === '*' || m[1] === type) && (m[2] === 'write' || m[2] === '*' || (/^c?r?u?d?s?$/.test(m[2]) && m[2].includes('c')));
    });
    const types = ehr && ehr.write_back ? ['RiskAssessment', 'Observation'].filter(canCreate) : [];
    globalThis.localdx.chartWrite(types.join(' '));
  } catch (e) {
    await (e.status === 401 ? status('ehr_chart_token_refused') : status('ehr_chart_unreadable', { reason: String(e.message || e) }));
  }
}

//-----------------------------------------------------------------------------
// [SECTION] Save to chart
//-----------------------------------------------------------------------------
// The app shows what would be sent and sends it only when the clinician presses "Send to the
// chart" (wasm/app/views/patient_chart.cpp); the resource, with its time, is the core's (record/fhir.h
// fhir_result_resource) from the result as shown.
async function saveToChart(resourceJson) {
  const status = async (id, details) => globalThis.localdx.chartStatus(await words(id, details));
  try {
    const created = await client.create(JSON.parse(resourceJson));
    await status('ehr_saved', { resource: `${created.resourceType}/${created.id}` });
  } catch (e) {
    await (e.status === 401 ? status('ehr_save_token_refused') : status('ehr_not_saved', { reason: String(e.message || e) }));
  }
}
if (globalThis.localdxHost) globalThis.localdxHost.saveToChart = saveToChart;

if (document.getElementById('launch-status')) launchPage();
else if (new URLSearchParams(location.search).has('state') || new URLSearchParams(location.search).has('error')) returnPage();
