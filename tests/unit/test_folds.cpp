// tests/unit/test_folds.cpp — shared/metrics/folds: times and periods, shuffled folds, and
// forward-chaining folds checked fold by fold (no training row later than a validation row minus
// the gap, no patient on both sides); figures per period (metrics/evaluation.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "metrics/evaluation.h"
#include "metrics/folds.h"
#include "schema/schema.h"

using namespace ldx;

namespace {
// Every fold of a forward-chaining plan against the promises of folds.h.
void check_every_fold(const FoldPlan& plan, std::span<const double> t, std::span<const std::string> groups,
                      double gap) {
    std::set<size_t> validated;
    for (size_t f = 0; f < plan.folds(); ++f) {
        const auto& tr = plan.train[f];
        const auto& va = plan.validate[f];
        ASSERT_FALSE(tr.empty()) << "fold " << f;
        ASSERT_FALSE(va.empty()) << "fold " << f;
        double earliest_validation = INFINITY;
        for (size_t i : va) {
            earliest_validation = std::min(earliest_validation, t[i]);
            EXPECT_TRUE(validated.insert(i).second) << "row " << i << " validated twice";
        }
        std::set<std::string> patients;
        for (size_t i : va)
            if (!groups.empty()) patients.insert(groups[i]);
        for (size_t i : tr) {
            // The promise, row by row: every validation row v has t[i] <= t[v] - gap.
            EXPECT_LE(t[i], earliest_validation - gap) << "fold " << f << " trains on row " << i;
            EXPECT_FALSE(std::binary_search(va.begin(), va.end(), i)) << "fold " << f << " row " << i;
            if (!groups.empty()) EXPECT_FALSE(patients.count(groups[i])) << "fold " << f << " patient " << groups[i];
        }
    }
}
}  // namespace

TEST(Folds, TimesAreDatesOrNumbers) {
    auto d = time_parse("2019-03-04");
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->date);
    EXPECT_EQ(time_words(d->value, true), "2019-03-04");
    EXPECT_EQ(time_parse("2019-03-05T08:00")->value - d->value, 1);
    EXPECT_FALSE(time_parse("2019-02-30"));
    EXPECT_FALSE(time_parse("soon"));
    auto y = time_parse("2017");
    ASSERT_TRUE(y);
    EXPECT_FALSE(y->date);
    EXPECT_EQ(y->value, 2017);
    EXPECT_EQ(period_of(d->value, true, "year"), "2019");
    EXPECT_EQ(period_of(d->value, true, "quarter"), "2019-Q1");
    EXPECT_EQ(period_of(d->value, true, "month"), "2019-03");
    EXPECT_EQ(period_of(2017.6, false, "year"), "2017");
    EXPECT_TRUE(period_unit_known("quarter"));
    EXPECT_FALSE(period_unit_known("week"));
}

TEST(Folds, ForwardChainingNeverTrainsOnTheFutureOrTheSamePatient) {
    // Patients with several visits spread over years, times with ties, in random order; every
    // fold of many plans (folds, gaps, with and without patients) checked row by row.
    for (uint64_t seed = 1; seed <= 6; ++seed) {
        std::mt19937_64 rng(seed);
        std::uniform_int_distribution<int> day(0, 6 * 365), visits(1, 5), step(20, 400);
        std::vector<double> t;
        std::vector<std::string> g;
        for (int p = 0; p < 150; ++p) {
            double at = day(rng);
            for (int v = visits(rng); v > 0; --v, at += step(rng)) {
                t.push_back(at);
                g.push_back("p" + std::to_string(p));
            }
        }
        std::vector<size_t> order(t.size());
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        std::vector<double> ts;
        std::vector<std::string> gs;
        for (size_t i : order) {
            ts.push_back(t[i]);
            gs.push_back(g[i]);
        }
        for (int folds : {2, 4, 6})
            for (double gap : {0.0, 30.0, 180.0}) {
                for (bool grouped : {false, true}) {
                    const std::span<const std::string> groups =
                        grouped ? std::span<const std::string>(gs) : std::span<const std::string>();
                    auto r = forward_chaining_folds(ts, true, groups, folds, gap);
                    ASSERT_TRUE(r) << r.error().message;
                    ASSERT_EQ(r->plan.folds(), static_cast<size_t>(folds));
                    ASSERT_EQ(r->describe.size(), static_cast<size_t>(folds));
                    check_every_fold(r->plan, ts, groups, gap);
                    // The earliest block only trains; the later blocks are validated once each.
                    size_t validated = 0;
                    for (const auto& v : r->plan.validate) validated += v.size();
                    EXPECT_LT(validated, ts.size());
                    EXPECT_GT(validated, ts.size() * static_cast<size_t>(folds) / (folds + 1) - 50);
                }
            }
    }
}

