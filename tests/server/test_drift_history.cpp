// tests/server/test_drift_history.cpp — GET /api/v1/drift/history and the performance estimated
// without labels, on the real server with reports from the browser's own report builder.
//
// Index of this file
//   [SECTION] Simulated days (labels known only to the test)
//   [SECTION] Covariate shift tracked, concept shift missed
//   [SECTION] The same JSON on SQLite and PostgreSQL
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "bundle/crypto.h"
#include "fixture.h"
#include "metrics/evaluation.h"
#include "io/files.h"
#include "raw_client.h"

namespace ldx {
namespace {

//-----------------------------------------------------------------------------
// [SECTION] Simulated days
//-----------------------------------------------------------------------------
// Each day 6 sources (a client address each) score 1,000 patients drawn from the real Pima rows,
// in reports of 100 built and randomized by the shared report builder (what the browser runs).
// The outcome of each patient is drawn by the test and never leaves it. The demo bundle was
// trained on every Pima row, so the data's own outcomes are in-sample for it (AUC 0.91 against
// the card's out-of-fold 0.84, calibration slope 1.6) and no model is calibrated on them; the
// outcome is therefore drawn from a calibrated rule: positive with the model's probability.
//   baseline:  patients as in the data;
//   covariate: older or heavier patients (age >= 40 or BMI >= 38 four times in five), same rule;
//   concept:   patients as in the data, but the outcome follows the model less
//              (positive with probability 0.4 p + 0.21: the same inputs, another rule).
enum class Phase { baseline, covariate, concept_shift };
constexpr int kSources = 6, kPerSource = 1000, kPerReport = 100;

struct Day {
    std::string day;
    Phase phase = Phase::baseline;
    std::vector<std::vector<MetricsReport>> sources;  // per source, its reports
    double auc = 0, sensitivity = 0;                  // true, from the held outcomes
};

Day simulate_day(const Model& m, const Dataset& data, const std::string& day, Phase phase, std::mt19937_64& rng) {
    Day d{day, phase, {}, 0, 0};
    const size_t nf = m.schema.fields.size();
    const size_t age = static_cast<size_t>(m.schema.find_field("age")),
                 mass = static_cast<size_t>(m.schema.find_field("mass"));
    std::vector<size_t> older_heavier;
    for (size_t r = 0; r < data.rows(); ++r)
        if (data.values[r * nf + age] >= 40 || data.values[r * nf + mass] >= 38) older_heavier.push_back(r);
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
                const double pos = p[static_cast<size_t>(m.schema.outputs.positive)];
                const double truth = phase == Phase::concept_shift ? 0.4 * pos + 0.21 : pos;
                scores.push_back(pos);
                labels.push_back(u(rng) < truth ? 1 : 0);
                report_add(b, values, p, decide(m.schema, p), rng);
            }
            reports.push_back(std::move(b.report));
        }
        d.sources.push_back(std::move(reports));
    }
    d.auc = auc_roc(scores, labels, 1);
    d.sensitivity = confusion_at(scores, labels, m.schema.outputs.threshold).sensitivity();
    return d;
}

// Stores a day's reports through the store's own interface (the server is stopped): the server
// accepts reports only for yesterday, today and tomorrow, so earlier days are written as its
// ingest writes them, one pseudonymous source id per source.
void store_days(Store& store, const std::vector<Day>& days) {
    for (const Day& d : days) {
        std::vector<IncomingReport> batch;
        for (size_t s = 0; s < d.sources.size(); ++s)
            for (const auto& r : d.sources[s]) batch.push_back({r, "", "simulated-" + d.day + "-" + std::to_string(s)});
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
void store_days_of(const Server& s, const std::vector<Day>& days) {
    auto store = store_open(store_of(s), s.dir + "/data", 1);
    ASSERT_TRUE(store.ok()) << store.error().describe();
    store_days(**store, days);
}

const std::vector<std::string> kHistoryFlags = {"--rate-limit",     "0",      "--drift-min", "2000",
                                                "--source-day-max", "100000", "--threads",   "4"};

//-----------------------------------------------------------------------------
// [SECTION] Covariate shift tracked, concept shift missed
//-----------------------------------------------------------------------------
TEST(Server, EstimatedPerformanceTracksACovariateShiftAndMissesAConceptShift) {
    const Model m = demo_model("pima-diabetes");
    const auto data = dataset_from_csv(m.schema, test::read_file(test::data_path("pima-diabetes")), true);
    ASSERT_TRUE(data.ok());
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
    store_days_of(s, std::vector<Day>(days.begin(), days.end() - 2));
    ASSERT_TRUE(s.start());
    ASSERT_EQ(s.publish(demo_bundle("pima-diabetes"))->status, 201);
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
    int tracked_auc = 0, tracked_sens = 0, tracked_days = 0, concept_outside = 0;
    double est_baseline = 0, est_concept = 0, true_baseline = 0, true_concept = 0, age_psi[3] = {0, 0, 0};
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
        std::printf("%s %-9s AUC est %.3f [%.3f, %.3f] true %.3f %s | sensitivity est %.3f [%.3f, %.3f] true %.3f %s\n",
                    days[i].day.c_str(),
                    days[i].phase == Phase::baseline    ? "baseline"
                    : days[i].phase == Phase::covariate ? "covariate"
                                                        : "concept",
                    auc["value"].get<double>(), auc["ci95"][0].get<double>(), auc["ci95"][1].get<double>(), days[i].auc,
                    auc_in ? "in" : "OUT", sens["value"].get<double>(), sens["ci95"][0].get<double>(),
                    sens["ci95"][1].get<double>(), days[i].sensitivity, sens_in ? "in" : "OUT");
        EXPECT_EQ(auc.at("card"), 0.8365);  // the model card's out-of-fold figure, beside the estimate
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
        ++tracked_days;
        tracked_auc += auc_in;
        tracked_sens += sens_in;
    }
    std::printf(
        "covariate shift and baseline: the interval held the true AUC on %d/%d days, the true sensitivity "
        "on %d/%d\nconcept shift: estimated AUC %.3f (baseline %.3f), true AUC %.3f (baseline %.3f); "
        "outside the interval on %d/8 days\n",
        tracked_auc, tracked_days, tracked_sens, tracked_days, est_concept, est_baseline, true_concept, true_baseline,
        concept_outside);
    // Covariate shift (and no shift): the estimate tracks the true figures on at least 90% of days.
    EXPECT_GE(tracked_auc * 10, tracked_days * 9);
    EXPECT_GE(tracked_sens * 10, tracked_days * 9);
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
        store_days_of(*s, std::vector<Day>(days.begin(), days.end() - 2));
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
