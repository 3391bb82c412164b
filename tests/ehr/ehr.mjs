// tests/ehr/ehr.mjs — a test EHR on loopback made of real parts, for LocalDx's SMART App Launch:
// oidc-provider (a certified OAuth 2 / OpenID Connect server: authorization code, PKCE S256,
// its own token endpoint) issuing SMART's launch context, and a small FHIR R4 server over fixture
// Patients and Observations built from the demo data sets, both on one origin of their own.
//
// Index of this file
//   [SECTION] Fixtures (Patients and Observations from the Pima data set)
//   [SECTION] Authorization server (oidc-provider, SMART launch context)
//   [SECTION] FHIR R4 server (read, search, create; bearer tokens checked with oidc-provider)
//   [SECTION] EHR pages (the launch of LocalDx from a chart: new window or iframe)
//   [SECTION] Start
//
// Why not @asymmetrik/node-fhir-server-core: its scope check
// (@asymmetrik/sof-scope-checker 1.0.7) knows only SMART v1 scopes (patient/Observation.read), so it
// would refuse the v2 scopes (patient/Observation.rs) a SMART 2.x app asks for; the few routes the
// launch needs are written here over fixtures, and every token they accept is oidc-provider's own.
import http from 'node:http';
import path from 'node:path';
import { randomBytes, generateKeyPairSync } from 'node:crypto';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';

const here = path.dirname(fileURLToPath(import.meta.url));
const webModules = path.join(here, '../../web/node_modules');

//-----------------------------------------------------------------------------
// [SECTION] Fixtures
//-----------------------------------------------------------------------------
const LOINC = 'http://loinc.org', UCUM = 'http://unitsofmeasure.org';
const day = 86400e3;
const isoDay = (t) => new Date(t).toISOString().slice(0, 10);

// A birth date that makes the patient `years` old today (and not on their birthday).
function birthDateFor(years, now = Date.now()) {
  const d = new Date(now - 40 * day);
  d.setUTCFullYear(d.getUTCFullYear() - years);
  return isoDay(d);
}

function quantity(id, patient, code, system, value, unit, when, extra = {}) {
  return { resourceType: 'Observation', id, status: 'final', subject: { reference: `Patient/${patient}` },
    code: { coding: [{ system, code }] }, effectiveDateTime: when,
    valueQuantity: { value, unit, system: UCUM, code: unit }, ...extra };
}

// Pima row (pregnant, glucose mg/dL, pressure, triceps, insulin, mass, pedigree, age) as a chart:
// glucose in mmol/L (the EHR's unit; LocalDx converts it to mg/dL), age as a birth date, the
// diastolic pressure inside a blood-pressure panel. `old`: the triceps from three years ago and a
// glucose in a unit no one can convert ('mg'), for the refusals.
export function pimaChart(id, row, { old = false, now = Date.now() } = {}) {
  const when = new Date(now - 2 * day).toISOString().slice(0, 19) + 'Z';
  const [pregnant, glucose, pressure, triceps, insulin, mass, pedigree, age] = row;
  const out = [{ resourceType: 'Patient', id, gender: 'female', birthDate: birthDateFor(age, now), name: [{ family: 'Test', given: [id] }] }];
  out.push({ resourceType: 'Observation', id: `${id}-preg`, status: 'final', subject: { reference: `Patient/${id}` },
    code: { coding: [{ system: LOINC, code: '11996-6' }] }, effectiveDateTime: when, valueInteger: pregnant });
  out.push(old ? quantity(`${id}-glu`, id, '1518-0', LOINC, glucose, 'mg', when)
    : quantity(`${id}-glu`, id, '1518-0', LOINC, Math.round((glucose / 18.0156) * 10) / 10, 'mmol/L', when));
  out.push({ resourceType: 'Observation', id: `${id}-bp`, status: 'final', subject: { reference: `Patient/${id}` },
    code: { coding: [{ system: LOINC, code: '85354-9' }] }, effectiveDateTime: when,
    component: [{ code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: { value: pressure + 45, system: UCUM, code: 'mm[Hg]' } },
      { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: { value: pressure, system: UCUM, code: 'mm[Hg]' } }] });
  const threeYears = new Date(now - 3 * 365 * day).toISOString().slice(0, 19) + 'Z';
  out.push(quantity(`${id}-tri`, id, '39106-0', LOINC, triceps / 10, 'cm', old ? threeYears : when));
  if (insulin !== null) out.push(quantity(`${id}-ins`, id, '1559-2', LOINC, insulin, 'u[IU]/mL', when));
  out.push(quantity(`${id}-bmi`, id, '39156-5', LOINC, mass, 'kg/m2', when));
  out.push(quantity(`${id}-ped`, id, 'pedigree', 'urn:localdx:field', pedigree, '1', when));
  return out;
}

