// server/cli/commands/synth.cpp — `localdx synth`: a synthetic task (schema and data) of any size.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/args.h"
#include "io/files.h"
#include "train/dataset.h"
#include "train/synth.h"

#include "cli/commands.h"

namespace ldx::cli {

const char* const kSynthHelp = R"(Usage: localdx synth --out DIR [--rows N] [--fields F] [--classes K] [--rare X]
                     [--missing X] [--seed S] [--drift D]

Writes DIR/schema.json and DIR/data.csv: N rows (default 10000) of F numeric fields (default 30,
at least 6), K ordered classes (default 2) whose rarest has about X of the rows (default 0.05),
X of the cells missing (default 0.1). The label follows a nonlinear truth of the first six
fields plus noise; the other fields are noise. Deterministic for a seed.
--drift D (0 to 2, default 0) makes the rows visits from 2015 to 2022 in date order (an extra
column visit_date, for train.json's "time"): the label's latent score rises by 3 x D over the
years, so the higher classes grow more frequent, and x6 drifts upward by 4 x D with it.
)";

int cmd_synth(const Args& a) {
    auto out = args_require(a, "--out");
    if (!out) return fail("synth", out.problems());
    SynthConfig c;
    auto number = [&](const char* flag, double lo, double hi, double fallback) -> Result<double> {
        auto v = a.get(flag);
        if (!v) return fallback;
        const auto parsed = number_parse(*v);
        const double x = parsed ? *parsed : kNaN;
        if (!(x >= lo && x <= hi))
            return problem("usage", std::string(flag) + " must be a number from " + fmt(lo) + " to " + fmt(hi) +
                                        ", not '" + *v + "'");
        return x;
    };
    auto rows = number("--rows", 10, 10000000, 10000), fields = number("--fields", 6, 1000, 30),
         classes = number("--classes", 2, 20, 2), rare = number("--rare", 0.0001, 0.5, 0.05),
         missing = number("--missing", 0, 0.9, 0.1), seed = number("--seed", 0, 1e9, 1),
         drift = number("--drift", 0, 2, 0);
    for (auto* r : {&rows, &fields, &classes, &rare, &missing, &seed, &drift})
        if (!*r) return fail("synth", r->problems());
    c.rows = static_cast<size_t>(*rows);
    c.fields = static_cast<int>(*fields);
    c.classes = static_cast<int>(*classes);
    c.rare = *rare;
    c.missing = *missing;
    c.seed = static_cast<uint64_t>(*seed);
    c.drift = *drift;
    const SynthData d = synth_generate(c);
    if (auto ok = dir_create(*out); !ok) return fail("synth", ok.problems());
    if (auto ok = file_write_atomic(*out + "/schema.json", d.schema.dump(2) + "\n"); !ok)
        return fail("synth", ok.problems());
    if (auto ok = file_write_atomic(*out + "/data.csv", d.csv); !ok) return fail("synth", ok.problems());
    std::printf("wrote %s/schema.json and %s/data.csv (%zu rows, %d fields, %d classes)\n", out->c_str(), out->c_str(),
                c.rows, c.fields, c.classes);
    return 0;
}

}  // namespace ldx::cli
