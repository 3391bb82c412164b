// tests/fhir/make_fhir.mjs SCHEMA.json DATA.csv OUT.json [--ndjson] [--labels] — the rows of a data set as
// FHIR R4, the way an EHR export holds them: one Patient per row (birthDate giving the age,
// gender giving a "sex" category), one Observation per measured value with its LOINC code and
// UCUM unit (a fractional age too; fields without a standard code use system urn:localdx:field), the diastolic
// pressure inside a blood-pressure panel (LOINC 85354-9) as a component, missing values simply
// absent. Used to check that FHIR input and CSV input give the same predictions. With --labels,
// each patient's outcome (the schema's label column) is an Observation coded urn:localdx:field, as
// a labelled validation file holds it.
import { readFileSync, writeFileSync } from 'node:fs';

const [schemaPath, csvPath, outPath, ...flags] = process.argv.slice(2);
const flag = flags.includes('--ndjson') ? '--ndjson' : '';
const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
const lines = readFileSync(csvPath, 'utf8').trim().split(/\r?\n/);
const header = lines[0].split(',');
const WHEN = '2024-03-15T09:00:00Z';
const coding = (f) => (f.code
  ? { system: f.code.startsWith('LOINC:') ? 'http://loinc.org' : 'http://snomed.info/sct', code: f.code.split(':')[1] }
  : { system: 'urn:localdx:field', code: f.name });
const resources = [];
lines.slice(1).forEach((line, i) => {
  const cells = line.split(',');
  const row = Object.fromEntries(header.map((h, j) => [h, cells[j]]));
  const id = `pt-${i + 1}`;
  const patient = { resourceType: 'Patient', id };
  const observations = [];
  for (const f of schema.fields) {
    const v = row[f.name];
    if (v === undefined || v === '' || v === 'NA') continue;
    // A whole age becomes a birthDate (the reader derives it); a fractional one stays an Observation.
    if (f.code === 'LOINC:30525-0' && Number.isInteger(Number(v))) { patient.birthDate = `${2024 - Number(v)}-01-20`; continue; }
    if (f.type === 'category' && (f.name === 'sex' || f.name === 'gender')) { patient.gender = v === 'f' ? 'female' : v === 'm' ? 'male' : v; continue; }
    const value = f.type === 'boolean' ? { valueBoolean: v === '1' || v === 'true' || v === 'yes' }
      : f.type === 'category' ? { valueCodeableConcept: { coding: [{ system: 'urn:localdx:field', code: v }] } }
      : f.type === 'integer' ? { valueInteger: Number(v) }
      : { valueQuantity: { value: Number(v), system: 'http://unitsofmeasure.org', code: f.unit || '1' } };
    if (f.code === 'LOINC:8462-4') {
      observations.push({ resourceType: 'Observation', id: `${id}-bp`, status: 'final', subject: { reference: `Patient/${id}` }, effectiveDateTime: WHEN,
        code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] }, component: [{ code: { coding: [coding(f)] }, ...value }] });
      continue;
    }
    observations.push({ resourceType: 'Observation', id: `${id}-${f.name}`, status: 'final', subject: { reference: `Patient/${id}` },
      effectiveDateTime: WHEN, code: { coding: [coding(f)] }, ...value });
  }
  const outcome = row[schema.outputs.column];
  if (flags.includes('--labels') && outcome !== undefined && outcome !== '' && outcome !== 'NA') {
    observations.push({ resourceType: 'Observation', id: `${id}-outcome`, status: 'final', subject: { reference: `Patient/${id}` },
      effectiveDateTime: WHEN, code: { coding: [{ system: 'urn:localdx:field', code: schema.outputs.column }] }, valueString: outcome });
  }
  resources.push(patient, ...observations);
});
const text = flag === '--ndjson'
  ? resources.map((r) => JSON.stringify(r)).join('\n') + '\n'
  : JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: resources.map((r) => ({ fullUrl: `urn:uuid:${r.id}`, resource: r })) });
writeFileSync(outPath, text);
console.log(`${outPath}: ${lines.length - 1} patients, ${resources.length} resources`);