TEST(Folds, ForwardChainingKeepsEqualTimesTogetherAndRefusesImpossiblePlans) {
    // Yearly data: five distinct years can make at most four folds.
    std::vector<double> years;
    for (int y = 2015; y < 2020; ++y)
        for (int i = 0; i < 40 + y % 3 * 10; ++i) years.push_back(y);
    auto r = forward_chaining_folds(years, false, {}, 4, 0);
    ASSERT_TRUE(r) << r.error().message;
    for (size_t f = 0; f < 4; ++f) {
        std::set<double> seen;
        for (size_t i : r->plan.validate[f]) seen.insert(years[i]);
        EXPECT_EQ(seen.size(), 1u) << "a year split across folds";
        EXPECT_EQ(r->describe[f]["validate_from"], std::to_string(2016 + f));
    }
    check_every_fold(r->plan, years, {}, 0);
    auto too_many = forward_chaining_folds(years, false, {}, 5, 0);
    ASSERT_FALSE(too_many);
    EXPECT_EQ(too_many.error().code, "too_few_rows");
    // A gap of one year: each fold trains up to the year before the one it validates; a gap of
    // two leaves the fold validating 2016 nothing (2014 and before).
    auto gap1 = forward_chaining_folds(years, false, {}, 4, 1);
    ASSERT_TRUE(gap1) << gap1.error().message;
    check_every_fold(gap1->plan, years, {}, 1);
    EXPECT_EQ(gap1->describe[1]["train_until"], "2016");  // validating 2017, trained to 2016
    auto gap2 = forward_chaining_folds(years, false, {}, 4, 2);
    ASSERT_FALSE(gap2);
    EXPECT_NE(gap2.error().message.find("gap leaves it no earlier row"), std::string::npos);
}

TEST(Folds, ShuffledFoldsKeepPatientsTogetherAndStratify) {
    std::mt19937_64 rng(3);
    std::vector<float> y;
    std::vector<std::string> g;
    for (int p = 0; p < 200; ++p)
        for (int v = 0; v < 1 + p % 4; ++v) {
            y.push_back(p % 5 == 0 ? 1.f : 0.f);
            g.push_back("p" + std::to_string(p));
        }
    const auto fold = assign_folds(y, 2, g, 5, 1);
    std::map<std::string, int> of;
    for (size_t i = 0; i < y.size(); ++i) {
        auto [it, added] = of.try_emplace(g[i], fold[i]);
        EXPECT_EQ(it->second, fold[i]) << "patient " << g[i] << " in two folds";
    }
    const FoldPlan plan = fold_plan_from_assignment(fold, 5);
    for (size_t f = 0; f < 5; ++f) {
        double pos = 0;
        for (size_t i : plan.validate[f]) pos += y[i];
        EXPECT_EQ(plan.train[f].size() + plan.validate[f].size(), y.size());
        EXPECT_NEAR(pos / static_cast<double>(plan.validate[f].size()), 0.2, 0.08) << "fold " << f;
    }
    const auto q = outcome_quintiles(std::vector<double>{5, 1, 4, 2, 3, 9, 8, 7, 6, 0});
    EXPECT_EQ(q, (std::vector<float>{2, 0, 2, 1, 1, 4, 4, 3, 3, 0}));
}

TEST(Folds, FiguresPerPeriodInTimeOrder) {
    Schema s;
    s.task = "t";
    s.outputs.kind = TaskKind::binary;
    s.outputs.column = "outcome";
    s.outputs.classes = {{"neg", "No disease"}, {"pos", "Disease"}};
    // Period "7": perfectly ranked, rate 1/2; period "10": ranked backwards, rate 1/4.
    const std::vector<int> y{0, 1, 0, 1, 0, 0, 0, 1};
    const std::vector<double> p1{0.1, 0.9, 0.2, 0.8, 0.9, 0.8, 0.7, 0.1};
    std::vector<double> probs;
    for (double p : p1) probs.insert(probs.end(), {1 - p, p});
    const std::vector<std::string> periods{"7", "7", "7", "7", "10", "10", "10", "10"};
    const Json r = evaluate_periods(s, y, probs, {}, periods);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0]["period"], "7");  // numerically before 10
    EXPECT_EQ(r[0]["rows"], 4);
    EXPECT_DOUBLE_EQ(r[0]["class.pos.auc_roc"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(r[1]["class.pos.auc_roc"].get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(r[0]["observed_rate"].get<double>(), 0.5);
    EXPECT_DOUBLE_EQ(r[1]["observed_rate"].get<double>(), 0.25);
    EXPECT_DOUBLE_EQ(r[1]["mean_predicted"].get<double>(), 0.625);
    // Regression: the figures of each period's own rows.
    Schema g;
    g.task = "g";
    g.outputs.kind = TaskKind::regression;
    const Json q = evaluate_periods(g, {}, std::vector<double>{1, 2, 10, 10}, std::vector<double>{1, 4, 10, 12},
                                    std::vector<std::string>{"2019", "2019", "2020", "2020"});
    ASSERT_EQ(q.size(), 2u);
    EXPECT_DOUBLE_EQ(q[0]["mae"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(q[1]["mean_observed"].get<double>(), 11.0);
    EXPECT_DOUBLE_EQ(q[1]["mean_predicted"].get<double>(), 10.0);
}
