// shared/imaging/image_model.cpp — see image_model.h.
//
// Index of this file
//   [SECTION] The model's description
//   [SECTION] Pixels from the browser's decoders
//   [SECTION] Masks (occlusion squares, deletion cells)
//   [SECTION] One image
#include "imaging/image_model.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "predict/predict.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] The model's description
//-----------------------------------------------------------------------------
Json image_model_to_json(const ImageModel& m) {
    Json j = {{"format", "localdx-imaging/1"},
              {"probabilities", {{"output", m.probabilities}, {"width", m.probability_width}}},
              {"batch", m.batch},
              {"fill", m.fill},
              {"check", {{"images", m.check_images}, {"probabilities", m.check_probabilities}}}};
    if (m.map == MapKind::cam)
        j["map"] = {{"kind", "cam"},
                    {"output", m.map_output},
                    {"classes", m.map_classes},
                    {"height", m.map_height},
                    {"width", m.map_width}};
    else
        j["map"] = {{"kind", "occlusion"},
                    {"patch", m.patch},
                    {"stride", m.stride},
                    {"height", m.map_height},
                    {"width", m.map_width}};
    return j;
}

Result<ImageModel> image_model_from_json(const Json& j, const Schema& schema) {
    auto bad = [](const std::string& m) { return problem("bad_imaging", "imaging.json: " + m); };
    if (!schema.image) return bad("the schema describes no image input");
    if (!j.is_object() || json_text_or(j, "format") != "localdx-imaging/1")
        return bad("not a localdx-imaging/1 document");
    auto whole = [](const Json& o, const char* key, int lo, int hi) -> std::optional<int> {
        if (!o.is_object() || !o.contains(key) || !o[key].is_number_integer()) return std::nullopt;
        const int64_t v = o[key].get<int64_t>();
        if (v < lo || v > hi) return std::nullopt;
        return static_cast<int>(v);
    };
    const ImageInput& in = *schema.image;
    const int k = schema.num_classes();
    ImageModel m;
    const Json& p = j.contains("probabilities") ? j["probabilities"] : Json();
    if (!p.is_object() || !p.contains("output") || !p["output"].is_string())
        return bad("probabilities.output is missing");
    m.probabilities = p["output"].get<std::string>();
    auto width = whole(p, "width", 1, k);
    if (!width || (*width != k && !(*width == 1 && k == 2 && !schema.outputs.multilabel())))
        return bad(schema.outputs.multilabel()
                       ? "probabilities.width must be the number of findings (one sigmoid each)"
                       : "probabilities.width must be the number of classes (or 1 for a binary task)");
    m.probability_width = *width;
    if (!j.contains("batch") || !j["batch"].is_boolean()) return bad("batch must be true or false");
    m.batch = j["batch"].get<bool>();
    if (!j.contains("fill") || !j["fill"].is_number() || !std::isfinite(j["fill"].get<double>()))
        return bad("fill must be a number");
    m.fill = j["fill"].get<float>();
    const Json& map = j.contains("map") ? j["map"] : Json();
    const std::string kind = json_text_or(map, "kind");
    auto mh = whole(map, "height", 1, in.height), mw = whole(map, "width", 1, in.width);
    if (!mh || !mw) return bad("map.height and map.width must be between 1 and the tensor's size");
    m.map_height = *mh;
    m.map_width = *mw;
    if (kind == "cam") {
        m.map = MapKind::cam;
        m.map_output = json_text_or(map, "output");
        auto classes = whole(map, "classes", 0, k);
        if (m.map_output.empty() || !classes || (*classes != 0 && *classes != k))
            return bad("a cam map needs its output and classes (0 for one map, or one per class)");
        m.map_classes = *classes;
    } else if (kind == "occlusion") {
        m.map = MapKind::occlusion;
        auto patch = whole(map, "patch", 1, std::min(in.height, in.width));
        auto stride = whole(map, "stride", 1, std::min(in.height, in.width));
        if (!patch || !stride || *patch % *stride)
            return bad("an occlusion map needs a patch no larger than the image and a stride that divides it");
        m.patch = *patch;
        m.stride = *stride;
        if (m.map_height != (in.height + m.stride - 1) / m.stride ||
            m.map_width != (in.width + m.stride - 1) / m.stride)
            return bad("an occlusion map has one cell per stride");
    } else {
        return bad("map.kind must be cam or occlusion");
    }
    const Json& c = j.contains("check") ? j["check"] : Json();
    auto images = whole(c, "images", 1, 64);
    if (!images || !c.contains("probabilities") || !c["probabilities"].is_array() ||
        c["probabilities"].size() != static_cast<size_t>(*images * k))
        return bad("check needs 1 to 64 images and the author's probabilities (images x classes)");
    m.check_images = *images;
    for (const Json& v : c["probabilities"]) {
        if (!v.is_number()) return bad("check.probabilities must be numbers");
        m.check_probabilities.push_back(v.get<double>());
    }
    return m;
}

