// wasm/app/palette.h — the app's colours as plain numbers (no Dear ImGui), so that a native unit
// test (tests/unit/test_contrast.cpp) can check every text colour against every background it is
// drawn on by WCAG 2.1's contrast ratio (text >= 4.5:1, focus indicator >= 3:1).
#pragma once

namespace ldx::app::palette {

struct Rgba {
    float r, g, b, a;
};

// Backgrounds.
inline constexpr Rgba kWindowBg{0.96f, 0.97f, 0.98f, 1};
inline constexpr Rgba kFrameBg{1, 1, 1, 1};              // fields (Dear ImGui's light style)
inline constexpr Rgba kNoticeBg{1.0f, 0.96f, 0.85f, 1};  // "not a diagnosis"
inline constexpr Rgba kHeader{0.80f, 0.87f, 0.95f, 1};   // a selected row
inline constexpr Rgba kButton{0.85f, 0.90f, 0.96f, 1};
inline constexpr Rgba kTab{0.85f, 0.90f, 0.96f, 1};
inline constexpr Rgba kTabActive{0.70f, 0.80f, 0.93f, 1};
// Text.
inline constexpr Rgba kText{0, 0, 0, 1};
inline constexpr Rgba kTextDisabled{0.40f, 0.40f, 0.40f, 1};  // hints, "(?)" (Dear ImGui's 0.60 was 2.7:1)
inline constexpr Rgba kRed{0.70f, 0.10f, 0.10f, 1};
inline constexpr Rgba kAmber{0.55f, 0.35f, 0.0f, 1};
inline constexpr Rgba kGreen{0.10f, 0.45f, 0.15f, 1};
inline constexpr Rgba kGrey{0.35f, 0.38f, 0.42f, 1};
// Dear ImGui's keyboard focus highlight (the page's own ring is web/app.css's).
inline constexpr Rgba kNavHighlight{0.11f, 0.30f, 0.85f, 1};
// An out-of-date result is drawn at this opacity: still readable (>= 4.5:1), visibly set back.
inline constexpr float kStaleAlpha = 0.95f;

// More contrast, when the person's system asks for it (prefers-contrast: more; web/a11y.js tells
// the app): every text colour at least 7:1 on every background (WCAG's enhanced contrast, 1.4.6),
// the greys darker, and fields and buttons get a black border.
namespace more {
inline constexpr Rgba kTextDisabled{0.20f, 0.20f, 0.20f, 1};
inline constexpr Rgba kRed{0.50f, 0.0f, 0.0f, 1};
inline constexpr Rgba kAmber{0.36f, 0.20f, 0.0f, 1};
inline constexpr Rgba kGreen{0.0f, 0.30f, 0.06f, 1};
inline constexpr Rgba kGrey{0.20f, 0.22f, 0.25f, 1};
inline constexpr Rgba kBorder{0, 0, 0, 1};
inline constexpr Rgba kNavHighlight{0.0f, 0.12f, 0.55f, 1};
}  // namespace more

}  // namespace ldx::app::palette
