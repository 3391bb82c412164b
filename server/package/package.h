// server/package/package.h — `localdx bundle`: turn a model and its schema into bundle members.
//
// Index of this file
//   [SECTION] Inputs
//   [SECTION] Packaging
//
// Accepts XGBoost's own JSON model (exact TreeSHAP with XGBoost's node covers, exported to ONNX
// by our exporter), an ONNX TreeEnsembleClassifier made anywhere (covers recounted from the
// reference CSV), or any other ONNX classifier (an MLP...): explained model-agnostically by
// sampling Shapley values against background rows from the reference CSV; or an ONNX image
// classifier (schema "image"; package_image.cpp). The members are what
// shared/predict's model_from_bundle reads back.
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
    std::string model_bytes;               // XGBoost JSON model or ONNX
    std::optional<std::string> card_json;  // model card text (and metrics, from `localdx train`)
    std::optional<std::string> reference;  // reference.json from `localdx train`, or a CSV of rows
    std::string reference_dir;             // imaging models: the folder the reference CSV's files are named from
    // Imaging models: the training images' descriptors (drift/image_descriptors.h, the CSV); without
    // it the reference images' descriptors make the drift report's reference histograms.
    std::optional<std::string> image_descriptors;
    // Imaging models: held-out calibration images' labels (the CSV image_labels_read reads) and the
    // model's outputs for them (image_outputs_from_json's form); both given: the bundle's conformal
    // calibrator is fitted on them (metrics/image_validation.h, image_conformal_fit) and signed in
    // the schema, replacing any the schema carries.
    std::optional<std::string> calibration_labels, calibration_outputs;
    std::string calibration_source;  // what the calibration images are, for the calibrator's "source"
    Manifest manifest;               // name, version, created, expires (members filled in)
    size_t background_rows = 32;     // non-tree models: background sample of the explainer
    int permutations = 4;            // non-tree models: permutations per background row (even)
};

//-----------------------------------------------------------------------------
// [SECTION] Packaging
//-----------------------------------------------------------------------------
struct Package {
    Manifest manifest;
    std::map<std::string, Bytes> members;
};

using PackageLog = std::function<void(const std::string&)>;
// Problems: "bad_model", "bad_onnx", "onnx_check", "unsupported_operator", "schema_mismatch",
// "missing_reference", "unsupported_model", "usage", plus those of the schema, CSV and record
// readers (with rows).
Result<Package> package_members(const PackageInput& in, const PackageLog& log);

}  // namespace ldx