int occlusion_runs(const ImageModel& m, const ImageInput& in) {
    if (m.map != MapKind::occlusion) return 0;
    return ((in.height - m.patch) / m.stride + 1) * ((in.width - m.patch) / m.stride + 1);
}

std::vector<double> image_probabilities(const ImageModel& m, std::span<const float> row) {
    if (m.probability_width == 1) return {1.0 - row[0], static_cast<double>(row[0])};
    return std::vector<double>(row.begin(), row.end());
}

//-----------------------------------------------------------------------------
// [SECTION] Pixels from 8-bit decoders
//-----------------------------------------------------------------------------
Result<Pixels> pixels_from_interleaved(std::span<const uint8_t> bytes, int width, int height, int components) {
    const size_t k = components == 3 || components == 4 ? static_cast<size_t>(components) : 0;
    if (k == 0 || width < 1 || height < 1 || int64_t{width} * height > int64_t{1} << 26 ||
        bytes.size() != static_cast<size_t>(width) * static_cast<size_t>(height) * k)
        return problem("bad_image", "the decoded image's size does not match its pixels");
    const size_t n = static_cast<size_t>(width) * static_cast<size_t>(height);
    bool grey = true;
    for (size_t i = 0; i < n && grey; ++i) grey = bytes[k * i] == bytes[k * i + 1] && bytes[k * i] == bytes[k * i + 2];
    Pixels p;
    p.width = width;
    p.height = height;
    p.channels = grey ? 1 : 3;
    std::vector<float> values;  // 8-bit samples: 4 bytes each (imaging/image_input.h, Samples)
    values.reserve(n * static_cast<size_t>(p.channels));
    for (size_t i = 0; i < n; ++i)
        for (int c = 0; c < p.channels; ++c) values.push_back(bytes[k * i + static_cast<size_t>(c)]);
    p.values = Samples(std::move(values));
    return p;
}

namespace {
//-----------------------------------------------------------------------------
// [SECTION] Masks
//-----------------------------------------------------------------------------
// Sets rows [y0, y1) x columns [x0, x1) of every channel of image `n` in `x` to `fill`.
void mask(std::vector<float>& x, size_t n, const ImageInput& in, int y0, int y1, int x0, int x1, float fill) {
    const size_t plane = static_cast<size_t>(in.height) * static_cast<size_t>(in.width);
    for (int c = 0; c < in.channels; ++c)
        for (int y = std::max(0, y0); y < std::min(in.height, y1); ++y) {
            float* row = x.data() + (n * static_cast<size_t>(in.channels) + static_cast<size_t>(c)) * plane +
                         static_cast<size_t>(y) * static_cast<size_t>(in.width);
            std::fill(row + std::max(0, x0), row + std::min(in.width, x1), fill);
        }
}

// The tensor pixels of map cell i (map cells tile the tensor).
void mask_cell(std::vector<float>& x, size_t n, const ImageModel& m, const ImageInput& in, size_t i) {
    const int cy = static_cast<int>(i / static_cast<size_t>(m.map_width));
    const int cx = static_cast<int>(i % static_cast<size_t>(m.map_width));
    auto edge = [](int c, int size, int cells) { return static_cast<int>((int64_t{c} * size) / cells); };
    mask(x, n, in, edge(cy, in.height, m.map_height), edge(cy + 1, in.height, m.map_height),
         edge(cx, in.width, m.map_width), edge(cx + 1, in.width, m.map_width), m.fill);
}

// Map cells from most to least evidence (ties by position), and a fixed random order.
std::vector<size_t> ranked_cells(const HeatMap& map) {
    std::vector<size_t> order(map.values.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return map.values[a] > map.values[b]; });
    return order;
}
std::vector<size_t> random_cells(size_t n) {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t{0});
    uint64_t s = 20221;  // splitmix64: the same order on every device
    for (size_t i = n; i > 1; --i) {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        std::swap(order[i - 1], order[static_cast<size_t>(z % i)]);
    }
    return order;
}

