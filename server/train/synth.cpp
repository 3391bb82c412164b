// server/train/synth.cpp — see synth.h.
#include "train/synth.h"

#include <cmath>
#include <random>
#include <vector>

#include "base/calendar.h"

namespace ldx {

SynthData synth_generate(const SynthConfig& cfg) {
    const int F = std::max(cfg.fields, 6), K = std::max(cfg.classes, 2);
    std::mt19937_64 rng(cfg.seed);
    std::normal_distribution<double> z(0, 1);
    std::uniform_real_distribution<double> u(0, 1);
    // Class priors: geometric, scaled so the last class has `rare` of the mass.
    std::vector<double> prior(static_cast<size_t>(K));
    const double ratio = K > 1 ? std::pow(std::max(cfg.rare, 1e-4) * K, 1.0 / (K - 1)) : 1.0;
    double sum = 0;
    for (int k = 0; k < K; ++k) sum += prior[static_cast<size_t>(k)] = std::pow(ratio, k);
    for (auto& p : prior) p /= sum;
    // Ordinal thresholds on a latent score give the requested priors.
    std::vector<double> cut;
    double acc = 0;
    for (int k = 0; k + 1 < K; ++k) {
        acc += prior[static_cast<size_t>(k)];
        // inverse normal CDF by bisection (latent score is roughly N(0, 1.6^2))
        double lo = -10, hi = 10;
        for (int i = 0; i < 80; ++i) {
            const double mid = (lo + hi) / 2;
            (0.5 * std::erfc(-mid / (1.6 * std::sqrt(2.0))) < acc ? lo : hi) = mid;
        }
        cut.push_back(lo);
    }

    SynthData out;
    Json fields = Json::array();
    std::string header;
    for (int f = 0; f < F; ++f) {
        fields.push_back({{"name", "x" + std::to_string(f)},
                          {"label", "Synthetic measurement " + std::to_string(f)},
                          {"description", f == 6 && cfg.drift > 0
                                              ? std::string("Standard normal plus a level that drifts upward with "
                                                            "the visit date.")
                                              : "Standard normal; drives the label through " +
                                                    std::string(f < 6 ? "the truth" : "nothing (noise)") + "."},
                          {"type", "number"},
                          {"unit", "1"},
                          {"min", -100},
                          {"max", 100}});
        header += (f ? ",x" : "x") + std::to_string(f);
    }
    Json classes = Json::array();
    for (int k = 0; k < K; ++k)
        classes.push_back({{"name", std::to_string(k)}, {"label", "Class " + std::to_string(k)}});
    Json outputs{{"kind", K == 2 ? "binary" : "ordinal"}, {"column", "y"}, {"classes", classes}};
    if (K == 2) {
        outputs["positive"] = "1";
        outputs["threshold"] = 0.5;
    }
    out.schema = Json{{"task", "synthetic"},
                      {"title", "Synthetic task (" + std::to_string(F) + " fields, " + std::to_string(K) + " classes)"},
                      {"fields", fields},
                      {"outputs", outputs}};

    out.csv = header + (cfg.drift > 0 ? ",visit_date,y\n" : ",y\n");
    const int64_t first_day = days_from_civil(2015, 1, 1), days = days_from_civil(2023, 1, 1) - first_day;
    std::vector<double> v(static_cast<size_t>(F));
    char cell[32];
    for (size_t r = 0; r < cfg.rows; ++r) {
        for (auto& a : v) a = z(rng);
        const double t = static_cast<double>(r) / static_cast<double>(cfg.rows);  // 0 .. 1 over the years
        if (cfg.drift > 0 && F > 6) v[6] += 4 * cfg.drift * (t - 0.5);
        const double score = 0.8 * v[0] - 0.6 * v[1] * v[2] + 0.5 * std::sin(3 * v[3]) + 0.4 * (v[4] > 0.5) +
                             0.3 * v[5] * v[5] - 0.3 + 0.9 * z(rng) + 3 * cfg.drift * (t - 0.5);
        int y = 0;
        while (y < K - 1 && score > cut[static_cast<size_t>(y)]) ++y;
        for (int f = 0; f < F; ++f) {
            if (f) out.csv += ',';
            if (u(rng) < cfg.missing) {
                out.csv += "NA";
                continue;
            }
            std::snprintf(cell, sizeof cell, "%.5f", v[static_cast<size_t>(f)]);
            out.csv += cell;
        }
        if (cfg.drift > 0) {
            int64_t yy;
            unsigned mm, dd;
            civil_from_days(first_day + static_cast<int64_t>(t * static_cast<double>(days)), yy, mm, dd);
            std::snprintf(cell, sizeof cell, ",%04lld-%02u-%02u", static_cast<long long>(yy), mm, dd);
            out.csv += cell;
        }
        out.csv += "," + std::to_string(y) + "\n";
    }
    return out;
}

}  // namespace ldx
