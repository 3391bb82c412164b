// shared/conformal/calibrator.h — the conformal calibrator as plain data, as the schema's outputs
// carry it (conformal/conformal.h fits it, reads and writes it, and makes sets from it).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace ldx {

struct ConformalLevel {
    double level = 0.9;             // 1 - a
    std::vector<double> threshold;  // per class: a class is in the set when 1 - p <= threshold;
                                    // intervals: one number, the half-width in the outcome's unit
};

struct Conformal {
    std::vector<ConformalLevel> levels;  // ascending; empty: no calibrator
    size_t rows = 0;                     // calibration patients
    std::string source;                  // where the calibration patients came from
    bool local = false;                  // fitted on the device from a site's file, not signed in a bundle
    bool intervals = false;              // a regression task's intervals, not class sets
    bool empty() const { return levels.empty(); }
};

}  // namespace ldx
