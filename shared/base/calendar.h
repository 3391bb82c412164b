// shared/base/calendar.h — days <-> civil dates (proleptic Gregorian, UTC) and UTC timestamps
// ("2026-11-22T00:00:00Z" <-> seconds since 1970), for bundles, trust roots, FHIR resources and
// the server's days.
//
// Index of this file
//   [SECTION] Civil dates (Howard Hinnant's days_from_civil / civil_from_days: exact, no zones)
//   [SECTION] UTC timestamps
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Civil dates
//-----------------------------------------------------------------------------

// Days since 1970-01-01 for year y, month m (1-12), day d (1-31).
inline int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// The civil date of day z (days since 1970-01-01).
inline void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
}

//-----------------------------------------------------------------------------
// [SECTION] UTC timestamps
//-----------------------------------------------------------------------------
std::optional<int64_t> utc_parse(std::string_view iso);  // exactly "YYYY-MM-DDTHH:MM:SSZ"
std::string utc_format(int64_t seconds);                 // "YYYY-MM-DDTHH:MM:SSZ"
std::string utc_day(int64_t seconds);                    // "YYYY-MM-DD"

}  // namespace ldx
