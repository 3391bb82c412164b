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
    t.nodes = {{1, 2, 0, 0.5f, 1, 0, 4},
               {-1, -1, 0, 0, 1, -1.0, 2},
               {3, 4, 1, 0.5f, 0, 0, 2},
               {-1, -1, 0, 0, 1, 0.5, 1},
               {-1, -1, 0, 0, 1, 2.0, 1}};
    e.trees.push_back(t);
    ldx::ensemble_prepare(e);
    const std::string trees = ldx::json_canonical(ldx::ensemble_to_json(e));
    write(dir / "members" / "trees.json", trees);
    write(dir / "members" / "trees.bin", ldx::ensemble_to_binary(e));
    write(
        dir / "members" / "reference.json",
        R"({"classes":[{"counts":[1,0,0,0,0,0,0,0,0,0,0],"edges":[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9],"name":"0"},{"counts":[0,0,0,0,0,0,0,0,0,1,0],"edges":[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9],"name":"1"}],"fields":[{"counts":[1,0,0],"edges":[2.0],"name":"a"},{"counts":[0,1,0],"edges":[0.5],"name":"b"}],"format":"localdx-reference/1","rows":1})");
    ldx::Manifest m;
    m.name = "fuzz";
    m.version = 1;
    m.created = 1700000000;
    m.expires = 4000000000;
    m.explainer = "treeshap";
    auto b = ldx::bundle_write(m, {{"trees.json", trees}, {"card.json", "{}"}, {"schema.json", "{}"}}, {key});
    write(dir / "bundle" / "seed.ldxb", *b);
    write(dir / "record" / "seed.json",
          R"({"glucose": {"value": 8.2, "unit": "mmol/L"}, "age": 50, "sex": "f", "stage": "II", "smoker": true})");
    write(
        dir / "report" / "seed.json",
        R"({"day":"2026-11-22","epsilon":1.0,"fields":{"a":[4,3,3],"b":[5,5,0]},"model":"fuzz","n":10,"predicted":[6,4],"probabilities":[[1,1,1,1,1,1,1,1,1,1,0],[1,1,1,1,1,1,1,1,1,1,0]],"version":1})");
    write(
        dir / "members" / "explainer.json",
        R"({"format":"localdx-sampling-shapley/1","input":"input","output":"probabilities","output_width":2,"num_features":2,"permutations":2,"seed":5,)"
        R"("background":[[0.1,1],[0.7,0],[null,1]],"background_probabilities":[[0.4,0.6],[0.5,0.5],[0.9,0.1]]})");
    write(
        dir / "fhir" / "bundle.json",
        R"({"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:a","resource":{"resourceType":"Patient","id":"a","gender":"female","birthDate":"1970-05-01"}},)"
        R"({"resource":{"resourceType":"Observation","status":"final","subject":{"reference":"Patient/a"},"effectiveDateTime":"2026-01-02T10:00:00+01:00","code":{"coding":[{"system":"http://loinc.org","code":"1518-0"}]},"valueQuantity":{"value":8.2,"system":"http://unitsofmeasure.org","code":"mmol/L"}}},)"
        R"({"resource":{"resourceType":"Observation","status":"final","subject":{"reference":"urn:uuid:a"},"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":72}}]}},)"
        R"({"resource":{"resourceType":"Observation","status":"final","subject":{"reference":"Patient/a"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"77176002"}]},"valueBoolean":true}}]})");
    write(dir / "fhir" / "lines.ndjson",
          "{\"resourceType\":\"Patient\",\"id\":\"b\",\"gender\":\"male\"}\n"
          "{\"resourceType\":\"Observation\",\"subject\":{\"reference\":\"Patient/"
          "b\"},\"code\":{\"coding\":[{\"system\":\"urn:localdx:field\",\"code\":\"age\"}]},\"valueInteger\":44}\n");
    write(dir / "csv" / "seed.csv", "a [k],b\n1.5,yes\n\"2\",0\n,NA\n");
    return 0;
}
