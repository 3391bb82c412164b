// server/cli/commands/preprocess.cpp — `localdx preprocess`: the tensor an imaging model sees, from a file.
#include <cstdio>

#include "base/json.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "imaging/dicom.h"
#include "imaging/preprocess.h"
#include "imaging/raster.h"
#include "io/files.h"
#include "predict/predict.h"
#include "record/record.h"
#include "schema/schema.h"

namespace ldx::cli {

namespace {
const char* kPreprocessHelp =
    R"(Usage: localdx preprocess --bundle FILE.ldxb --trust trust.json --image FILE --out FILE.npy
                          [--frame N] [--pixels]
       localdx preprocess --schema SCHEMA.json --image FILE --out FILE.npy [--frame N] [--pixels]

Reads the image (DICOM, PNG or JPEG, told apart by their first bytes) and writes, as a NumPy
.npy file (float32, C order), exactly the tensor the imaging model of the bundle (verified
against the trust root first) or of the schema reads: the
preprocessing of the schema's "image" (rescale, channels, window or range, MONOCHROME1,
resize, normalisation; docs/imaging.md) by the same core the browser runs. Compare it with
your training pipeline's tensor for the same file.

  --frame N   the frame of a multi-frame DICOM file (1 = the first, the default)
  --pixels    write the decoded pixels instead (stored values, 1 x height x width x channels,
              float64: every 32-bit value exactly), to check a decoder against another (for
              example pydicom's pixel_array)

Prints what was read to standard error: format, size, frames, rescale and window, and the
header fields a clinician may see (modality, body part, view). Nothing else of the header is
read out. Exit 1 with the reason when the file cannot be used, or when it is a DICOM file whose
modality, body part or view is outside the schema's lists (the model was not made for it; the
browser refuses it too). Warns, as the browser does, when a PNG or JPEG file must be confirmed by
the clinician, when a DICOM file leaves its body part or view empty, and when the tensor's mean or
standard deviation is outside the training images' (the schema's image.training).
)";

int fail(const std::vector<Problem>& ps) {
    for (const Problem& p : ps) std::fprintf(stderr, "localdx preprocess: %s\n", p.describe().c_str());
    return 1;
}

std::string number_text(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", v);
    return b;
}

// What was read, for standard error: never more of the header than modality, body part and view.
std::string seen_text(ImageFormat format, const Pixels& p, int frame) {
    std::string s = std::string(image_format_name(format)) + ", " + std::to_string(p.width) + " x " +
                    std::to_string(p.height) + ", " + std::to_string(p.channels) + " channel(s), frame " +
                    std::to_string(frame + 1) + " of " + std::to_string(p.frames) + ", rescale " +
                    number_text(p.slope) + " x + " + number_text(p.intercept);
    if (p.monochrome1) s += ", MONOCHROME1";
    if (p.window) s += ", window " + number_text((*p.window)[0]) + " / " + number_text((*p.window)[1]);
    if (!p.modality.empty()) s += ", modality " + p.modality;
    if (!p.body_part.empty()) s += ", body part " + p.body_part;
    if (!p.view.empty()) s += ", view " + p.view;
    return s;
}
}  // namespace

int cmd_preprocess(const Args& a) {
    if (a.has("--help")) {
        std::fputs(kPreprocessHelp, stdout);
        return 0;
    }
    auto image_path = args_require(a, "--image");
    auto out_path = args_require(a, "--out");
    for (auto* r : {&image_path, &out_path})
        if (!*r) return fail(r->problems());
    if (a.get("--bundle").has_value() == a.get("--schema").has_value())
        return fail({problem("usage", "give either --bundle (with --trust) or --schema (see --help)")});
    int frame = 0;
    if (auto f = a.get("--frame")) {
        const auto n = number_parse(*f);
        if (!n || *n < 1 || *n > 100000 || *n != static_cast<int>(*n))
            return fail({problem("usage", "--frame takes a frame number from 1, not '" + *f + "'")});
        frame = static_cast<int>(*n) - 1;
    }
    Result<Schema> schema = problem("usage", "no schema");
    std::string source;
    if (auto bundle_path = a.get("--bundle")) {
        auto trust_path = args_require(a, "--trust");
        if (!trust_path) return fail(trust_path.problems());
        auto model = load_model(*bundle_path, *trust_path, 0);
        if (!model) return fail(model.problems());
        schema = std::move(model->schema);
        source = *bundle_path;
    } else {
        source = *a.get("--schema");
        auto schema_text = file_read(source, 1u << 20);
        if (!schema_text) return fail(schema_text.problems());
        schema = schema_parse(*schema_text);
        if (!schema) return fail(schema.problems());
    }
    if (!schema->image) return fail({problem("usage", source + " describes no image input (no \"image\" key)")});
    auto bytes = file_read(*image_path, size_t{1} << 30);
    if (!bytes) return fail(bytes.problems());
    const ImageFormat format = image_format_sniff(*bytes);
    if (auto refused = image_format_refusal(*schema->image, format)) return fail({*refused});
    auto pixels = image_file_decode(*bytes, frame);
    if (!pixels) return fail(pixels.problems());
    std::fprintf(stderr, "localdx preprocess: %s\n", seen_text(format, *pixels, frame).c_str());
    // What the browser checks before scoring (imaging/image_input.h, Scope): an image the model
    // was not made for is refused, and the warnings are printed as the page shows them.
    const ImageScope scope = image_scope_check(*schema->image, format, *pixels);
    if (!scope.refused.empty()) return fail(scope.refused);
    for (const Problem& w : scope.warnings)
        std::fprintf(stderr, "localdx preprocess: warning: %s\n", w.message.c_str());
    Tensor t;
    if (a.has("--pixels")) {
        t.shape = {1, pixels->height, pixels->width, pixels->channels};
        if (auto ok = file_write_atomic(*out_path, pixels_npy(*pixels)); !ok) return fail(ok.problems());
    } else {
        if (auto large = image_memory_refusal(*schema->image, format, *pixels, bytes->size())) return fail({*large});
        auto tensor = image_tensor(*schema->image, *pixels);
        if (!tensor) return fail(tensor.problems());
        if (auto unlike = image_unlike_training(*schema->image, *tensor))
            std::fprintf(stderr, "localdx preprocess: warning: %s\n", unlike->message.c_str());
        t = std::move(*tensor);
        if (auto ok = file_write_atomic(*out_path, tensor_npy(t)); !ok) return fail(ok.problems());
    }
    std::fprintf(stderr, "localdx preprocess: tensor %lld x %lld x %lld x %lld -> %s\n",
                 static_cast<long long>(t.shape[0]), static_cast<long long>(t.shape[1]),
                 static_cast<long long>(t.shape[2]), static_cast<long long>(t.shape[3]), out_path->c_str());
    return 0;
}

}  // namespace ldx::cli
