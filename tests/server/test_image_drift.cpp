// tests/server/test_image_drift.cpp — drift of an imaging model through the real report path and
// server: a change of scanner (brightness, contrast, a new pixel spacing) is flagged, clean streams
// are not, for the single-label and the multi-label demonstrations (docs/imaging.md, Drift of an
// imaging model, quotes the figures this test prints).
//
// Index of this file
//   [SECTION] Images: the demo's held-out drift stream, shifted as a new scanner would
//   [SECTION] Streams: reports from five sources, posted round by round
//   [SECTION] What the server says, and the same figure computed here
//   [SECTION] A shifted stream is flagged; clean streams are not
//   [SECTION] Each finding's estimated performance, against the held-out images' labels
//
// The images are the 400 held-out images models/opacity-demo/make_cnn.py draws for this test
// (drift/, by the generator of the training images; with --multilabel, the multi-label demo's). Each goes through the
// core as the browser's does: decoded, preprocessed, its descriptors taken (drift/image_descriptors.h), counted once in
// a report by the shared report builder (randomized response, the bundle's epsilon), posted to
// /api/v1/metrics. There is no ONNX Runtime natively, so an image's probability is drawn from the
// bundle's reference histogram of P(opacity) (of each finding, for the multi-label demo): the
// outputs stay as in training, and what is flagged is the images' own descriptors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <type_traits>

#include "drift/image_descriptors.h"
#include "fixture.h"
#include "imaging/preprocess.h"
#include "imaging/raster.h"
#include "io/files.h"
#include "metrics/evaluation.h"
#include "raw_client.h"

namespace ldx {
namespace {

//-----------------------------------------------------------------------------
// [SECTION] Images
//-----------------------------------------------------------------------------
// A new scanner: grey levels v -> 128 + contrast (v - 128) + brightness (clamped to 0..255), and a
// header that gives a pixel spacing (mm; 0: none, as the PNG files and the training images).
struct Scanner {
    double brightness = 0, contrast = 1, pixel_spacing = 0;
};

std::vector<Pixels> drift_images(const std::string& task) {
    std::vector<Pixels> out;
    const std::string dir = kDemo + "/train/" + task + "/drift";
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().string());
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
        auto bytes = file_read(name, size_t{1} << 24);
        if (!bytes) throw std::runtime_error(name + ": " + bytes.error().describe());
        auto p = image_file_decode(*bytes);
        if (!p) throw std::runtime_error(name + ": " + p.error().describe());
        out.push_back(std::move(*p));
    }
    if (out.size() < 400) throw std::runtime_error(dir + " holds " + std::to_string(out.size()) + " images, not 400");
    return out;
}

// Each image's descriptors as the browser's core takes them, through `scanner`.
std::vector<ImageDescriptors> describe(const Model& m, const std::vector<Pixels>& images, const Scanner& scanner) {
    std::vector<ImageDescriptors> out;
    for (Pixels p : images) {
        p.values.visit([&](auto& values) {
            for (auto& v : values)
                v = static_cast<std::decay_t<decltype(v)>>(
                    std::clamp(std::round(128 + scanner.contrast * (v - 128) + scanner.brightness), 0.0, 255.0));
        });
        p.pixel_spacing = scanner.pixel_spacing;
        auto t = image_tensor(*m.schema.image, p);
        if (!t) throw std::runtime_error(t.error().describe());
        out.push_back(image_descriptors(*m.schema.image, p, *t));
    }
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] Streams
//-----------------------------------------------------------------------------
constexpr int kStreamSources = 5, kPerRound = 20;  // 100 images a round
// The server's --drift-min and the rounds of a stream (kStreamSources x kPerRound images each).
// A histogram has a figure from drift_min / 11 images for the binary demo (each image is counted in
// one of 11). At 2,000, 11% of its clean streams of 4,000 images raised an alert in some round
// (mostly brightness and contrast histograms, from randomized response's noise at about 180
// images); at 4,000 none of 300.
struct Setting {
    uint64_t drift_min = 4000;
    int rounds = 80;  // 8,000 images a stream
    int images() const { return rounds * kStreamSources * kPerRound; }
    std::vector<std::string> flags() const {
        return {"--rate-limit", "0", "--drift-min", std::to_string(drift_min), "--source-day-max", "100000"};
    }
};

