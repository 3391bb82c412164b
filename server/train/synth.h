// server/train/synth.h — synthetic patients for scale tests and benchmarks (`localdx synth`).
//
// A task with `fields` numeric fields (standard normal), `classes` ordered classes whose
// frequencies fall geometrically so the last ones are rare (the last has about `rare` of the
// rows), a nonlinear truth (interactions, a threshold, a sine) so trees have something to find,
// and `missing` of the cells missing at random. Deterministic for a seed.
#pragma once
#include <cstdint>
#include <string>

#include "base/json.h"

namespace ldx {

struct SynthConfig {
    size_t rows = 10000;
    int fields = 30;
    int classes = 2;
    double rare = 0.05;    // share of the rarest class
    double missing = 0.1;  // share of missing cells
    uint64_t seed = 1;
    // Drift over time: with drift > 0 the rows are visits from 2015 to 2022 in date order (column
    // "visit_date", not a field), the label's latent score rises by 3 x drift from the first to
    // the last day (so the rate of the higher classes climbs), and field x6 (with 7 fields or
    // more) drifts upward by 4 x drift with it, as a measurement does when an assay changes.
    double drift = 0;
};

struct SynthData {
    Json schema;      // a valid LocalDx schema for the task
    std::string csv;  // header x0..x{F-1}, (visit_date,) label column "y"
};

SynthData synth_generate(const SynthConfig& cfg);

}  // namespace ldx
