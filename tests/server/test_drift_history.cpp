// tests/server/test_drift_history.cpp — GET /api/v1/drift/history and the performance estimated
// without labels, on the real server with reports from the browser's own report builder.
//
// Index of this file
//   [SECTION] A bundle and held-out patients (labels known only to the test)
//   [SECTION] Simulated days
//   [SECTION] Covariate shift tracked, concept shift missed
//   [SECTION] Regression: the prediction interval's expected coverage
//   [SECTION] The same JSON on SQLite and PostgreSQL
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "bundle/crypto.h"
#include "drift/estimate.h"
#include "fixture.h"
#include "metrics/evaluation.h"
#include "io/files.h"
#include "raw_client.h"

namespace ldx {
namespace {

//-----------------------------------------------------------------------------
// [SECTION] A bundle and held-out patients (labels known only to the test)
//-----------------------------------------------------------------------------
// The Pima rows split once (seeded): a third held out, the rest given to `localdx train` and
// `localdx bundle` (the demo signing key), so the bundle never saw the held-out patients. Every
// patient's outcome, in training and in the simulated days, is drawn from a risk known only to
// the test (true_risk: a logistic risk on the Pima inputs), so each simulated patient has an
// outcome of its own, as each patient of a real day does. (The held-out rows' real outcomes are
// 256: a day of 6,000 patients drawn from them repeats each outcome some 23 times, and every day
// shares those 256 outcomes' departure from the model's calibration, which the interval, about a
// day's own patients, does not and cannot cover.)
//
// The risk: the coefficients of a logistic regression of the Pima outcome on these inputs, rounded
// (a missing glucose or BMI taken at its typical value).
double true_risk(double pregnant, double glucose, double mass, double pedigree, double age) {
    if (std::isnan(glucose)) glucose = 120;
    if (std::isnan(mass)) mass = 32;
    const double z = -8.4 + 0.12 * (std::isnan(pregnant) ? 3 : pregnant) + 0.035 * glucose + 0.09 * mass +
                     0.95 * (std::isnan(pedigree) ? 0.45 : pedigree) + 0.015 * (std::isnan(age) ? 33 : age);
    return 1 / (1 + std::exp(-z));
}
double true_risk(const Schema& s, std::span<const double> values) {
    auto at = [&](const char* f) { return values[static_cast<size_t>(s.find_field(f))]; };
    return true_risk(at("pregnant"), at("glucose"), at("mass"), at("pedigree"), at("age"));
}

struct HeldOut {
    std::string bundle;  // the signed bundle's bytes
    Model model;
    Dataset rows;  // the held-out rows with their outcomes
};

Model model_of(const std::string& bundle) {
    auto root = trust_root_parse(test::read_file(kDemo + "/keys/trust.json"), 1800000000);
    if (!root) throw std::runtime_error("demo trust root: " + root.error().describe());
    auto v = bundle_verify(bundle, *root, VerifyPolicy{unix_now(), 0, {}});
    if (!v) throw std::runtime_error("held-out bundle: " + v.error().describe());
    auto m = model_from_bundle(*v);
    if (!m) throw std::runtime_error("held-out bundle: " + m.error().describe());
    return std::move(*m);
}

HeldOut held_out_pima() {
    const std::string dir = work_dir() + "/held-out-pima";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::istringstream in(test::read_file(test::data_path("pima-diabetes")));
    std::string header, line;
    std::getline(in, header);
    std::vector<std::string> lines;
    while (std::getline(in, line))
        if (!line.empty()) lines.push_back(line);
    std::mt19937_64 rng(37);
    std::shuffle(lines.begin(), lines.end(), rng);
    const size_t held = lines.size() / 3;
    std::ofstream train(dir + "/train.csv"), test_rows(dir + "/held-out.csv");
    train << header << "\n";
    test_rows << header << "\n";
    // Training rows: their inputs, with an outcome drawn from the risk in place of the real one.
    for (size_t i = 0; i < lines.size(); ++i) {
        if (i < held) {
            test_rows << lines[i] << "\n";
            continue;
        }
        std::vector<double> v;
        std::istringstream cells(lines[i]);
        for (std::string cell; std::getline(cells, cell, ',');)
            v.push_back(cell == "NA" || cell.empty() ? NAN : std::atof(cell.c_str()));
        const bool positive =
            std::uniform_real_distribution<double>(0, 1)(rng) < true_risk(v[0], v[1], v[5], v[6], v[7]);
        train << lines[i].substr(0, lines[i].rfind(',')) << (positive ? ",pos" : ",neg") << "\n";
    }
    train.close();
    test_rows.close();
    const std::string cli = LOCALDX_CLI_BIN, task = test::source_path("models/pima-diabetes");
    const std::string commands = cli + " train --task " + task + " --data " + dir + "/train.csv --out " + dir +
                                 "/train > " + dir + "/log 2>&1 && " + cli + " bundle --schema " + dir +
                                 "/train/schema.json --model " + dir + "/train/model.xgb.json --card " + dir +
                                 "/train/card.json --reference " + dir +
                                 "/train/reference.json --name pima-diabetes --version 1 --key " + kDemo +
                                 "/keys/signing-key.json --out " + dir + "/held-out.ldxb >> " + dir + "/log 2>&1";
    if (std::system(commands.c_str()) != 0)
        throw std::runtime_error("training on two thirds of Pima: " + test::read_file(dir + "/log"));
    HeldOut h{test::read_file(dir + "/held-out.ldxb"), {}, {}};
    h.model = model_of(h.bundle);
    auto rows = dataset_from_csv(h.model.schema, test::read_file(dir + "/held-out.csv"), true);
    if (!rows) throw std::runtime_error("held-out rows: " + rows.error().describe());
    h.rows = std::move(*rows);
    return h;
}

//-----------------------------------------------------------------------------
// [SECTION] Simulated days
//-----------------------------------------------------------------------------
// Each day 6 sources (a client address each) score 1,000 patients drawn (with replacement) from
// the held-out rows, in reports of 100 built and randomized by the shared report builder (what
// the browser runs). Each patient's outcome is drawn from true_risk, and never leaves the test. 28 of the 30 days are
// written into the stopped server's store as its ingest writes them (store_days), since the server takes reports dated
// yesterday, today and tomorrow only; the last two are posted to the running server over HTTP (post_days).
//   baseline:  patients as in the held-out rows;
//   covariate: older or heavier patients (a row with age >= 40 or BMI >= 38 four times in five),
//              outcomes still from the risk;
//   concept:   patients as in the held-out rows, but the outcome follows another rule: for half
//              of them (a coin per patient) it is no longer drawn from the risk but at the
//              held-out rows' mean risk, whatever the inputs (the same inputs, another rule).
enum class Phase { baseline, covariate, concept_shift };
constexpr int kSources = 6, kPerSource = 1000, kPerReport = 100;

struct Day {
    std::string day;
    Phase phase = Phase::baseline;
    std::vector<std::vector<MetricsReport>> sources;  // per source, its reports
    double auc = 0, sensitivity = 0;                  // true, from the held outcomes
    // What the estimate would say without randomized response (the day's exact histogram of
    // probabilities, with the card's out-of-fold outcomes per bin).
    double exact_auc = 0, exact_sensitivity = 0;
};

// The bundle card's out-of-fold outcomes per probability bin (its reliability table).
CalibrationByBin calibration_of(const Model& m) {
    const Histogram& ref = m.reference.classes[static_cast<size_t>(m.schema.outputs.positive)];
    auto c = calibration_from_reliability(m.card["metrics"]["calibration"]["reliability"], ref);
    if (!c) throw std::runtime_error("the card's calibration by probability: " + c.error().describe());
    return *c;
}

Day simulate_day(const Model& m, const Dataset& data, const std::string& day, Phase phase, std::mt19937_64& rng) {
    Day d{day, phase, {}, 0, 0};
    const size_t nf = m.schema.fields.size();
    const size_t age = static_cast<size_t>(m.schema.find_field("age")),
                 mass = static_cast<size_t>(m.schema.find_field("mass"));
    const int positive = m.schema.outputs.positive;
    std::vector<size_t> older_heavier;
    double prevalence = 0;
    for (size_t r = 0; r < data.rows(); ++r) {
        if (data.values[r * nf + age] >= 40 || data.values[r * nf + mass] >= 38) older_heavier.push_back(r);
        prevalence += true_risk(m.schema, std::span<const double>(data.values).subspan(r * nf, nf)) /
                      static_cast<double>(data.rows());
    }
    std::vector<double> scores;
    std::vector<int> labels;
    std::uniform_real_distribution<double> u(0, 1);
    for (int s = 0; s < kSources; ++s) {
        std::vector<MetricsReport> reports;
        for (int r = 0; r < kPerSource / kPerReport; ++r) {
            ReportBuilder b = report_builder(m.schema, m.reference, m.manifest.name, m.manifest.version, day);
            for (int i = 0; i < kPerReport; ++i) {
                const size_t row = phase == Phase::covariate && u(rng) < 0.8
                                       ? older_heavier[rng() % older_heavier.size()]
                                       : rng() % data.rows();
                std::vector<double> values(data.values.begin() + static_cast<long>(row * nf),
                                           data.values.begin() + static_cast<long>((row + 1) * nf));
                const auto p = probabilities_from_margin(
                    m.ensemble->link, ensemble_margin(*m.ensemble, features_from_values(m.schema, values)));
                int label = u(rng) < true_risk(m.schema, values) ? 1 : 0;
                if (phase == Phase::concept_shift && u(rng) < 0.5) label = u(rng) < prevalence ? 1 : 0;
                scores.push_back(p[static_cast<size_t>(positive)]);
                labels.push_back(label);
                report_add(b, values, p, decide(m.schema, p), rng);
            }
            reports.push_back(std::move(b.report));
        }
        d.sources.push_back(std::move(reports));
    }
    d.auc = auc_roc(scores, labels, 1);
    d.sensitivity = confusion_at(scores, labels, m.schema.outputs.threshold).sensitivity();
    const Histogram& ref = m.reference.classes[static_cast<size_t>(positive)];
    std::vector<double> shares(ref.bins(), 0);
    for (double p : scores) shares[histogram_bin(ref, p)] += 1.0 / static_cast<double>(scores.size());
    const CalibrationByBin calibration = calibration_of(m);
    const Performance exact = performance_expected(ref, shares, m.schema.outputs.threshold, &calibration);
    d.exact_auc = exact.auc;
    d.exact_sensitivity = exact.sensitivity;
    return d;
}

// Stores a day's reports through the store's own interface (the server is stopped): the server
// accepts reports only for yesterday, today and tomorrow, so earlier days are written as its
// ingest writes them (each report's JSON read back by the server's own parser, one pseudonymous
// source id per source). The server reads its clock from the system and has no flag to set it
// back: one that let it accept back-dated reports would be a way around that rule in production.
void store_days(Store& store, const Model& model, const std::vector<Day>& days) {
    for (const Day& d : days) {
        std::vector<IncomingReport> batch;
        for (size_t s = 0; s < d.sources.size(); ++s)
            for (const auto& r : d.sources[s]) {
                // Read back from its JSON by the server's own parser, as the ingest receives it.
                auto parsed = report_parse(report_to_json(r).dump(), model.schema, model.reference);
                ASSERT_TRUE(parsed.ok()) << parsed.error().describe();
                batch.push_back({std::move(*parsed), "", "simulated-" + d.day + "-" + std::to_string(s)});
            }
        auto stored = store.add_reports(batch, 1000000);
        ASSERT_TRUE(stored.ok()) << stored.error().describe();
    }
}

// Posts a day's reports to the server over HTTP, each source from its own loopback address.
void post_days(int port, const std::vector<Day>& days) {
    for (const Day& d : days)
        for (size_t s = 0; s < d.sources.size(); ++s)
            for (const auto& r : d.sources[s]) {
                const std::string body = report_to_json(r).dump();
                test::RawClient c(port, "127.0.0." + std::to_string(20 + s));
                c.send(
                    "POST /api/v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "Connection: close\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body);
                ASSERT_EQ(test::status_of(c.receive(5000, test::has_response)), 202) << d.day << " source " << s;
            }
}

// The --store value a Server was given (empty: SQLite under its data folder).
std::string store_of(const Server& s) {
    std::string where;
    for (size_t i = 0; i + 1 < s.args.size(); ++i)
        if (s.args[i] == "--store") where = s.args[i + 1];
    return where;
}

// Writes `days` into the stopped server's store.
void store_days_of(const Server& s, const Model& m, const std::vector<Day>& days) {
    auto store = store_open(store_of(s), s.dir + "/data", 1);
    ASSERT_TRUE(store.ok()) << store.error().describe();
    store_days(**store, m, days);
}

const std::vector<std::string> kHistoryFlags = {"--rate-limit",     "0",      "--drift-min", "2000",
                                                "--source-day-max", "100000", "--threads",   "4"};

//-----------------------------------------------------------------------------
// [SECTION] Covariate shift tracked, concept shift missed
//-----------------------------------------------------------------------------
TEST(Server, EstimatedPerformanceTracksACovariateShiftAndMissesAConceptShift) {
    const HeldOut held = held_out_pima();
    const Model& m = held.model;
    const Dataset* data = &held.rows;
    // 30 days to today: 8 baseline, 8 concept shift, 14 covariate shift (the last two, yesterday
    // and today, posted over HTTP; the others written to the store, as the server only takes
    // reports of yesterday, today and tomorrow).
    std::mt19937_64 rng(2026);
    const int64_t now = unix_now();
    std::vector<Day> days;
    for (int i = 0; i < 30; ++i) {
        const Phase phase = i < 8 ? Phase::baseline : i < 16 ? Phase::concept_shift : Phase::covariate;
        days.push_back(simulate_day(m, *data, utc_day(now - int64_t{29 - i} * 86400), phase, rng));
    }
    Server s("history", kHistoryFlags);
    store_days_of(s, m, std::vector<Day>(days.begin(), days.end() - 2));
    ASSERT_TRUE(s.start());
    ASSERT_EQ(s.publish(held.bundle)->status, 201);
    post_days(s.port, std::vector<Day>(days.end() - 2, days.end()));

    const std::string target =
        "/api/v1/drift/history?model=pima-diabetes&from=" + days.front().day + "&to=" + days.back().day;
    // Operators only: anonymous and administrator requests get 401.
    EXPECT_EQ(s.client().Get(target)->status, 401);
    auto admin = s.client();
    admin.set_bearer_token_auth(kToken.c_str());
    EXPECT_EQ(admin.Get(target)->status, 401);
    EXPECT_EQ(s.operator_client().Get("/api/v1/drift/history?model=pima-diabetes&from=2026-13-01")->status, 400);
    EXPECT_EQ(
        s.operator_client().Get("/api/v1/drift/history?model=pima-diabetes&from=2026-01-02&to=2026-01-01")->status,
        400);
    EXPECT_EQ(s.operator_client().Get("/api/v1/drift/history?model=nope")->status, 404);

    auto res = s.operator_client().Get(target);
    ASSERT_EQ(res->status, 200) << res->body;
    const Json h = Json::parse(res->body);
    ASSERT_EQ(h.at("periods").size(), 30u) << res->body.substr(0, 2000);
    int tracked_auc = 0, tracked_sens = 0, tracked_days = 0, concept_outside = 0, exact_auc_in = 0, exact_sens_in = 0;
    double est_baseline = 0, est_concept = 0, true_baseline = 0, true_concept = 0, age_psi[3] = {0, 0, 0};
    // Means per phase (baseline, covariate) of the estimate and the truth: AUC, sensitivity.
    double est_mean[2][2] = {{0, 0}, {0, 0}}, true_mean[2][2] = {{0, 0}, {0, 0}};
    for (size_t i = 0; i < days.size(); ++i) {
        const Json& p = h["periods"][i];
        ASSERT_EQ(p.at("from"), days[i].day);
        EXPECT_EQ(p.at("predictions"), kSources * kPerSource);
        EXPECT_EQ(p.at("sources"), kSources);
        const Json& perf = p.at("performance");
        ASSERT_TRUE(perf.contains("figures")) << perf.dump();
        const Json& auc = perf["figures"].at("auc");
        const Json& sens = perf["figures"].at("sensitivity");
        const bool auc_in = auc["ci95"][0].get<double>() <= days[i].auc && days[i].auc <= auc["ci95"][1].get<double>();
        const bool sens_in = sens["ci95"][0].get<double>() <= days[i].sensitivity &&
                             days[i].sensitivity <= sens["ci95"][1].get<double>();
        std::printf(
            "%s %-9s AUC est %.3f [%.3f, %.3f] exact %.3f true %.3f %s | sensitivity est %.3f [%.3f, %.3f] "
            "exact %.3f true %.3f %s\n",
            days[i].day.c_str(),
            days[i].phase == Phase::baseline    ? "baseline"
            : days[i].phase == Phase::covariate ? "covariate"
                                                : "concept",
            auc["value"].get<double>(), auc["ci95"][0].get<double>(), auc["ci95"][1].get<double>(), days[i].exact_auc,
            days[i].auc, auc_in ? "in" : "OUT", sens["value"].get<double>(), sens["ci95"][0].get<double>(),
            sens["ci95"][1].get<double>(), days[i].exact_sensitivity, days[i].sensitivity, sens_in ? "in" : "OUT");
        // The model card's out-of-fold figure, beside the estimate.
        EXPECT_EQ(auc.at("card"),
                  std::round(m.card["metrics"]["class"]["pos"]["auc_roc"]["value"].get<double>() * 1e4) / 1e4);
        for (const auto& f : p["fields"])
            if (f["field"] == "age") age_psi[static_cast<int>(days[i].phase)] += f.at("psi").get<double>();
        if (days[i].phase == Phase::concept_shift) {
            est_concept += auc["value"].get<double>() / 8;
            true_concept += days[i].auc / 8;
            concept_outside += auc_in ? 0 : 1;
            continue;
        }
        if (days[i].phase == Phase::baseline) {
            est_baseline += auc["value"].get<double>() / 8;
            true_baseline += days[i].auc / 8;
        }
        const int k = days[i].phase == Phase::covariate ? 1 : 0;
        const double share = 1.0 / (k ? 14 : 8);
        est_mean[k][0] += auc["value"].get<double>() * share;
        est_mean[k][1] += sens["value"].get<double>() * share;
        true_mean[k][0] += days[i].auc * share;
        true_mean[k][1] += days[i].sensitivity * share;
        ++tracked_days;
        tracked_auc += auc_in;
        tracked_sens += sens_in;
        exact_auc_in +=
            auc["ci95"][0].get<double>() <= days[i].exact_auc && days[i].exact_auc <= auc["ci95"][1].get<double>();
        exact_sens_in += sens["ci95"][0].get<double>() <= days[i].exact_sensitivity &&
                         days[i].exact_sensitivity <= sens["ci95"][1].get<double>();
    }
    std::printf(
        "covariate shift and baseline: the interval held the true AUC on %d/%d days, the true sensitivity "
        "on %d/%d\nconcept shift: estimated AUC %.3f (baseline %.3f), true AUC %.3f (baseline %.3f); "
        "outside the interval on %d/8 days\n",
        tracked_auc, tracked_days, tracked_sens, tracked_days, est_concept, est_baseline, true_concept, true_baseline,
        concept_outside);
    std::printf(
        "the interval held what the card's reliability table expects of the same patients (no randomized response) "
        "on %d/%d days for the AUC, %d/%d for the sensitivity\n"
        "baseline to covariate shift: estimated AUC %.3f -> %.3f (true %.3f -> %.3f), sensitivity %.3f -> %.3f "
        "(true %.3f -> %.3f)\n",
        exact_auc_in, tracked_days, exact_sens_in, tracked_days, est_mean[0][0], est_mean[1][0], true_mean[0][0],
        true_mean[1][0], est_mean[0][1], est_mean[1][1], true_mean[0][1], true_mean[1][1]);
    // What the issue asks, through the real server and the clients' randomized reports: the
    // interval holds the day's true AUC and sensitivity (from the outcomes only the test holds) on
    // at least 90% of days, as it holds what the card's calibration expects of the day's patients.
    EXPECT_GE(tracked_auc * 10, tracked_days * 9);
    EXPECT_GE(tracked_sens * 10, tracked_days * 9);
    EXPECT_GE(exact_auc_in * 10, tracked_days * 9);
    EXPECT_GE(exact_sens_in * 10, tracked_days * 9);
    // The estimate follows the covariate shift as the true figures move (the AUC falls, the
    // sensitivity rises among older, heavier patients), by about as much.
    for (int f = 0; f < 2; ++f) {
        EXPECT_GT(std::abs(true_mean[1][f] - true_mean[0][f]), 0.03) << f;
        EXPECT_GT((est_mean[1][f] - est_mean[0][f]) * (true_mean[1][f] - true_mean[0][f]), 0) << f;
        EXPECT_NEAR(est_mean[1][f] - est_mean[0][f], true_mean[1][f] - true_mean[0][f], 0.03) << f;
    }
    // The covariate shift is a real shift: age drifts on those days and not on the others.
    EXPECT_GT(age_psi[1] / 14, 2 * age_psi[0] / 8);
    // Concept shift is not detected, and the test says so: the true AUC falls, the estimate does
    // not move, and the true figure leaves the interval on most days.
    EXPECT_LT(true_concept, true_baseline - 0.08);
    EXPECT_NEAR(est_concept, est_baseline, 0.03);
    EXPECT_GE(concept_outside, 6);

    // Per week: the same reports in ISO weeks, clipped to the range.
    const Json w = Json::parse(s.operator_client().Get(target + "&period=week")->body);
    EXPECT_EQ(w.at("period"), "week");
    uint64_t weekly = 0;
    for (const auto& p : w.at("periods")) weekly += p.at("predictions").get<uint64_t>();
    EXPECT_EQ(weekly, 30u * kSources * kPerSource);
    EXPECT_EQ(w["periods"][0]["from"], days.front().day);
    EXPECT_EQ(w["periods"].back()["to"], days.back().day);

    // Prometheus: the estimate over the drift window (the last 7 days: covariate shift), beside the card.
    const std::string prom = s.operator_client().Get("/metrics")->body;
    for (const char* series :
         {"localdx_estimated_auc{", "localdx_estimated_auc_lower{", "localdx_estimated_auc_upper{",
          "localdx_estimated_sensitivity{", "localdx_model_card_auc{", "localdx_estimated_alert_rate{"})
        EXPECT_NE(prom.find(std::string(series) + "model=\"pima-diabetes\",version=\"1\"}"), std::string::npos)
            << series;
    const std::string exposition = s.dir + "/metrics.txt";
    std::ofstream(exposition) << prom;
    EXPECT_EQ(std::system(("promtool check metrics < " + exposition + " > " + exposition + ".check 2>&1").c_str()), 0)
        << test::read_file(exposition + ".check");
}

//-----------------------------------------------------------------------------
// [SECTION] Regression: the prediction interval's expected coverage
//-----------------------------------------------------------------------------
// The demo regression bundle, today's reports from its own rows over HTTP: per level an estimate
// with an interval beside the card's cross-fitted coverage, in the history and in Prometheus. (How
// well the estimate tracks a shift: DriftEstimate.IntervalCoverageFollowsWherePredictionsFall.)
TEST(Server, RegressionHistoryEstimatesTheIntervalCoverage) {
    const Model m = demo_model("diabetes-progression");
    ASSERT_TRUE(m.card["metrics"]["conformal"].contains("by_predicted_value"));
    Server s("history-regression", kHistoryFlags);
    ASSERT_TRUE(s.start());
    ASSERT_EQ(s.publish(demo_bundle("diabetes-progression"))->status, 201);
    const auto reports = make_reports(m, "diabetes-progression", 60, 100, "", 0, 11);
    for (size_t r = 0; r < reports.size(); ++r) {
        test::RawClient c(s.port, "127.0.0." + std::to_string(20 + r % 6));
        c.send(
            "POST /api/v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Connection: close\r\nContent-Length: " +
            std::to_string(reports[r].size()) + "\r\n\r\n" + reports[r]);
        ASSERT_EQ(test::status_of(c.receive(5000, test::has_response)), 202) << r;
    }
    const std::string today = utc_day(unix_now());
    auto res =
        s.operator_client().Get("/api/v1/drift/history?model=diabetes-progression&from=" + today + "&to=" + today);
    ASSERT_EQ(res->status, 200) << res->body;
    const Json perf = Json::parse(res->body)["periods"][0]["performance"];
    ASSERT_EQ(perf.at("status"), "ok") << perf.dump();
    const Json& levels = perf["figures"].at("interval_coverage");
    ASSERT_EQ(levels.size(), 3u) << perf.dump();
    for (size_t l = 0; l < 3; ++l) {
        const Json& f = levels[l];
        const double card = m.card["metrics"]["conformal"]["levels"][l]["coverage"].get<double>();
        EXPECT_EQ(f.at("level"), m.card["metrics"]["conformal"]["levels"][l]["level"]);
        EXPECT_EQ(f.at("card"), std::round(card * 1e4) / 1e4);
        // The training rows themselves: the estimate's interval holds the card's coverage.
        EXPECT_LE(f["ci95"][0].get<double>(), card) << f.dump();
        EXPECT_GE(f["ci95"][1].get<double>(), card) << f.dump();
        EXPECT_LT(f["ci95"][1].get<double>() - f["ci95"][0].get<double>(), 0.2) << f.dump();
    }
    const std::string prom = s.operator_client().Get("/metrics")->body;
    for (const char* series : {"localdx_estimated_interval_coverage{", "localdx_estimated_interval_coverage_lower{",
                               "localdx_model_card_interval_coverage{"})
        EXPECT_NE(prom.find(std::string(series) + "model=\"diabetes-progression\",version=\"1\",level=\"0.9\"}"),
                  std::string::npos)
            << series;
}

//-----------------------------------------------------------------------------
// [SECTION] The same JSON on SQLite and PostgreSQL
//-----------------------------------------------------------------------------
// The same reports (four days written to the store, yesterday and today over HTTP) to a server on
// PostgreSQL and one on SQLite: byte-identical history, per day and per week.
TEST(Server, DriftHistoryIsTheSameJsonOnSqliteAndPostgresql) {
    if (!test::on_postgres()) GTEST_SKIP() << "needs both stores: runs as postgresql.Server.*";
    const Model m = demo_model("pima-diabetes");
    const auto data = dataset_from_csv(m.schema, test::read_file(test::data_path("pima-diabetes")), true);
    ASSERT_TRUE(data.ok());
    std::mt19937_64 rng(7);
    const int64_t now = unix_now();
    std::vector<Day> days;
    for (int i = 0; i < 6; ++i)
        days.push_back(simulate_day(m, *data, utc_day(now - int64_t{5 - i} * 86400),
                                    i < 3 ? Phase::baseline : Phase::covariate, rng));
    Server pg("history-pg", kHistoryFlags);
    std::vector<std::string> sqlite_flags = kHistoryFlags;
    sqlite_flags.insert(sqlite_flags.end(), {"--store", ""});  // the last --store wins: SQLite
    Server lite("history-sqlite", sqlite_flags);
    ASSERT_NE(store_of(pg), "");
    ASSERT_EQ(store_of(lite), "");
    std::string answers[2][2];
    int k = 0;
    for (Server* s : {&pg, &lite}) {
        store_days_of(*s, m, std::vector<Day>(days.begin(), days.end() - 2));
        ASSERT_TRUE(s->start());
        ASSERT_EQ(s->publish(demo_bundle("pima-diabetes"))->status, 201);
        post_days(s->port, std::vector<Day>(days.end() - 2, days.end()));
        const std::string target =
            "/api/v1/drift/history?model=pima-diabetes&from=" + days.front().day + "&to=" + days.back().day;
        answers[k][0] = s->operator_client().Get(target)->body;
        answers[k][1] = s->operator_client().Get(target + "&period=week")->body;
        ++k;
    }
    ASSERT_EQ(Json::parse(answers[0][0]).at("periods").size(), 6u) << answers[0][0].substr(0, 500);
    EXPECT_TRUE(Json::parse(answers[0][0])["periods"][5]["performance"].contains("figures"));
    EXPECT_EQ(answers[0][0], answers[1][0]);
    EXPECT_EQ(answers[0][1], answers[1][1]);
}

}  // namespace
}  // namespace ldx
