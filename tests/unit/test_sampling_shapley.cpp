// tests/unit/test_sampling_shapley.cpp — the model-agnostic explainer against exact Shapley
// values, its identities, its bundle member, and predictions from ONNX Runtime's outputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

#include "explain/sampling_shapley.h"
#include "predict/predict.h"
#include "support.h"

using namespace ldx;
using namespace ldx::test;

namespace {
// Stand-ins for an ONNX model: a function from a feature row to output_width floats.
using Fn = std::function<std::vector<float>(std::span<const float>)>;

std::vector<float> evaluate(const Fn& f, std::span<const float> rows, size_t width) {
    std::vector<float> out;
    for (size_t r = 0; r < rows.size() / width; ++r) {
        const auto y = f(rows.subspan(r * width, width));
        out.insert(out.end(), y.begin(), y.end());
    }
    return out;
}

std::vector<float> random_rows(std::mt19937& rng, size_t rows, size_t width) {
    std::vector<float> v(rows * width);
    for (float& x : v) x = std::uniform_real_distribution<float>(-1, 1)(rng);
    return v;
}

// A small nonlinear classifier with interactions: softmax(W tanh(A x)).
Fn softmax_net(size_t width, int classes, unsigned seed) {
    std::mt19937 rng(seed);
    const size_t hidden = 6;
    std::vector<double> a(hidden * width), w(static_cast<size_t>(classes) * hidden);
    for (double& v : a) v = std::normal_distribution<double>(0, 0.8)(rng);
    for (double& v : w) v = std::normal_distribution<double>(0, 1.2)(rng);
    return [=](std::span<const float> x) {
        std::vector<double> h(hidden, 0.0);
        for (size_t i = 0; i < hidden; ++i) {
            for (size_t j = 0; j < width; ++j) h[i] += a[i * width + j] * x[j];
            h[i] = std::tanh(h[i]);
        }
        std::vector<double> z(static_cast<size_t>(classes), 0.0);
        double mx = -1e300, total = 0;
        for (int c = 0; c < classes; ++c) {
            for (size_t i = 0; i < hidden; ++i)
                z[static_cast<size_t>(c)] += w[static_cast<size_t>(c) * hidden + i] * h[i];
            mx = std::max(mx, z[static_cast<size_t>(c)]);
        }
        for (double& v : z) total += (v = std::exp(v - mx));
        std::vector<float> p;
        for (double v : z) p.push_back(static_cast<float>(v / total));
        return p;
    };
}

// Exact interventional Shapley values per field (fields move as a whole), averaged over the
// background rows: every subset of fields enumerated.
std::vector<double> exact_shapley(const Schema& schema, const Fn& f, std::span<const float> x,
                                  std::span<const float> background, int klass) {
    const size_t width = schema.features.size(), n = schema.fields.size(), bg = background.size() / width;
    std::vector<double> phi(n, 0.0), weight(n);
    for (size_t s = 0; s < n; ++s)
        weight[s] = std::tgamma(s + 1.0) * std::tgamma(static_cast<double>(n - s)) / std::tgamma(n + 1.0);
    std::vector<double> v(size_t{1} << n);
    std::vector<float> row(width);
    for (size_t b = 0; b < bg; ++b) {
        for (size_t mask = 0; mask < v.size(); ++mask) {
            for (size_t j = 0; j < width; ++j) {
                const size_t field = static_cast<size_t>(schema.features[j].field);
                row[j] = (mask >> field) & 1 ? x[j] : background[b * width + j];
            }
            v[mask] = f(row)[static_cast<size_t>(klass)];
        }
        for (size_t i = 0; i < n; ++i)
            for (size_t mask = 0; mask < v.size(); ++mask)
                if (!((mask >> i) & 1))
                    phi[i] += weight[static_cast<size_t>(__builtin_popcountll(mask))] *
                              (v[mask | (size_t{1} << i)] - v[mask]) / static_cast<double>(bg);
    }
    return phi;
}
}  // namespace

