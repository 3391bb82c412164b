// server/package/package.h — `localdx bundle`: turn a model and its schema into bundle members.
//
// Index of this file
//   [SECTION] Inputs
//   [SECTION] Packaging
//
// Accepts XGBoost's own JSON model (exact TreeSHAP with XGBoost's node covers, exported to ONNX
// by our exporter) or an ONNX TreeEnsembleClassifier made anywhere (covers recounted from the
// reference CSV). The members are what shared/predict's model_from_bundle reads back.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "base/error.h"
#include "bundle/bundle.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Inputs
//-----------------------------------------------------------------------------
struct PackageInput {
    std::string schema_json;
    std::string model_bytes;              // XGBoost JSON model or ONNX
    std::optional<std::string> card_json; // model card text (and metrics, from `localdx train`)
    std::optional<std::string> reference; // reference.json from `localdx train`, or a CSV of rows
    Manifest manifest;                    // name, version, created, expires (members filled in)
};

//-----------------------------------------------------------------------------
// [SECTION] Packaging
//-----------------------------------------------------------------------------
struct Package {
    Manifest manifest;
    std::map<std::string, Bytes> members;
};

using PackageLog = std::function<void(const std::string&)>;
// Problems: "bad_model", "bad_onnx", "onnx_check", "schema_mismatch", "missing_reference",
// "unsupported_model", plus those of the schema, CSV and record readers (with rows).
Result<Package> package_members(const PackageInput& in, const PackageLog& log);

}  // namespace ldx
