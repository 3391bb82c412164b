// web/answers.js — the core's answers as the page, its workers and the EHR launch page read them:
// the one failure envelope, and the sentences the core words for them.
//
// Index of this file
//   [SECTION] The failure envelope {ok: false, problems: [{code, message, field?, row?, patient?}]}
//   [SECTION] The core's words (a problem or a status line, by id)
//
// The envelope is the core's (shared/base/json.h problems_envelope): nothing here builds one. A
// call that fails as a call (wasm/core/boundary.h), a refusal, and a worker's failed reply all
// carry it; an error thrown on its way keeps it (Refused.envelope).
'use strict';

//-----------------------------------------------------------------------------
// [SECTION] The failure envelope
//-----------------------------------------------------------------------------
export const isRefusal = (x) => !!x && x.ok === false && Array.isArray(x.problems) && x.problems.length > 0;

// An error that carries the core's envelope; its message is the problems' messages.
export class Refused extends Error {
  constructor(envelope) {
    super(envelope.problems.map((p) => p.message).join(' '));
    this.envelope = envelope;
  }
}

// A core or app call that failed as a call (a handle or value was due, the envelope came back)
// throws here, in the core's words, to the caller's own error path. (Calls that answer JSON text
// carry the same envelope; their callers read "ok".)
export const answered = (x) => {
  if (isRefusal(x)) throw new Refused(x);
  return x;
};

// What an error met on the way is, as the envelope: the core's own when it carried one, else the
// core's "page_fault" problem for `core` (the page's or a worker's module) with the error's text.
export const failureOf = (core, e) => (e && e.envelope) || problemIn(core, 'page_fault', String((e && e.message) || e));

//-----------------------------------------------------------------------------
// [SECTION] The core's words
//-----------------------------------------------------------------------------
// What only the page notices, as a problem the core words by id with the one detail that varies
// (shared/client/page_words.h page_problem): the envelope with that one problem.
export const problemIn = (core, id, detail = '') => JSON.parse(core.pageProblem(id, String(detail)));

// A status line that is not a refusal (a model ready, a file's timing, the printed footer, the EHR
// launch's messages), worded by the core by id from the details that vary (page_sentence). A fault
// of the page's (an unknown id, a missing detail) is said in the core's words too.
export function sentenceIn(core, id, details = {}) {
  const r = JSON.parse(core.pageSentence(id, JSON.stringify(details)));
  return r.ok ? r.text : r.problems[0].message;
}
