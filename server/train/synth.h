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
};

struct SynthData {
    Json schema;      // a valid LocalDx schema for the task
    std::string csv;  // header x0..x{F-1}, label column "y"
};

SynthData synth_generate(const SynthConfig& cfg);

}  // namespace ldx