// A diabetes-progression row (age, sex, bmi, map, tc, ldl, hdl, tc_hdl, triglycerides, glucose)
// as a chart, each value coded as the schema says (LOINC; the study's sex code as urn:localdx:field).
export function progressionChart(id, row, { now = Date.now() } = {}) {
  const when = new Date(now - 2 * day).toISOString().slice(0, 19) + 'Z';
  const [age, sex, bmi, map, tc, ldl, hdl, tcHdl, tg, glucose] = row;
  const q = (name, code, value, unit) => quantity(`${id}-${name}`, id, code, LOINC, value, unit, when);
  return [
    { resourceType: 'Patient', id, birthDate: birthDateFor(age, now), name: [{ family: 'Test', given: [id] }] },
    { resourceType: 'Observation', id: `${id}-sex`, status: 'final', subject: { reference: `Patient/${id}` },
      code: { coding: [{ system: 'urn:localdx:field', code: 'sex' }] }, effectiveDateTime: when, valueString: String(sex) },
    q('bmi', '39156-5', bmi, 'kg/m2'), q('map', '8478-0', map, 'mm[Hg]'), q('tc', '2093-3', tc, 'mg/dL'),
    q('ldl', '2089-1', ldl, 'mg/dL'), q('hdl', '2085-9', hdl, 'mg/dL'), q('tchdl', '9830-1', tcHdl, '1'),
    q('tg', '2571-8', tg, 'mg/dL'), q('glu', '2345-7', glucose, 'mg/dL'),
  ];
}

// The first rows of a demo CSV as numbers (NA -> null), complete rows only.
export function csvRows(csvPath, cols, n = 2) {
  const lines = readFileSync(csvPath, 'utf8').trim().split(/\r?\n/);
  const header = lines[0].split(',');
  const at = cols.map((c) => header.indexOf(c));
  const rows = [];
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    const row = at.map((j) => (cells[j] === 'NA' || cells[j] === '' ? null : Number(cells[j])));
    if (row.some((v) => v === null)) continue;
    rows.push(row);
    if (rows.length === n) break;
  }
  return rows;
}

// The first rows of the Pima CSV (the demo data set) as numbers; NA -> null.
export function pimaRows(csvPath, n = 2) {
  const lines = readFileSync(csvPath, 'utf8').trim().split(/\r?\n/);
  const header = lines[0].split(',');
  const cols = ['pregnant', 'glucose', 'pressure', 'triceps', 'insulin', 'mass', 'pedigree', 'age'].map((c) => header.indexOf(c));
  const rows = [];
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    const row = cols.map((j) => (cells[j] === 'NA' || cells[j] === '' ? null : Number(cells[j])));
    if (row.some((v, k) => v === null && k !== 4)) continue;  // complete rows only (insulin may be absent)
    rows.push(row);
    if (rows.length === n) break;
  }
  return rows;
}

//-----------------------------------------------------------------------------
// [SECTION] Authorization server
//-----------------------------------------------------------------------------
const READ = ['patient/Patient.rs', 'patient/Observation.rs', 'patient/Patient.read', 'patient/Observation.read'];
const WRITE = ['patient/RiskAssessment.c', 'patient/RiskAssessment.write', 'patient/Observation.c', 'patient/Observation.write'];

async function makeProvider(ehr) {
  const { default: Provider, errors } = await import(pathToFileURL(path.join(webModules, 'oidc-provider/lib/index.js')).href);
  const provider = new Provider(ehr.origin, {
    clients: [{ client_id: ehr.clientId, token_endpoint_auth_method: 'none', redirect_uris: ehr.redirectUris,
      grant_types: ['authorization_code'], response_types: ['code'] }],
    scopes: ['openid', 'fhirUser', 'launch', 'launch/patient'],
    claims: { fhirUser: ['fhirUser'], openid: ['sub'] },
    findAccount: (ctx, id) => ({ accountId: id, claims: () => ({ sub: id, fhirUser: `${ehr.fhirBase}/Practitioner/${id}` }) }),
    cookies: { keys: [randomBytes(32).toString('hex')] },
    jwks: { keys: [{ ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), use: 'sig', kid: 'test-ehr' }] },
    pkce: { required: () => true },
    ttl: { AccessToken: () => ehr.options.tokenSeconds || 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
    clientBasedCORS: (ctx, origin) => ehr.appOrigins.includes(origin),
    extraParams: {
      launch(ctx, value) {
        if (value !== undefined && !ehr.launches.has(value)) throw new errors.InvalidRequest('this EHR did not start that launch (unknown launch)');
      },
      aud(ctx, value) {
        if (value !== ehr.audience) throw new errors.InvalidRequest(`aud must be this EHR's FHIR server (${ehr.audience}), not ${value || 'missing'}`);
      },
    },
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => ehr.fhirBase,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => {
          if (resource !== ehr.fhirBase) throw new errors.InvalidTarget();
          return { scope: [...READ, ...WRITE].join(' '), audience: ehr.fhirBase, accessTokenFormat: 'opaque',
            accessTokenTTL: ehr.options.tokenSeconds || 3600 };
        },
      },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  });
  // SMART's launch context goes out with the token (oidc-provider's token endpoint answered it).
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && ctx.status === 200 && ctx.body && ctx.body.access_token) {
      const token = await provider.AccessToken.find(ctx.body.access_token);
      const context = token && ehr.grants.get(token.grantId);
      if (context) ctx.body.patient = context.patient;
    }
  });
  return provider;
}

