// server/cli/commands/bundle.cpp — `localdx bundle`: package and sign a model bundle.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bundle/bundle.h"
#include "bundle/crypto.h"
#include "bundle/trust.h"
#include "cli/args.h"
#include "io/files.h"
#include "package/package.h"
#include "train/dataset.h"

#include "cli/commands.h"

namespace ldx::cli {

const char* const kBundleHelp = R"(Usage: localdx bundle --schema FILE --model FILE --reference FILE --name NAME
                      --version N --key KEYFILE --out FILE.ldxb [--card FILE] [--expires-days N]
                      [--image-descriptors FILE]
                      [--calibration-labels FILE --calibration-outputs FILE [--calibration-source TEXT]]

--model     XGBoost JSON model (save_model("m.json")): exact TreeSHAP with XGBoost's covers,
            exported to ONNX by LocalDx; or an ONNX TreeEnsembleClassifier made anywhere
            (node covers recounted from the reference rows); or any other ONNX classifier
            (e.g. an MLP: Gemm/Relu/Softmax) with one float input [N, features] and an output
            'probabilities' [N, classes]: explained model-agnostically (sampling Shapley values
            in probability points, with standard errors), run by ONNX Runtime in the browser.
            With a schema that has an "image" input: an ONNX image classifier taking the
            schema's tensor [N, C, H, W] with an output of class probabilities [N, classes]
            (or [N, 1] with P(positive)), and optionally its class activation map [N, h, w] or
            [N, classes, h, w] as a second output; without one the browser computes an
            occlusion map (docs/imaging.md).
--reference reference.json from `localdx train`, or a CSV of representative rows (required for
            ONNX models: covers and drift histograms come from it). For a non-tree model the
            CSV also needs the model's probabilities in columns p_<class> (the browser checks
            them against ONNX Runtime on every load), and the explainer's background sample
            is drawn from its rows. For an imaging model: a CSV with a column image (files,
            named from the CSV's folder) and p_<class>; the first 4 images, preprocessed by
            LocalDx, are checked against ONNX Runtime in every browser that loads the bundle.
--image-descriptors FILE  imaging models: a CSV of the training images' descriptors, one row per
            image, columns modality, body_part, view, rows, columns, pixel_spacing, bits_stored,
            mean, std (the preprocessed tensor's; empty cells: not given), as
            models/opacity-demo/make_cnn.py writes it: the drift report's reference histograms
            of the images (docs/imaging.md, Drift). Without it they come from the reference images.
--calibration-labels FILE --calibration-outputs FILE  imaging models: held-out calibration images
            (never trained on), as `localdx evaluate --images` reads them: a labels CSV (image,
            the label column or one 1/0 column per finding) and the model's outputs for the same
            images ({"images": [{"image", "width", "height", "probabilities", "map"}]}). LocalDx
            fits the conformal calibrator on them (per finding for a multilabel model, as a
            site's recalibration does) and signs it in the bundle's schema; every image result
            then shows its triage band. Every row must be labelled and scored. Their
            probabilities also join the reference images' in the drift report's reference
            histograms of the outputs. A card without "metrics" gets the evaluation on these
            images (per finding for a multilabel model, each with its reliability table): the
            figures the drift report's estimated performance is set beside.
--calibration-source TEXT  what the calibration images are (the calibrator's "source"; default
            "N held-out calibration images").
--background N    non-tree models: background rows kept for the explainer (default 32).
--permutations N  non-tree models: permutations per background row, even (default 4).
--expires-days  default 365.
)";

int cmd_bundle(const Args& a) {
    std::vector<Problem> usage;
    auto need = [&](const char* f) {
        auto v = args_require(a, f);
        if (!v) usage.push_back(v.error());
        return v ? *v : std::string();
    };
    const std::string schema_path = need("--schema"), model_path = need("--model"), name = need("--name"),
                      key_path = need("--key"), out = need("--out"), reference_path = need("--reference");
    auto version = positive_int(a, "--version", 0);
    auto days = positive_int(a, "--expires-days", 365);
    if (!a.get("--version")) usage.push_back(problem("usage", "--version is required (see --help)"));
    if (!version) usage.push_back(version.error());
    if (!days) usage.push_back(days.error());
    if (!usage.empty()) return fail("bundle", usage);

    auto key_text = file_read(key_path, 1u << 16);
    if (!key_text) return fail("bundle", key_text.problems());
    auto key = signing_key_parse(*key_text);
    if (!key) return fail("bundle", problem(key.error().code, key_path + ": " + key.error().message));

    PackageInput in;
    for (auto [path, dest] : {std::pair{&schema_path, &in.schema_json}, std::pair{&model_path, &in.model_bytes}}) {
        auto t = file_read(*path);
        if (!t) return fail("bundle", t.problems());
        *dest = std::move(*t);
    }
    auto ref = file_read(reference_path);
    if (!ref) return fail("bundle", ref.problems());
    in.reference = std::move(*ref);
    in.reference_dir = std::filesystem::path(reference_path).parent_path().string();
    if (auto descriptors = a.get("--image-descriptors")) {
        auto t = file_read(*descriptors);
        if (!t) return fail("bundle", t.problems());
        in.image_descriptors = std::move(*t);
    }
    if (const auto labels = a.get("--calibration-labels"), outputs = a.get("--calibration-outputs");
        labels || outputs) {
        if (!labels || !outputs)
            return fail("bundle", problem("usage", "--calibration-labels and --calibration-outputs go together"));
        auto l = file_read(*labels);
        if (!l) return fail("bundle", l.problems());
        auto o = file_read(*outputs, size_t{256} << 20);
        if (!o) return fail("bundle", o.problems());
        in.calibration_labels = std::move(*l);
        in.calibration_outputs = std::move(*o);
        in.calibration_source = a.get("--calibration-source").value_or("");
    }
    if (auto card = a.get("--card")) {
        auto t = file_read(*card);
        if (!t) return fail("bundle", t.problems());
        in.card_json = std::move(*t);
    }
    auto background = positive_int(a, "--background", 32);
    auto permutations = positive_int(a, "--permutations", 4);
    if (!background) return fail("bundle", background.problems());
    if (!permutations) return fail("bundle", permutations.problems());
    in.background_rows = static_cast<size_t>(*background);
    in.permutations = static_cast<int>(std::min<int64_t>(*permutations, 1 << 16));
    in.manifest.name = name;
    in.manifest.version = *version;
    in.manifest.created = unix_now();
    in.manifest.expires = in.manifest.created + *days * 86400;

    auto pkg = package_members(in, progress);
    if (!pkg) return fail("bundle", pkg.problems());
    auto bytes = bundle_write(pkg->manifest, pkg->members, {*key});
    if (!bytes) return fail("bundle", bytes.problems());
    if (auto ok = file_write_atomic(out, *bytes); !ok) return fail("bundle", ok.problems());
    std::printf("%s: %s v%lld, %zu bytes, sha256 %s, signed by %s, expires %s\n", out.c_str(), name.c_str(),
                static_cast<long long>(*version), bytes->size(), sha256_hex(*bytes).c_str(), key->keyid.c_str(),
                utc_format(pkg->manifest.expires).c_str());
    return 0;
}

}  // namespace ldx::cli
