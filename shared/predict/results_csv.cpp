// shared/predict/results_csv.cpp — see results_csv.h.
#include "predict/results_csv.h"

#include <algorithm>
#include <cstdio>

#include "conformal/conformal.h"
#include "csv/csv.h"

namespace ldx {

namespace {
std::string number(double v, int decimals) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", decimals, v);
    return b;
}

// "Body mass index: …" for a field, the message alone otherwise (the row is in its own column).
std::string field_words(const Schema& s, const Problem& p) {
    Problem q = p;
    q.row = -1;
    q.patient.clear();
    return problem_words(s, q);
}

std::string joined(const Schema& s, const std::vector<Problem>& ps) {
    std::string out;
    for (const Problem& p : ps) out += (out.empty() ? "" : "; ") + field_words(s, p);
    return out;
}

std::string level_name(double level) {
    char b[32];
    std::snprintf(b, sizeof b, "%g%% interval", level * 100);
    return b;
}
}  // namespace

std::string results_csv(const Schema& s, std::string_view tool, std::string_view model,
                        std::span<const ResultsRow> rows, std::span<const std::string> extra_columns) {
    const Outputs& o = s.outputs;
    const bool regression = o.regression();
    std::vector<std::string> header{"row", "patient", "predicted"};
    if (regression) {
        const std::string unit = unit_display(o.unit);
        header[2] = "predicted " + o.label + (unit.empty() ? "" : " (" + unit + ")");
        for (const auto& l : o.conformal.levels)
            header.insert(header.end(), {level_name(l.level) + " low", level_name(l.level) + " high"});
    } else {
        for (const auto& c : o.classes) header.push_back("P(" + c.label + ")");
    }
    const size_t result_columns = header.size() - 3;
    header.insert(header.end(), {"warnings", "problem", "model"});
    header.insert(header.end(), extra_columns.begin(), extra_columns.end());

    std::vector<const ResultsRow*> order;
    for (const ResultsRow& r : rows) order.push_back(&r);
    std::stable_sort(order.begin(), order.end(),
                     [](const ResultsRow* a, const ResultsRow* b) { return a->row < b->row; });

    std::string out = "# LocalDx results: " + std::string(tool) + "\n" + csv_line(header);
    for (const ResultsRow* r : order) {
        std::vector<std::string> cells{std::to_string(r->row), r->patient};
        const bool scored = r->problems.empty() && !r->probabilities.empty();
        if (!scored) {
            cells.resize(cells.size() + 1 + result_columns + 1);  // predicted, results, warnings: empty
            cells.push_back(r->problems.empty() ? "not scored" : joined(s, r->problems));
        } else if (regression) {
            const double v = r->probabilities[0];
            cells.push_back(number(v, o.decimals));
            for (size_t l = 0; l < o.conformal.levels.size(); ++l) {
                const Interval in = conformal_interval(o, l, v);
                cells.push_back(number(in.low, o.decimals));
                cells.push_back(number(in.high, o.decimals));
            }
            cells.push_back(joined(s, r->warnings));
            cells.push_back("");
        } else {
            const bool known = r->predicted >= 0 && static_cast<size_t>(r->predicted) < o.classes.size();
            cells.push_back(known ? o.classes[static_cast<size_t>(r->predicted)].label : "");
            for (size_t c = 0; c < o.classes.size(); ++c)
                cells.push_back(c < r->probabilities.size() ? number(r->probabilities[c], 6) : "");
            cells.push_back(joined(s, r->warnings));
            cells.push_back("");
        }
        cells.push_back(std::string(model));
        cells.insert(cells.end(), r->extra.begin(), r->extra.end());
        out += csv_line(cells);
    }
    return out;
}

}  // namespace ldx