TEST(SamplingShapley, ConvergesToExactShapleyValuesWithinItsStandardError) {
    const Schema schema = task_schema("pbc-stage");  // 15 fields, a category with two columns, 4 classes
    const size_t width = schema.features.size();
    std::mt19937 rng(3);
    const auto rows = random_rows(rng, 200, width);
    const Fn f = softmax_net(width, 4, 9);
    SamplingShapley s = sampling_shapley_make(schema, rows, {}, 6, 400, 77);
    s.output_width = 4;
    ASSERT_EQ(s.background_rows(), 6u);
    const auto x = random_rows(rng, 1, width);
    std::vector<float> inputs;
    sampling_shapley_inputs(s, x, inputs);
    ASSERT_EQ(inputs.size(), sampling_shapley_rows(s) * width);
    const auto outputs = evaluate(f, inputs, width);
    Explanation ex;
    std::vector<double> se;
    sampling_shapley_explain(s, schema, outputs, ex, se);
    ASSERT_EQ(ex.num_outputs, 4);
    double worst_z = 0;
    for (int k = 0; k < 4; ++k) {
        const auto exact = exact_shapley(schema, f, x, s.background, k);
        const auto by_field = contributions_by_field(schema, ex, k);
        double total = ex.base[static_cast<size_t>(k)];
        for (size_t i = 0; i < schema.fields.size(); ++i) {
            const double e = se[static_cast<size_t>(k) * schema.fields.size() + i];
            EXPECT_LT(e, 0.01);
            EXPECT_LE(std::abs(by_field[i] - exact[i]), 4 * e + 1e-9)
                << "class " << k << " field " << schema.fields[i].name;
            if (e > 0) worst_z = std::max(worst_z, std::abs(by_field[i] - exact[i]) / e);
            total += by_field[i];
        }
        // Local accuracy is exact: the patient's probability, not an estimate of it.
        EXPECT_NEAR(total, f(x)[static_cast<size_t>(k)], 1e-6);
    }
    std::printf("largest |sampled - exact| / standard error: %.2f\n", worst_z);
}

TEST(SamplingShapley, AnAdditiveModelIsExplainedExactlyWithFewPermutations) {
    const Schema schema = task_schema("wdbc");  // binary, 30 fields
    const size_t width = schema.features.size();
    std::mt19937 rng(4);
    std::vector<double> w(width);
    for (double& v : w) v = std::uniform_real_distribution<double>(-0.01, 0.01)(rng);
    const Fn f = [&](std::span<const float> x) {  // P(positive) = 0.5 + w.x, one output column
        double p = 0.5;
        for (size_t j = 0; j < width; ++j) p += w[j] * x[j];
        return std::vector<float>{static_cast<float>(p)};
    };
    SamplingShapley s = sampling_shapley_make(schema, random_rows(rng, 50, width), {}, 10, 2, 5);
    s.output_width = 1;
    const auto x = random_rows(rng, 1, width);
    std::vector<float> inputs;
    sampling_shapley_inputs(s, x, inputs);
    Explanation ex;
    std::vector<double> se;
    sampling_shapley_explain(s, schema, evaluate(f, inputs, width), ex, se);
    ASSERT_EQ(ex.num_outputs, 1);
    for (size_t j = 0; j < width; ++j) {
        double mean = 0;
        for (size_t b = 0; b < s.background_rows(); ++b)
            mean += s.background[b * width + j] / static_cast<double>(s.background_rows());
        EXPECT_NEAR(ex.contribution(0, static_cast<int>(j)), w[j] * (x[j] - mean), 2e-6) << j;  // float outputs
    }
}

TEST(SamplingShapley, SameSeedSameRowsAndTheBundleMemberRoundTrips) {
    const Schema schema = task_schema("pbc-stage");
    std::mt19937 rng(8);
    const auto rows = random_rows(rng, 40, schema.features.size());
    std::vector<double> probs(40 * 4, 0.25);
    SamplingShapley s = sampling_shapley_make(schema, rows, probs, 16, 4, 11);
    s.output_width = 4;
    auto back = sampling_shapley_from_json(sampling_shapley_to_json(s), schema);
    ASSERT_TRUE(back.ok()) << back.error().describe();
    EXPECT_EQ(back->background, s.background);
    EXPECT_EQ(back->background_probabilities.size(), 16u * 4u);
    const auto x = random_rows(rng, 1, schema.features.size());
    std::vector<float> a, b;
    sampling_shapley_inputs(s, x, a);
    sampling_shapley_inputs(*back, x, b);
    EXPECT_EQ(a, b);
    // The rows each chain visits differ: a permutation and its reverse, different pairs.
    const size_t g = schema.fields.size(), w = schema.features.size(), first = 1 + 16;
    EXPECT_NE(
        std::vector<float>(a.begin() + static_cast<long>(first * w), a.begin() + static_cast<long>((first + 1) * w)),
        std::vector<float>(a.begin() + static_cast<long>((first + g - 1) * w),
                           a.begin() + static_cast<long>((first + g) * w)));
}

