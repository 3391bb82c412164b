// tests/unit/test_contrast.cpp — the app's colours (wasm/app/palette.h) against WCAG 2.1: every text
// colour on every background it is drawn on >= 4.5:1 (1.4.3), the keyboard focus highlight >= 3:1
// (1.4.11), an out-of-date result still readable. Relative luminance and contrast ratio as WCAG
// defines them (sRGB, 0.2126 R + 0.7152 G + 0.0722 B).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "../../wasm/app/palette.h"

namespace {
using ldx::app::palette::Rgba;
namespace pal = ldx::app::palette;

double linear(double c) { return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4); }
double luminance(Rgba c) { return 0.2126 * linear(c.r) + 0.7152 * linear(c.g) + 0.0722 * linear(c.b); }
double ratio(Rgba a, Rgba b) {
    const double la = luminance(a), lb = luminance(b);
    return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}
// A colour drawn at opacity `alpha` over `bg`.
Rgba over(Rgba fg, float alpha, Rgba bg) {
    auto mix = [alpha](float f, float b) { return f * alpha + b * (1 - alpha); };
    return {mix(fg.r, bg.r), mix(fg.g, bg.g), mix(fg.b, bg.b), 1};
}

const std::vector<std::pair<std::string, Rgba>> kTexts = {{"text", pal::kText},   {"disabled/hint", pal::kTextDisabled},
                                                          {"red", pal::kRed},     {"amber", pal::kAmber},
                                                          {"green", pal::kGreen}, {"grey", pal::kGrey}};
const std::vector<std::pair<std::string, Rgba>> kBackgrounds = {
    {"window", pal::kWindowBg}, {"field", pal::kFrameBg}, {"notice", pal::kNoticeBg}, {"button", pal::kButton}};

TEST(Contrast, WcagFormulaMatchesKnownValues) {
    EXPECT_NEAR(ratio({0, 0, 0, 1}, {1, 1, 1, 1}), 21.0, 1e-9);
    EXPECT_NEAR(ratio({1, 1, 1, 1}, {1, 1, 1, 1}), 1.0, 1e-9);
    // #767676 on white is the classic 4.54:1.
    EXPECT_NEAR(ratio({0x76 / 255.0f, 0x76 / 255.0f, 0x76 / 255.0f, 1}, {1, 1, 1, 1}), 4.54, 0.01);
}

TEST(Contrast, EveryTextColourOnEveryBackgroundIsAtLeast4_5) {
    for (const auto& [t, fg] : kTexts)
        for (const auto& [b, bg] : kBackgrounds) EXPECT_GE(ratio(fg, bg), 4.5) << t << " on " << b;
}

TEST(Contrast, TabsAndSelectedRowsKeepBlackTextReadable) {
    for (Rgba bg : {pal::kTab, pal::kTabActive, pal::kHeader}) EXPECT_GE(ratio(pal::kText, bg), 4.5);
}

TEST(Contrast, AnOutOfDateResultStaysReadable) {
    for (const auto& [t, fg] : kTexts)
        EXPECT_GE(ratio(over(fg, pal::kStaleAlpha, pal::kWindowBg), pal::kWindowBg), 4.5) << t << " when out of date";
}

TEST(Contrast, KeyboardFocusHighlightIsAtLeast3) {
    for (const auto& [b, bg] : kBackgrounds) EXPECT_GE(ratio(pal::kNavHighlight, bg), 3.0) << b;
}
// prefers-contrast: more: every text colour at least 7:1 (WCAG 1.4.6) on every background, the
// focus highlight and the fields' borders at least 3:1.
TEST(Contrast, MoreContrastPaletteIsAtLeast7) {
    namespace more = pal::more;
    const std::vector<std::pair<std::string, Rgba>> texts = {
        {"text", pal::kText},    {"disabled/hint", more::kTextDisabled},
        {"red", more::kRed},     {"amber", more::kAmber},
        {"green", more::kGreen}, {"grey", more::kGrey}};
    for (const auto& [t, fg] : texts)
        for (const auto& [b, bg] : kBackgrounds) EXPECT_GE(ratio(fg, bg), 7.0) << t << " on " << b;
    for (const auto& [b, bg] : kBackgrounds) {
        EXPECT_GE(ratio(more::kNavHighlight, bg), 3.0) << b;
        EXPECT_GE(ratio(more::kBorder, bg), 3.0) << b;
    }
}
}  // namespace