HeatMap scaled(int height, int width, std::vector<float> raw) {
    HeatMap h;
    h.height = height;
    h.width = width;
    float peak = 0;
    for (const float v : raw) peak = std::max(peak, std::isfinite(v) ? v : 0.0f);
    h.peak = peak;
    for (float& v : raw) v = peak > 0 && std::isfinite(v) ? std::max(0.0f, v) / peak : 0.0f;
    h.values = std::move(raw);
    return h;
}

// The occlusion map measures falls in log-odds, not probability: a model sure of its answer
// (probability 0.9999 with two lesions) barely moves in probability when one lesion is masked,
// but does in log-odds. Clamped where float32 probabilities saturate.
double log_odds(double p) {
    p = std::clamp(p, 1e-7, 1 - 1e-7);
    return std::log(p / (1 - p));
}

// The occlusion map of one class from its probability in each masked run (p0: unmasked).
HeatMap occlusion_map(const ImageModel& m, const ImageInput& in, double p0, const std::vector<double>& staged) {
    std::vector<double> sum(static_cast<size_t>(m.map_height) * static_cast<size_t>(m.map_width), 0.0);
    std::vector<int> seen(sum.size(), 0);
    const int across = (in.width - m.patch) / m.stride + 1, cells = m.patch / m.stride;
    for (size_t at = 0; at < staged.size(); ++at) {
        const int py = static_cast<int>(at) / across, px = static_cast<int>(at) % across;
        for (int cy = py; cy < std::min(m.map_height, py + cells); ++cy)
            for (int cx = px; cx < std::min(m.map_width, px + cells); ++cx) {
                const size_t i = static_cast<size_t>(cy) * static_cast<size_t>(m.map_width) + static_cast<size_t>(cx);
                sum[i] += log_odds(p0) - log_odds(staged[at]);
                ++seen[i];
            }
    }
    std::vector<float> raw(sum.size());
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = seen[i] ? static_cast<float>(sum[i] / seen[i]) : 0.0f;
    return scaled(m.map_height, m.map_width, std::move(raw));
}

size_t stage_runs(const ImageJob& job, const ImageModel& m, const ImageInput& in) {
    switch (job.stage) {
        case ImageJob::Stage::image:
            return 1;
        case ImageJob::Stage::occlusion:
            return static_cast<size_t>(occlusion_runs(m, in));
        case ImageJob::Stage::deletion:
            return 2 * (kDeletionSteps + 1);
        case ImageJob::Stage::done:
            break;
    }
    return 0;
}

void start_deletion(ImageJob& job) {
    job.stage = ImageJob::Stage::deletion;
    job.staged.clear();
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] One image
//-----------------------------------------------------------------------------
ImageJob image_job_start(Tensor tensor) {
    ImageJob job;
    job.tensor = std::move(tensor);
    return job;
}

size_t image_job_pending(const ImageJob& job, const ImageModel& m, const ImageInput& in) {
    return stage_runs(job, m, in) - job.staged.size();
}

std::vector<float> image_job_inputs(const ImageJob& job, const ImageModel& m, const ImageInput& in, size_t count) {
    count = std::min(count, image_job_pending(job, m, in));
    const size_t size = job.tensor.data.size();
    std::vector<float> x;
    x.reserve(count * size);
    for (size_t n = 0; n < count; ++n) x.insert(x.end(), job.tensor.data.begin(), job.tensor.data.end());
    const size_t first = job.staged.size();
    if (job.stage == ImageJob::Stage::occlusion) {
        const int across = (in.width - m.patch) / m.stride + 1;
        for (size_t n = 0; n < count; ++n) {
            const int at = static_cast<int>(first + n);
            const int y = (at / across) * m.stride, xx = (at % across) * m.stride;
            mask(x, n, in, y, y + m.patch, xx, xx + m.patch, m.fill);
        }
    } else if (job.stage == ImageJob::Stage::deletion) {
        const std::vector<size_t> ranked = ranked_cells(job.map), random = random_cells(job.map.values.size());
        for (size_t n = 0; n < count; ++n) {
            const size_t at = first + n, step = at % (kDeletionSteps + 1);
            const std::vector<size_t>& order = at <= kDeletionSteps ? ranked : random;
            const size_t masked = order.size() * step / kDeletionSteps;
            for (size_t i = 0; i < masked; ++i) mask_cell(x, n, m, in, order[i]);
        }
    }
    return x;
}

