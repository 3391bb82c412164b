// shared/base/version.h — the LocalDx release every front end reports (CLI --version, the model
// card's and the validation report's lineage).
#pragma once

namespace ldx {
inline constexpr const char* kLocalDxVersion = "0.9.0";
}  // namespace ldx