// One round: each source's report of kPerRound images drawn from `images`, the probability drawn
// from the bundle's reference histogram of P(opacity) (a multilabel model: each finding's from its
// own histogram, independently).
std::vector<MetricsReport> round_reports(const Model& m, const std::vector<ImageDescriptors>& images,
                                         std::mt19937_64& rng) {
    const bool multilabel = m.schema.outputs.multilabel();
    std::vector<std::discrete_distribution<size_t>> bins;
    for (const Histogram& ref : m.reference.classes) bins.emplace_back(ref.counts.begin(), ref.counts.end());
    std::uniform_real_distribution<double> u(0, 1);
    const auto draw = [&](size_t c) {
        const Histogram& ref = m.reference.classes[c];
        const size_t k = bins[c](rng);
        const double lo = k == 0 ? 0 : ref.edges[k - 1], hi = k < ref.edges.size() ? ref.edges[k] : 1;
        return lo + (hi - lo) * u(rng);
    };
    std::vector<MetricsReport> out;
    for (int s = 0; s < kStreamSources; ++s) {
        ReportBuilder b =
            report_builder(m.schema, m.reference, m.manifest.name, m.manifest.version, utc_day(unix_now()));
        for (int i = 0; i < kPerRound; ++i) {
            const ImageDescriptors& d = images[rng() % images.size()];
            std::vector<double> probabilities;
            if (multilabel) {
                for (size_t f = 0; f < m.reference.classes.size(); ++f) probabilities.push_back(draw(f));
            } else {
                const double p = draw(1);
                probabilities = {1 - p, p};
            }
            report_add(b, d, probabilities, decide(m.schema, probabilities), rng);
        }
        out.push_back(std::move(b.report));
    }
    return out;
}