// The clinician is signed in to the EHR already: the interaction signs them in and grants what the
// app asked for, less what the EHR's policy denies (options.deny).
async function interaction(ehr, req, res) {
  const details = await ehr.provider.interactionDetails(req, res);
  const { params } = details;
  const accountId = 'clinician-1';
  const launch = params.launch ? ehr.launches.get(params.launch) : null;
  const patient = launch ? launch.patient : ehr.options.standalonePatient;
  const grant = new ehr.provider.Grant({ accountId, clientId: params.client_id });
  const asked = String(params.scope || '').split(' ').filter(Boolean);
  ehr.asked.push(asked);
  const allowed = (s) => !(ehr.options.deny || []).includes(s);
  grant.addOIDCScope(asked.filter((s) => ['openid', 'fhirUser', 'launch', 'launch/patient'].includes(s)).join(' '));
  grant.addResourceScope(ehr.fhirBase, asked.filter((s) => [...READ, ...WRITE].includes(s) && allowed(s)).join(' '));
  const denied = asked.filter((s) => !allowed(s));
  if (denied.length) grant.rejectResourceScope(ehr.fhirBase, denied.join(' '));  // decided: not asked again
  const grantId = await grant.save();
  ehr.grants.set(grantId, { patient });
  await ehr.provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

//-----------------------------------------------------------------------------
// [SECTION] FHIR R4 server
//-----------------------------------------------------------------------------
function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/fhir+json', 'Cache-Control': 'no-store', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}
const outcome = (code, text) => ({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics: text }] });

function smartConfiguration(ehr) {
  return {
    issuer: ehr.origin, authorization_endpoint: `${ehr.origin}/auth`, token_endpoint: `${ehr.origin}/token`,
    jwks_uri: `${ehr.origin}/jwks`, grant_types_supported: ['authorization_code'], response_types_supported: ['code'],
    token_endpoint_auth_methods_supported: ['none'],
    scopes_supported: ['openid', 'fhirUser', 'launch', 'launch/patient', ...READ, ...WRITE],
    code_challenge_methods_supported: ehr.options.noS256 ? [] : ['S256'],
    capabilities: ['launch-ehr', 'launch-standalone', 'client-public', 'context-ehr-patient', 'context-standalone-patient',
      'permission-patient', ...(ehr.options.v1Only ? ['permission-v1'] : ['permission-v2']), 'sso-openid-connect'],
  };
}

// The scopes of a token allow `interaction` ('read' | 'create') on `type`: SMART v2 (.rs, .c) or v1.
function permits(scopes, type, interaction) {
  return scopes.some((s) => {
    const m = /^patient\/(\*|[A-Za-z]+)\.(.+)$/.exec(s);
    if (!m || (m[1] !== '*' && m[1] !== type)) return false;
    if (m[2] === 'read') return interaction === 'read';
    if (m[2] === 'write' || m[2] === '*') return true;
    return interaction === 'read' ? /[rs]/.test(m[2]) && /^c?r?u?d?s?$/.test(m[2]) : m[2].includes('c') && /^c?r?u?d?s?$/.test(m[2]);
  });
}