TEST(SamplingShapley, BadExplainerMembersNameTheKey) {
    const Schema schema = task_schema("pbc-stage");
    std::mt19937 rng(8);
    SamplingShapley s = sampling_shapley_make(schema, random_rows(rng, 10, schema.features.size()),
                                              std::vector<double>(40, 0.25), 8, 4, 1);
    s.output_width = 4;
    const Json good = sampling_shapley_to_json(s);
    auto key_of = [&](const std::function<void(Json&)>& edit) {
        Json j = good;
        edit(j);
        auto r = sampling_shapley_from_json(j, schema);
        return r.ok() ? std::string("ok") : r.error().field;
    };
    EXPECT_EQ(key_of([](Json&) {}), "ok");
    EXPECT_EQ(key_of([](Json& j) { j["format"] = "other"; }), "format");
    EXPECT_EQ(key_of([](Json& j) { j["output_width"] = 3; }), "output_width");
    EXPECT_EQ(key_of([](Json& j) { j["output_width"] = "4"; }), "output_width");
    EXPECT_EQ(key_of([](Json& j) { j["num_features"] = 3; }), "num_features");
    EXPECT_EQ(key_of([](Json& j) { j["permutations"] = 3; }), "permutations");
    EXPECT_EQ(key_of([](Json& j) { j["seed"] = -1; }), "seed");
    EXPECT_EQ(key_of([](Json& j) { j["input"] = ""; }), "input");
    EXPECT_EQ(key_of([](Json& j) { j["background"] = Json::array(); }), "background");
    EXPECT_EQ(key_of([](Json& j) { j["background"][0].erase(0); }), "background");
    EXPECT_EQ(key_of([](Json& j) { j["background"][2][1] = "x"; }), "background");
    EXPECT_EQ(key_of([](Json& j) { j["background_probabilities"][1][0] = 1.5; }), "background_probabilities");
    EXPECT_EQ(key_of([](Json& j) { j["background_probabilities"].erase(0); }), "background_probabilities");
}

TEST(SamplingShapley, SettingsAskingForTooManyRowsAreRefusedBeforeAnyRowIsBuilt) {
    // 4096 background rows x 65536 permutations: 2^28 chains, gigabytes of rows for one explanation.
    const Schema schema = task_schema("pbc-stage");
    std::mt19937 rng(9);
    SamplingShapley s = sampling_shapley_make(schema, random_rows(rng, 4096, schema.features.size()),
                                              std::vector<double>(4096 * 4, 0.25), 4096, 4, 1);
    s.output_width = 4;
    EXPECT_EQ(sampling_shapley_size_refusal(s), std::nullopt);
    Json j = sampling_shapley_to_json(s);
    EXPECT_TRUE(sampling_shapley_from_json(j, schema).ok());
    j["permutations"] = 65536;
    auto r = sampling_shapley_from_json(j, schema);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().field, "permutations");
    EXPECT_NE(r.error().message.find("4096 background rows x 65536 permutations"), std::string::npos)
        << r.error().message;
    s.permutations = 65536;
    EXPECT_NE(sampling_shapley_size_refusal(s), std::nullopt);
}

TEST(SamplingShapley, PredictionsFromOnnxOutputsAreCheckedBeforeUse) {
    Model m;
    m.schema = task_schema("wdbc");
    const size_t width = m.schema.features.size();
    std::mt19937 rng(2);
    m.sampler = sampling_shapley_make(m.schema, random_rows(rng, 20, width), {}, 4, 2, 1);
    m.sampler->output_width = 2;
    const auto x = random_rows(rng, 1, width);
    PreparedRecord prepared;
    prepared.features = x;
    const auto rows = model_onnx_inputs(m, x, true);
    ASSERT_EQ(rows.size(), sampling_shapley_rows(*m.sampler) * width);
    EXPECT_EQ(model_onnx_inputs(m, x, false).size(), width);

    std::vector<float> outputs;
    for (size_t r = 0; r < rows.size() / width; ++r) {
        const float p = 1.0f / (1.0f + std::exp(-rows[r * width] - rows[r * width + 1] * rows[r * width + 2]));
        outputs.push_back(1 - p);
        outputs.push_back(p);
    }
    auto ok = model_predict_from_onnx(m, prepared, outputs, true);
    ASSERT_TRUE(ok.ok()) << ok.error().describe();
    EXPECT_NEAR(ok->probabilities[1], outputs[1], 1e-9);
    double total = ok->explanation.base[0];
    for (double c : ok->explanation.contributions) total += c;
    EXPECT_NEAR(total, outputs[1], 1e-6);
    EXPECT_EQ(ok->standard_error.size(), m.schema.fields.size());

    auto code = [&](std::vector<float> o, bool explain = true) {
        auto r = model_predict_from_onnx(m, prepared, o, explain);
        return r.ok() ? std::string("ok") : r.error().code + ": " + r.error().message;
    };
    EXPECT_EQ(code({0.3f, 0.7f}, false), "ok");
    EXPECT_NE(code({0.3f, 0.7f}).find("bad_output: ONNX Runtime returned 2 values"), std::string::npos);
    EXPECT_NE(code({0.3f, 0.6f}, false).find("add up to"), std::string::npos);
    EXPECT_NE(code({-0.5f, 1.5f}, false).find("not a probability"), std::string::npos);
    EXPECT_NE(code({NAN, 1.0f}, false).find("not a probability"), std::string::npos);
}