Result<Ok> image_job_give(ImageJob& job, const ImageModel& m, const Schema& schema, const ImageInput& in,
                          std::span<const float> probabilities, std::span<const float> map, int explained) {
    const size_t width = static_cast<size_t>(m.probability_width);
    const size_t count = probabilities.size() / width;
    if (count == 0 || probabilities.size() % width || count > image_job_pending(job, m, in))
        return problem("model_output", "the model gave " + std::to_string(probabilities.size()) +
                                           " probabilities; the bundle says " + std::to_string(width) + " per image");
    for (const float v : probabilities)
        if (!std::isfinite(v) || v < -1e-4f || v > 1 + 1e-4f)
            return problem("model_output", "the model gave a probability outside [0, 1]");
    job.runs += count;
    if (job.stage == ImageJob::Stage::image) {
        job.probabilities = image_probabilities(m, probabilities.first(width));
        job.predicted = decide(schema, job.probabilities);
        const int k = schema.num_classes();
        const bool binary = k == 2 && !schema.outputs.multilabel();  // one map: the positive class
        job.explained = explained >= 0 && explained < k ? explained : binary ? 1 : job.predicted;
        if (m.map == MapKind::cam) {
            const size_t cells = static_cast<size_t>(m.map_height) * static_cast<size_t>(m.map_width);
            const size_t maps = m.map_classes ? static_cast<size_t>(m.map_classes) : 1;
            if (map.size() != cells * maps)
                return problem("model_output", "the model's map has " + std::to_string(map.size()) +
                                                   " values; the bundle says " + std::to_string(cells * maps));
            auto map_of = [&](size_t which) {
                return scaled(m.map_height, m.map_width,
                              std::vector<float>(map.begin() + static_cast<std::ptrdiff_t>(which * cells),
                                                 map.begin() + static_cast<std::ptrdiff_t>((which + 1) * cells)));
            };
            const size_t which = m.map_classes ? static_cast<size_t>(job.explained) : 0;
            std::vector<float> raw(map.begin() + static_cast<std::ptrdiff_t>(which * cells),
                                   map.begin() + static_cast<std::ptrdiff_t>((which + 1) * cells));
            // One map of a binary model is the positive class's: for the other class it is negated.
            if (!m.map_classes && binary && job.explained == 0)
                for (float& v : raw) v = -v;
            job.map = scaled(m.map_height, m.map_width, std::move(raw));
            job.maps.clear();
            if (schema.outputs.multilabel() && m.map_classes)
                for (size_t f = 0; f < static_cast<size_t>(k); ++f) job.maps.push_back(map_of(f));
            start_deletion(job);
        } else {
            job.stage = ImageJob::Stage::occlusion;
            job.staged.clear();
        }
        return Ok{};
    }
    const bool multilabel = schema.outputs.multilabel();
    for (size_t n = 0; n < count; ++n) {
        const std::vector<double> row = image_probabilities(m, probabilities.subspan(n * width, width));
        job.staged.push_back(row[static_cast<size_t>(job.explained)]);
        if (multilabel && job.stage == ImageJob::Stage::occlusion)
            job.occluded.insert(job.occluded.end(), row.begin(), row.end());
    }
    if (image_job_pending(job, m, in)) return Ok{};
    if (job.stage == ImageJob::Stage::occlusion) {
        job.map = occlusion_map(m, in, job.probabilities[static_cast<size_t>(job.explained)], job.staged);
        // The same runs give every finding's map: the fall of each finding's own probability.
        job.maps.clear();
        const size_t k = job.probabilities.size();
        for (size_t f = 0; multilabel && f < k; ++f) {
            std::vector<double> column;
            for (size_t at = f; at < job.occluded.size(); at += k) column.push_back(job.occluded[at]);
            job.maps.push_back(occlusion_map(m, in, job.probabilities[f], column));
        }
        job.occluded.clear();
        start_deletion(job);
        return Ok{};
    }
    DeletionCurve& d = job.deletion;
    d.ranked.assign(job.staged.begin(), job.staged.begin() + kDeletionSteps + 1);
    d.random.assign(job.staged.begin() + kDeletionSteps + 1, job.staged.end());
    auto area = [](const std::vector<double>& c) {  // trapezoids over [0, 1]
        double a = 0;
        for (size_t i = 1; i < c.size(); ++i) a += (c[i - 1] + c[i]) / 2;
        return a / static_cast<double>(c.size() - 1);
    };
    d.ranked_area = area(d.ranked);
    d.random_area = area(d.random);
    job.stage = ImageJob::Stage::done;
    job.staged.clear();
    return Ok{};
}

}  // namespace ldx