async function fhir(ehr, req, res, url) {
  const cors = { 'Access-Control-Allow-Origin': ehr.appOrigins.includes(req.headers.origin) ? req.headers.origin : 'null', Vary: 'Origin' };
  const rel = url.pathname.slice(ehr.fhirPath.length);
  if (req.method === 'OPTIONS')
    return send(res, 204, '', { ...cors, 'Access-Control-Allow-Methods': 'GET, POST', 'Access-Control-Allow-Headers': 'Authorization, Content-Type, Accept', 'Access-Control-Max-Age': '60' });
  if (rel === '/.well-known/smart-configuration') return send(res, 200, smartConfiguration(ehr), { ...cors, 'Content-Type': 'application/json' });
  if (rel === '/metadata')
    return send(res, 200, { resourceType: 'CapabilityStatement', status: 'active', kind: 'instance', fhirVersion: '4.0.1', format: ['json'],
      rest: [{ mode: 'server', resource: ['Patient', 'Observation', 'RiskAssessment'].map((type) => ({ type })) }] }, cors);
  // A slow EHR (options.delayMs): the token is checked only once the delay is over.
  if (ehr.options.delayMs) await new Promise((r) => setTimeout(r, ehr.options.delayMs));
  const auth = /^Bearer (.+)$/.exec(req.headers.authorization || '');
  const token = auth && await ehr.provider.AccessToken.find(auth[1]);
  // find() hands back an opaque token past its exp too: the resource server checks expiry itself.
  if (!token || token.isExpired) return send(res, 401, outcome('login', 'the access token is expired or unknown'), { ...cors, 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  const scopes = String(token.scope || '').split(' ');
  const patient = (ehr.grants.get(token.grantId) || {}).patient;
  ehr.log.push({ method: req.method, path: rel + url.search });
  let m;
  if (req.method === 'GET' && (m = /^\/Patient\/([^/]+)$/.exec(rel))) {
    if (!permits(scopes, 'Patient', 'read')) return send(res, 403, outcome('forbidden', 'the token does not allow reading Patient'), cors);
    if (m[1] !== patient) return send(res, 403, outcome('forbidden', 'not the patient of this launch'), cors);
    const p = ehr.resources.find((r) => r.resourceType === 'Patient' && r.id === m[1]);
    return p ? send(res, 200, p, cors) : send(res, 404, outcome('not-found', 'no such Patient'), cors);
  }
  if (req.method === 'GET' && rel === '/Observation') {
    if (!permits(scopes, 'Observation', 'read')) return send(res, 403, outcome('forbidden', 'the token does not allow reading Observation'), cors);
    const subject = (url.searchParams.get('patient') || url.searchParams.get('subject') || '').replace(/^Patient\//, '');
    if (subject !== patient) return send(res, 403, outcome('forbidden', 'not the patient of this launch'), cors);
    const codes = (url.searchParams.get('code') || '').split(',').filter(Boolean);
    // FHIR's `code` search parameter: Observation.code only (a panel's components are not searched).
    const matches = (o) => !codes.length || o.code.coding.some((c) => codes.includes(`${c.system}|${c.code}`) || codes.includes(c.code));
    const found = ehr.resources.filter((r) => r.resourceType === 'Observation' && r.subject.reference === `Patient/${patient}` && matches(r));
    return send(res, 200, { resourceType: 'Bundle', type: 'searchset', total: found.length,
      entry: found.map((r) => ({ fullUrl: `${ehr.fhirBase}/Observation/${r.id}`, resource: r, search: { mode: 'match' } })) }, cors);
  }
  if (req.method === 'POST' && (m = /^\/(RiskAssessment|Observation)$/.exec(rel))) {
    const type = m[1];
    if (!permits(scopes, type, 'create')) return send(res, 403, outcome('forbidden', `the token does not allow creating ${type}`), cors);
    let body = '';
    for await (const chunk of req) body += chunk;
    let r;
    try { r = JSON.parse(body); } catch { return send(res, 400, outcome('invalid', 'not JSON'), cors); }
    if (r.resourceType !== type || (r.subject || {}).reference !== `Patient/${patient}`)
      return send(res, 400, outcome('invalid', `a ${type} about the patient of this launch is expected`), cors);
    r.id = `${type === 'RiskAssessment' ? 'ra' : 'obs'}-${ehr.created.length + 1}`;
    ehr.created.push(r);
    return send(res, 201, r, { ...cors, Location: `${ehr.fhirBase}/${type}/${r.id}`, 'Access-Control-Expose-Headers': 'Location' });
  }
  return send(res, 404, outcome('not-supported', `${req.method} ${rel} is not supported by this test EHR`), cors);
}

//-----------------------------------------------------------------------------
// [SECTION] EHR pages
//-----------------------------------------------------------------------------
// /ehr/launch?patient=ID&mode=window|iframe|link[&model=NAME][&iss=...]: the chart's "LocalDx" button.
function ehrPage(ehr, res, url) {
  const launch = randomBytes(16).toString('hex');
  ehr.launches.set(launch, { patient: url.searchParams.get('patient') });
  const target = new URL('launch.html', ehr.appUrl);
  target.searchParams.set('iss', url.searchParams.get('iss') || ehr.fhirBase);
  target.searchParams.set('launch', launch);
  if (url.searchParams.get('model')) target.searchParams.set('model', url.searchParams.get('model'));
  const mode = url.searchParams.get('mode') || 'window';
  if (mode === 'window') { res.writeHead(302, { Location: target.href }); return res.end(); }
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  const body = mode === 'iframe'
    ? `<iframe id="app" src="${esc(target.href)}" style="width:1200px;height:760px;border:0"></iframe>`
    : `<a id="open" href="${esc(target.href)}" target="_blank" rel="opener">Open LocalDx</a>`;
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`<!doctype html><html><head><title>Test EHR — chart</title></head><body><h1>Chart of ${esc(url.searchParams.get('patient') || '')}</h1>${body}</body></html>`);
}

//-----------------------------------------------------------------------------
// [SECTION] Start
//-----------------------------------------------------------------------------
// appUrl: where LocalDx is served (its launch.html and its redirect URI, the app's root).
// options: {tokenSeconds, deny: [scopes], noS256, delayMs (before each FHIR request is answered),
// standalonePatient, v1Only (capabilities say permission-v1, not -v2)}; ehr.audience: what aud must
// be (the FHIR base unless changed); ehr.asked: the scopes of each authorization request.
export async function startEhr({ appUrl, port = 0, resources = [], options = {}, clientId = 'localdx' }) {
  const server = http.createServer();
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const appOrigin = new URL(appUrl).origin;
  const ehr = {
    origin, appUrl, appOrigins: [appOrigin], clientId, redirectUris: [new URL('./', appUrl).href],
    fhirPath: '/fhir', fhirBase: `${origin}/fhir`, resources, options, launches: new Map(), grants: new Map(),
    created: [], log: [], asked: [], server,
  };
  ehr.audience = options.audience || ehr.fhirBase;
  ehr.provider = await makeProvider(ehr);
  ehr.provider.proxy = false;
  const callback = ehr.provider.callback();
  server.on('request', async (req, res) => {
    const url = new URL(req.url, origin);
    try {
      if (url.pathname.startsWith(ehr.fhirPath + '/') || url.pathname === ehr.fhirPath) return await fhir(ehr, req, res, url);
      if (url.pathname.startsWith('/interaction/')) return await interaction(ehr, req, res);
      if (url.pathname === '/ehr/launch') return ehrPage(ehr, res, url);
      return callback(req, res);
    } catch (e) {
      if (!res.headersSent) send(res, 500, outcome('exception', e.message));
    }
  });
  ehr.stop = () => new Promise((r) => { server.closeAllConnections(); server.close(r); });
  return ehr;
}

// scripts/ehr: node tests/ehr/ehr.mjs APP_URL PIMA_CSV [PORT]
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const [appUrl, csv, port] = process.argv.slice(2);
  const rows = pimaRows(csv, 2);
  const resources = [...pimaChart('pima-1', rows[0]), ...pimaChart('pima-2', rows[1], { old: true })];
  const progression = path.join(path.dirname(csv), 'diabetes-progression.csv');  // the demo data beside it
  if (existsSync(progression))
    resources.push(...progressionChart('dp-1', csvRows(progression, ['age', 'sex', 'bmi', 'map', 'tc', 'ldl', 'hdl', 'tc_hdl', 'triglycerides', 'glucose'], 1)[0]));
  const ehr = await startEhr({ appUrl, port: Number(port || 0), resources, options: { standalonePatient: 'pima-1' } });
  console.log(`Test EHR at ${ehr.origin} (FHIR ${ehr.fhirBase}), for LocalDx at ${appUrl}`);
  console.log(`  EHR launch, this window goes to LocalDx: ${ehr.origin}/ehr/launch?patient=pima-1&model=pima-diabetes`);
  console.log(`  EHR launch, a new window: ${ehr.origin}/ehr/launch?patient=pima-1&mode=link`);
  console.log(`  EHR launch, in an iframe: ${ehr.origin}/ehr/launch?patient=pima-1&mode=iframe`);
  console.log(`  EHR launch of a regression model (Save to chart writes an Observation): ${ehr.origin}/ehr/launch?patient=dp-1&model=diabetes-progression`);
  console.log(`  standalone launch: ${new URL('launch.html', appUrl).href}?iss=${encodeURIComponent(ehr.fhirBase)}`);
  console.log(`  LocalDx's ehr.json must list: {"ehrs": [{"iss": "${ehr.fhirBase}", "client_id": "localdx"}]}`);
}
