// Writes seed inputs for the fuzz targets into the folder given as argv[1]/<target>/.
#include <filesystem>
#include <fstream>
#include <string>

#include "bundle/bundle.h"
#include "trees/ensemble.h"

namespace {
void write(const std::filesystem::path& p, const std::string& data) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << data;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    const std::filesystem::path dir = argv[1];
    const ldx::SigningKey key = ldx::signing_key_from_pair(ldx::ed25519_keypair_from_seed(std::string(32, 'k')));
    ldx::Ensemble e;
    e.num_features = 2;
    e.base_margin = {0.1};
    ldx::Tree t;
    t.nodes = {{1, 2, 0, 0.5f, 1, 0, 4}, {-1, -1, 0, 0, 1, -1.0, 2}, {3, 4, 1, 0.5f, 0, 0, 2}, {-1, -1, 0, 0, 1, 0.5, 1}, {-1, -1, 0, 0, 1, 2.0, 1}};
    e.trees.push_back(t);
    ldx::ensemble_prepare(e);
    const std::string trees = ldx::json_canonical(ldx::ensemble_to_json(e));
    write(dir / "members" / "trees.json", trees);
    write(dir / "members" / "reference.json",
          R"({"classes":[{"counts":[1,0,0,0,0,0,0,0,0,0,0],"edges":[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9],"name":"0"},{"counts":[0,0,0,0,0,0,0,0,0,1,0],"edges":[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9],"name":"1"}],"fields":[{"counts":[1,0,0],"edges":[2.0],"name":"a"},{"counts":[0,1,0],"edges":[0.5],"name":"b"}],"format":"localdx-reference/1","rows":1})");
    ldx::Manifest m;
    m.name = "fuzz";
    m.version = 1;
    m.created = 1700000000;
    m.expires = 4000000000;
    m.explainer = "treeshap";
    auto b = ldx::bundle_write(m, {{"trees.json", trees}, {"card.json", "{}"}, {"schema.json", "{}"}}, {key});
    write(dir / "bundle" / "seed.ldxb", *b);
    write(dir / "record" / "seed.json", R"({"glucose": {"value": 8.2, "unit": "mmol/L"}, "age": 50, "sex": "f", "stage": "II", "smoker": true})");
    write(dir / "report" / "seed.json",
          R"({"day":"2026-11-22","epsilon":1.0,"fields":{"a":[4,3,3],"b":[5,5,0]},"model":"fuzz","n":10,"predicted":[6,4],"probabilities":[[1,1,1,1,1,1,1,1,1,1,0],[1,1,1,1,1,1,1,1,1,1,0]],"version":1})");
    write(dir / "csv" / "seed.csv", "a [k],b\n1.5,yes\n\"2\",0\n,NA\n");
    return 0;
}
