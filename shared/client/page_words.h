// shared/client/page_words.h — the sentences the page shows that only the page can notice.
//
// Index of this file
//   [SECTION] Problems the page meets (a table of messages by id)
//   [SECTION] Status lines the page shows (a table of sentences by id, with named details)
//
// Most of what a clinician reads comes with the core's own answers. A few things happen only in
// the browser: it cannot decode an image, ONNX Runtime fails or disagrees with the core, a worker
// stops. The page builds no sentence for them: it asks the core (binding pageProblem) for the
// problem by its id, giving the one detail that varies (a number, the browser's own error text),
// and shows the envelope it gets back like any other refusal.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Problems the page meets
//-----------------------------------------------------------------------------
// Ids and what they say (`detail` fills the gap, when the sentence has one):
//   image_undecodable  bad_image      the browser cannot decode a PNG or JPEG file
//   model_not_used     check_failed   a model that failed its load check, asked for a result
//   model_disagrees    check_failed   the ONNX file and the trees disagree; detail: the difference
//   onnx_failed        check_failed   ONNX Runtime cannot run the model; detail: its error
//   table_disagrees    check_failed   a batch table withheld; detail: the difference
//   onnx_stopped       check_failed   ONNX Runtime's worker stopped before it answered (the next call starts it again)
//   onnx_stalled       check_failed   ONNX Runtime's files stopped arriving (its worker closed; a reload fetches them)
//   files_stalled      check_failed   the batch worker's ONNX Runtime files stopped arriving (that worker ended; the
//                                     next file or images opened start a new one, which fetches them)
//   onnx_unavailable   onnx_failed    the batch worker's ONNX Runtime cannot open the model; detail: its error
//   batch_withheld     withheld       a batch the worker could not finish; detail: the core's reason
//   worker_refused     bad_bundle     the batch worker refused the bundle; detail: its reason
//   bundle_offline     offline        a model never opened on this device, asked for offline
//   bundle_download    download_failed  the model file's download failed; detail: the HTTP status
//   index_unreachable  offline        the list of models cannot be reached and none was kept
//   index_refused      bad_index      the list of models was refused; detail: the core's reason
//   no_models          no_models      the list of models names none
//   no_model           no_model       asked to predict or score before a model is loaded
//   not_imaging        not_imaging    images given to a model that reads none
//   clipboard_denied   clipboard_denied  the browser refused to copy
//   render_worker_failed   display_failed  the render worker cannot draw; the tab draws on the page once reloaded
//   render_worker_refused  display_failed  the same, where the tab cannot remember it (its storage refused)
//   page_fault         internal       an unexpected error in the page; detail: its text
// A difference is given as a number's text ("0.00031"): it is written "3.10e-04" (not finite or
// not a number: "a number that is not finite"). An unknown id is itself a problem ("internal").
Problem page_problem(std::string_view id, std::string_view detail = {});

//-----------------------------------------------------------------------------
// [SECTION] Status lines the page shows
//-----------------------------------------------------------------------------
// What the page says that is not a refusal (a model ready, how long a file took, the printed
// page's footer, the EHR launch's messages): by id, with the details that vary as a JSON object
// ({"ms": 812.4, "threads": 2}). Each {name} in the words is the detail of that name:
//   ms, i, n       a whole number (rounded; a count or milliseconds)
//   difference     a number in the notation of the problems above ("3.10e-04")
//   anything else  text (a string, or a number as JSON writes it), made printable, at most 500 bytes;
//                  {name|fallback} says `fallback` when the detail is empty
// Ids (the words themselves are in page_words.cpp's table):
//   model_ready, model_source_server, model_source_offline      the model bar and its announcement
//   batch_scored, batch_scored_two_threads, batch_scored_onnx,  the batch view's timing lines
//   batch_checked
//   images_scoring                                              the progress of a folder of images
//   print_footer                                                the printed result's footer
//   form_as_typed                                               above the form's values, when the page cannot draw
//   ehr_no_iss, ehr_not_listed, ehr_no_pkce, ehr_launch_failed  the EHR launch page (launch.html)
//   ehr_token_failed, ehr_no_patient, ehr_not_granted,          the app's page back from the EHR
//   ehr_chart_unreadable, ehr_chart_token_refused, ehr_prefilled,
//   ehr_saved, ehr_not_saved, ehr_save_token_refused
// The sentence, or the problem "internal" for an unknown id, details that are not an object, or a
// detail the words need and were not given (a fault in the page, never an empty line).
Result<std::string> page_sentence(std::string_view id, const Json& details);
// The ids of the table, in its order (for tests that say every one).
std::vector<std::string_view> page_sentence_ids();

}  // namespace ldx