void post_round(int port, const std::vector<MetricsReport>& reports) {
    for (size_t s = 0; s < reports.size(); ++s) {
        const std::string body = report_to_json(reports[s]).dump();
        test::RawClient c(port, "127.0.0." + std::to_string(40 + s));
        c.send(
            "POST /api/v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
            "Content-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body);
        ASSERT_EQ(test::status_of(c.receive(5000, test::has_response)), 202) << "source " << s;
    }
}

// Each source's reports so far, added up: a source is an address on a day, as the server pools it.
void accumulate(std::vector<MetricsReport>& per_source, const std::vector<MetricsReport>& round) {
    if (per_source.empty()) {
        per_source = round;
        return;
    }
    for (size_t k = 0; k < round.size(); ++k)
        if (!report_merge(per_source[k], round[k])) throw std::runtime_error("reports of another shape");
}

//-----------------------------------------------------------------------------
// [SECTION] What the server says, and the same figure computed here
//-----------------------------------------------------------------------------
// The statuses of the image descriptors in /api/v1/drift: field -> {status, psi (or -1)}.
std::map<std::string, std::pair<std::string, double>> served_statuses(const Server& s, const std::string& task) {
    auto res = s.operator_client().Get("/api/v1/drift?model=" + task + "&version=1");
    if (!res || res->status != 200) throw std::runtime_error("GET /api/v1/drift failed");
    const Json d = Json::parse(res->body);
    std::map<std::string, std::pair<std::string, double>> out;
    for (const auto& group : {"fields", "outputs"})
        for (const auto& f : d.at(group))
            out[f.value(group == std::string("fields") ? "field" : "output", "")] = {
                f.at("status").get<std::string>(), f.contains("psi") ? f["psi"].get<double>() : -1.0};
    return out;
}

// What the server computes for a histogram of the stream (drift.cpp: sources pooled, debiased,
// compared), here for many more clean streams than one can post: per source, its reports so far
// added up (report_merge).
struct Statuses {
    bool any_alert = false;
    std::map<std::string, double> psi;  // field -> PSI, when sufficient
    std::vector<std::string> alerted;   // the histograms in alert
};
Statuses local_statuses(const Model& m, const std::vector<MetricsReport>& per_source, const Setting& setting) {
    Statuses out;
    const uint64_t min_in = histogram_patients(m.schema, setting.drift_min);
    auto compare = [&](const Histogram& ref, auto counts_of) {
        std::vector<SourceCounts> sources;
        for (const auto& r : per_source) {
            SourceCounts c{0, counts_of(r)};
            for (const uint64_t x : c.counts) c.n += x;
            sources.push_back(std::move(c));
        }
        const PooledCounts p = pool_sources(sources, ref.bins());
        const FieldDrift d =
            drift_compare(ref.name, ref.counts, p.counts, p.n, m.schema.privacy.epsilon, min_in, 0.1, 0.25);
        if (d.status == "insufficient" || p.sources < 5) return;
        out.psi[ref.name] = d.psi;
        if (d.status == "alert") out.alerted.push_back(ref.name);
        out.any_alert = out.any_alert || d.status == "alert";
    };
    for (size_t f = 0; f < m.reference.inputs(); ++f)
        compare(m.reference.input(f),
                [f](const MetricsReport& r) -> const std::vector<uint64_t>& { return r.fields[f]; });
    for (size_t c = 0; c < m.reference.classes.size(); ++c)
        compare(m.reference.classes[c],
                [c](const MetricsReport& r) -> const std::vector<uint64_t>& { return r.probabilities[c]; });
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] A shifted stream is flagged; clean streams are not
//-----------------------------------------------------------------------------
// Posts a stream round by round; returns the images posted when `field` first read "alert" (0:
// never), and checks every round that the server's PSI is the one computed here.
int images_to_alert(const Model& m, const Setting& setting, const std::string& name,
                    const std::vector<ImageDescriptors>& images, const std::string& field, uint64_t seed,
                    bool* any_alert = nullptr) {
    // A folder per model: ctest runs the binary and the multilabel model's tests at once.
    Server s(m.manifest.name + "-" + name, setting.flags());
    if (!s.start()) throw std::runtime_error("the server did not start");
    if (s.publish(demo_bundle(m.manifest.name))->status != 201) throw std::runtime_error("publish failed");
    std::mt19937_64 rng(seed);
    std::vector<MetricsReport> per_source;
    for (int round = 1; round <= setting.rounds; ++round) {
        const auto reports = round_reports(m, images, rng);
        post_round(s.port, reports);
        accumulate(per_source, reports);
        const auto served = served_statuses(s, m.manifest.name);
        const Statuses local = local_statuses(m, per_source, setting);
        for (const auto& [f, status] : served) {
            if (status.second < 0) continue;
            const auto mine = local.psi.find(f);
            if (mine == local.psi.end()) {
                ADD_FAILURE() << "the server publishes a PSI for " << f << " that the test's pooling has not";
                continue;
            }
            EXPECT_NEAR(status.second, mine->second, 1e-9) << f << " round " << round;
        }
        bool alert = false;
        for (const auto& [f, status] : served) alert = alert || status.first == "alert";
        if (any_alert) *any_alert = *any_alert || alert;
        const auto watched = served.find(field);
        if (!field.empty() && watched != served.end() && watched->second.first == "alert")
            return round * kStreamSources * kPerRound;
    }
    return 0;
}

// A change of scanner, one property at a time (brighter, more contrast, a pixel spacing given),
// each flagged within `most` images; then clean streams: none posted to the server alerts, and at
// most 1% of `streams` computed with the server's own pooling and comparison.
void scanner_change_and_clean_streams(const std::string& task, const Setting& setting, int most, int streams) {
    const Model m = demo_model(task);
    ASSERT_EQ(m.reference.image.size(), kImageDescriptors);
    const std::vector<Pixels> images = drift_images(task);
    const auto clean = describe(m, images, {});
    struct Shift {
        const char* what;
        Scanner scanner;
        std::string field;  // the histogram expected to alert
    };
    const std::vector<Shift> shifts{{"brighter by 2 grey levels", Scanner{2, 1, 0}, "image.mean_intensity"},
                                    {"contrast x 1.1", Scanner{0, 1.1, 0}, "image.contrast"},
                                    {"pixel spacing 0.14 mm given", Scanner{0, 1, 0.14}, "image.pixel_spacing"}};
    for (const auto& [what, scanner, field] : shifts) {
        const int n = images_to_alert(m, setting, "image-shift", describe(m, images, scanner), field, 7);
        std::printf("%s: %-28s %s alert after %d images\n", task.c_str(), what, field.c_str(), n);
        EXPECT_GT(n, 0) << what << ": not flagged within " << setting.images() << " images";
        EXPECT_LE(n, most) << what;
    }
    // Clean streams through the server: no alert in any round.
    const int served_streams = test::on_postgres() ? 3 : 10;
    int served_alerts = 0;
    for (int i = 0; i < served_streams; ++i) {
        bool alert = false;
        images_to_alert(m, setting, "image-clean", clean, "", 100 + static_cast<uint64_t>(i), &alert);
        served_alerts += alert;
    }
    // Many more clean streams with the server's own computation (checked equal above, every round).
    int alerts = 0;
    std::map<std::string, int> alerted;  // histogram -> clean streams it alerted in
    for (int i = 0; i < streams; ++i) {
        std::mt19937_64 rng(5000 + static_cast<uint64_t>(i));
        std::vector<MetricsReport> per_source;
        bool alert = false;
        for (int round = 1; round <= setting.rounds && !alert; ++round) {
            accumulate(per_source, round_reports(m, clean, rng));
            const Statuses st = local_statuses(m, per_source, setting);
            alert = st.any_alert;
            for (const auto& f : st.alerted) ++alerted[f];
        }
        alerts += alert;
    }
    std::printf("%s: clean streams of %d images with an alert in any round: %d of %d served, %d of %d computed\n",
                task.c_str(), setting.images(), served_alerts, served_streams, alerts, streams);
    for (const auto& [f, n] : alerted) std::printf("  %s alerted in %d clean streams\n", f.c_str(), n);
    EXPECT_EQ(served_alerts, 0);
    EXPECT_LE(alerts, streams / 100);  // at most 1%
}

// (Over the 1,600 training images the tensor's mean varies with a standard deviation of about
// 0.015 and its standard deviation by about 0.025: 2 grey levels move the mean by 0.031, a
// contrast of 1.1 the standard deviation by about 0.05.)
TEST(Server, ImageDriftFlagsANewScannerAndNotACleanStream) {
    scanner_change_and_clean_streams("opacity-demo", Setting{4000, 80}, 4500, 1000);
}

// The multi-label demonstration (three findings): its report has 12 histograms (the 9 image
// descriptors and each finding's probability, no predicted class), so each holds about
// drift_min / 12 images. Its findings' probabilities spread over 8 or 9 of their 10 bins (the binary
// demo's over 2): at 4,000, 30 of 300 clean streams of 8,000 images alerted in a finding's
// histogram; at 8,000 (streams of 12,000) 1 of 300.
TEST(Server, MultilabelImageDriftFlagsANewScannerAndNotACleanStream) {
    scanner_change_and_clean_streams("multilabel-demo", Setting{8000, 120}, 9000, 300);
}

//-----------------------------------------------------------------------------
// [SECTION] Each finding's estimated performance
//-----------------------------------------------------------------------------
// The multi-label demo's 40 held-out test images (test/: make_cnn.py --multilabel draws them, never
// trained on nor calibrated on; labels.csv gives each finding, reference.csv the model's
// probabilities), drawn 25,000 times into one report from each of five sources, as a clean stream. The
// server estimates each finding's figures from that finding's randomized probability histogram and
// the reliability table the bundle's card holds for it (`localdx bundle` evaluated the 300
// calibration images), and /metrics publishes them labelled by finding. The truth is each
// finding's figure over the images posted, from their labels.
std::vector<std::vector<std::string>> csv_rows(const std::string& path) {
    std::vector<std::vector<std::string>> out;
    std::istringstream in(test::read_file(path));
    std::string line;
    while (std::getline(in, line)) {
        std::vector<std::string> cells;
        std::istringstream l(line);
        for (std::string c; std::getline(l, c, ',');) cells.push_back(c);
        out.push_back(std::move(cells));
    }
    return out;
}

// One held-out test image: each finding's probability and label, and its descriptors.
struct Held {
    std::vector<double> p;
    std::vector<int> y;
    ImageDescriptors d;
};
std::vector<Held> held_test_images(const Model& m) {
    const size_t k = m.schema.outputs.classes.size();
    const std::string dir = kDemo + "/train/multilabel-demo/test/";
    const auto labels = csv_rows(dir + "labels.csv"), probs = csv_rows(dir + "reference.csv");
    if (labels.size() != 41 || probs.size() != labels.size())
        throw std::runtime_error(dir + ": labels.csv and reference.csv do not hold 40 images each");
    std::vector<Held> held;
    for (size_t r = 1; r < labels.size(); ++r) {
        if (labels[r][0] != probs[r][0]) throw std::runtime_error(dir + ": labels.csv and reference.csv disagree");
        Held h;
        for (size_t f = 0; f < k; ++f) {
            if (labels[0][f + 1] != m.schema.outputs.classes[f].name)
                throw std::runtime_error(dir + "labels.csv: column " + labels[0][f + 1] + " is not a finding");
            h.y.push_back(std::stoi(labels[r][f + 1]));
            h.p.push_back(std::stod(probs[r][f + 1]));
        }
        auto bytes = file_read(dir + labels[r][0], size_t{1} << 24);
        if (!bytes) throw std::runtime_error(bytes.error().describe());
        auto px = image_file_decode(*bytes);
        if (!px) throw std::runtime_error(px.error().describe());
        h.d = describe(m, {*px}, {})[0];
        held.push_back(std::move(h));
    }
    return held;
}

// One report per stream source, each of `rows` held-out images drawn at random; `drawn` sees each
// image as it is added.
template <typename Drawn>
std::vector<MetricsReport> held_reports(const Model& m, const std::vector<Held>& held, int rows, std::mt19937_64& rng,
                                        Drawn drawn) {
    std::vector<MetricsReport> reports;
    for (int src = 0; src < kStreamSources; ++src) {
        ReportBuilder b =
            report_builder(m.schema, m.reference, m.manifest.name, m.manifest.version, utc_day(unix_now()));
        for (int i = 0; i < rows; ++i) {
            const Held& h = held[rng() % held.size()];
            report_add(b, h.d, h.p, decide(m.schema, h.p), rng);
            drawn(h);
        }
        reports.push_back(std::move(b.report));
    }
    return reports;
}

TEST(Server, MultilabelDriftEstimatesEachFindingsPerformanceFromItsHistogram) {
    const Model m = demo_model("multilabel-demo");
    const size_t k = m.schema.outputs.classes.size();
    ASSERT_TRUE(m.card.contains("metrics") && m.card["metrics"].contains("findings"))
        << "the demo bundle's card has no per-finding evaluation: build the demo bundles again";
    const std::vector<Held> held = held_test_images(m);
    Server s("ml-estimate", Setting{2000, 1}.flags());
    ASSERT_TRUE(s.start());
    ASSERT_EQ(s.publish(demo_bundle("multilabel-demo"))->status, 201);
    std::mt19937_64 rng(3);
    std::vector<std::vector<double>> score(k);
    std::vector<std::vector<int>> truth(k);
    post_round(s.port, held_reports(m, held, 5000, rng, [&](const Held& h) {
                   for (size_t f = 0; f < k; ++f) score[f].push_back(h.p[f]), truth[f].push_back(h.y[f]);
               }));
    auto res = s.operator_client().Get("/api/v1/drift?model=multilabel-demo&version=1");
    ASSERT_TRUE(res && res->status == 200);
    const Json perf = Json::parse(res->body).at("performance");
    ASSERT_EQ(perf.at("findings").size(), k) << perf.dump();
    const std::string prom = s.operator_client().Get("/metrics")->body;
    for (size_t f = 0; f < k; ++f) {
        const std::string& name = m.schema.outputs.classes[f].name;
        const Json& e = perf["findings"][f];
        ASSERT_EQ(e.at("finding"), name);
        ASSERT_TRUE(e.contains("figures")) << e.dump();
        const Confusion c = confusion_at(score[f], truth[f], m.schema.outputs.thresholds[f]);
        const std::pair<const char*, double> truths[] = {{"auc", auc_roc(score[f], truth[f], 1)},
                                                         {"sensitivity", c.sensitivity()},
                                                         {"specificity", c.specificity()},
                                                         {"ppv", c.ppv()}};
        std::printf("%s (%llu in its histogram, %llu patients):", name.c_str(),
                    static_cast<unsigned long long>(e["predictions"].get<uint64_t>()),
                    static_cast<unsigned long long>(e["patients"].get<uint64_t>()));
        for (const auto& [key, t] : truths) {
            const Json& x = e["figures"][key];
            std::printf(" %s %.3f [%.3f, %.3f] card %.3f true %.3f;", key, x["value"].get<double>(),
                        x["ci95"][0].get<double>(), x["ci95"][1].get<double>(),
                        x["card"].is_number() ? x["card"].get<double>() : NAN, t);
            EXPECT_TRUE(x["card"].is_number()) << name << " " << key;
            // Close to the truth of these 40 images (whose outcomes depart from the 300 calibration
            // images' by chance, which no interval about the stream's own patients covers).
            EXPECT_NEAR(x["value"].get<double>(), t, 0.05) << name << " " << key;
        }
        std::printf("\n");
        // Judged against the lower end of the card's own interval, as the alert rule does
        // (LocalDxEstimatedPerformanceDrop reads localdx_model_card_*_lower): a figure is below the
        // card only where these 40 images' truth is (the streak's specificity and PPV: 0.63 and
        // 0.69 against 0.79 and 0.83 on the calibration images), never a perfect card figure
        // (1.000 on the 300 calibration images, which no estimate reaches) nor the AUC or the
        // sensitivity the alert rule reads.
        for (const auto& [key, t] : truths) {
            const Json& x = e["figures"][key];
            EXPECT_LE(x["card_lower"].get<double>(), x["card"].get<double>()) << name << " " << key;
            if (x["below_card"].get<bool>()) EXPECT_LT(t, x["card_lower"].get<double>()) << name << " " << key;
            if (x["card"].get<double>() == 1.0) EXPECT_FALSE(x["below_card"].get<bool>()) << name << " " << key;
        }
        EXPECT_FALSE(e["figures"]["auc"]["below_card"].get<bool>()) << name;
        EXPECT_FALSE(e["figures"]["sensitivity"]["below_card"].get<bool>()) << name;
        EXPECT_NE(
            prom.find("localdx_model_card_auc_lower{model=\"multilabel-demo\",version=\"1\",finding=\"" + name + "\"}"),
            std::string::npos)
            << name;
        EXPECT_NE(prom.find("localdx_estimated_auc{model=\"multilabel-demo\",version=\"1\",finding=\"" + name + "\"}"),
                  std::string::npos)
            << name;
        EXPECT_NE(prom.find("localdx_model_card_sensitivity{model=\"multilabel-demo\",version=\"1\",finding=\"" + name +
                            "\"}"),
                  std::string::npos)
            << name;
    }
}

// A multi-label card without the per-finding reliability tables (metrics.findings): the same
// bundle re-signed with the demo's key, its card's findings removed. Every finding is reported
// "not_estimated" with the reason and what writes the tables, in the drift JSON, and /metrics
// publishes no estimated figure for any finding.
TEST(Server, MultilabelDriftSaysEachFindingIsNotEstimatedWithoutItsReliabilityTable) {
    const Model m = demo_model("multilabel-demo");
    const size_t k = m.schema.outputs.classes.size();
    auto root = trust_root_parse(test::read_file(kDemo + "/keys/trust.json"), 1800000000);
    ASSERT_TRUE(root) << root.error().describe();
    auto v = bundle_verify(demo_bundle("multilabel-demo"), *root, VerifyPolicy{1800000000, 0, {}});
    ASSERT_TRUE(v) << v.error().describe();
    Json card = Json::parse(v->members.at("card.json"));
    ASSERT_TRUE(card.contains("metrics") && card["metrics"].contains("findings"));
    card["metrics"].erase("findings");
    std::map<std::string, Bytes> members = v->members;
    members["card.json"] = card.dump();
    auto key = signing_key_parse(test::read_file(kDemo + "/keys/signing-key.json"));
    ASSERT_TRUE(key) << key.error().describe();
    auto bytes = bundle_write(v->manifest, members, {*key});
    ASSERT_TRUE(bytes) << bytes.error().describe();

    const std::vector<Held> held = held_test_images(m);
    Server s("ml-not-estimated", Setting{200, 1}.flags());
    ASSERT_TRUE(s.start());
    ASSERT_EQ(s.publish(*bytes)->status, 201);
    std::mt19937_64 rng(4);
    post_round(s.port, held_reports(m, held, 100, rng, [](const Held&) {}));
    auto res = s.operator_client().Get("/api/v1/drift?model=multilabel-demo&version=1");
    ASSERT_TRUE(res && res->status == 200);
    const Json drift = Json::parse(res->body);
    EXPECT_EQ(drift.at("reports"), kStreamSources) << drift.dump();
    const Json& perf = drift.at("performance");
    EXPECT_EQ(perf.at("status"), "not_estimated") << perf.dump();
    const std::string first = m.schema.outputs.classes[0].name;
    EXPECT_EQ(perf.at("reason"),
              first + ": the model card has no reliability table of P(" + first +
                  ") (`localdx bundle --calibration-labels --calibration-outputs` writes one per finding into a card "
                  "that brings no metrics of its own)");
    ASSERT_EQ(perf.at("findings").size(), k) << perf.dump();
    const std::string prom = s.operator_client().Get("/metrics")->body;
    EXPECT_NE(prom.find("localdx_reports{model=\"multilabel-demo\",version=\"1\"} " + std::to_string(kStreamSources)),
              std::string::npos);
    for (size_t f = 0; f < k; ++f) {
        const std::string& name = m.schema.outputs.classes[f].name;
        const Json& e = perf["findings"][f];
        EXPECT_EQ(e.at("finding"), name);
        EXPECT_EQ(e.at("status"), "not_estimated") << e.dump();
        EXPECT_EQ(e.at("reason"), "the model card has no reliability table of P(" + name + ")") << e.dump();
        EXPECT_FALSE(e.contains("figures")) << e.dump();
        EXPECT_EQ(prom.find("finding=\"" + name + "\""), std::string::npos) << name;
    }
    EXPECT_EQ(prom.find("localdx_estimated_auc{model=\"multilabel-demo\""), std::string::npos);
}

}  // namespace
}  // namespace ldx
