// wasm/app/views/operations_view.cpp — the Operations view: how the model shown is doing at the sites
// that report to this server, read with an operator's token (docs/operations.md).
//
// Index of this file
//   [SECTION] Words: each chart's text alternative
//   [SECTION] The token and the request
//   [SECTION] Tables and charts
//   [SECTION] The view
//   [SECTION] State for tests
//
// Nothing here is computed from patients: the server pools the randomized aggregate reports
// (GET /api/v1/drift/history, /api/v1/drift) and this view only draws what it answered (read by
// operations_json.cpp). The operator's token is typed here, kept in AppState for the session and
// handed to the page's fetch as it is sent; it is never stored by the page (web/host.js,
// operationsFetch).
#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <functional>

#include "a11y.h"
#include "app.h"
#include "bundle/crypto.h"
#include "imgui.h"
#include "misc/cpp/imgui_stdlib.h"
#include "plot.h"
#include "widgets.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] Words
//-----------------------------------------------------------------------------
namespace {
std::string psi_text(double v) { return std::isnan(v) ? "too few patients" : fmt(v, "%.2f"); }
const char* per(const OperationsData& d) { return d.weekly ? "per week" : "per day"; }

// A period's first day in words for the x axis: "2026-11-29" -> "Nov 29" (weeks: their Monday).
std::string short_day(const std::string& day) {
    static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (day.size() != 10) return day;
    const int m = std::atoi(day.substr(5, 2).c_str()), dd = std::atoi(day.substr(8, 2).c_str());
    return m >= 1 && m <= 12 ? std::string(kMonths[m - 1]) + " " + std::to_string(dd) : day;
}
// The x axis of a chart over the periods: a date under each tick.
PlotAxes period_axes(const OperationsData& d, const char* y_label, double y_min, double y_max) {
    const double last = static_cast<double>(d.periods.size() - 1);
    PlotAxes a{d.weekly ? "week starting" : "day", y_label, y_min, y_max, false, 0, std::max(1.0, last)};
    a.x_text = [&d](double x) {
        const long i = std::lround(std::clamp(x, 0.0, static_cast<double>(d.periods.size() - 1)));
        return short_day(d.periods[static_cast<size_t>(i)].day);
    };
    return a;
}

// Fields by their latest PSI, highest first (fields without one last).
std::vector<size_t> ranked_fields(const OperationsData& d) {
    std::vector<size_t> order(d.fields.size());
    for (size_t f = 0; f < order.size(); ++f) order[f] = f;
    if (d.periods.empty()) return order;
    const OperationsPeriod& last = d.periods.back();
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const double x = std::isnan(last.psi[a]) ? -1 : last.psi[a], y = std::isnan(last.psi[b]) ? -1 : last.psi[b];
        return x > y;
    });
    return order;
}

// The first period whose PSI for field f is at or above the alert line, or -1.
int first_alert(const OperationsData& d, size_t f) {
    for (size_t i = 0; i < d.periods.size(); ++i)
        if (!std::isnan(d.periods[i].psi[f]) && d.periods[i].psi[f] >= d.psi_alert) return static_cast<int>(i);
    return -1;
}

std::string psi_alt(const OperationsData& d, size_t f) {
    std::string t = "PSI of " + d.fields[f] + " " + per(d) + " against the warning line " + fmt(d.psi_warn, "%.2f") +
                    " and the alert line " + fmt(d.psi_alert, "%.2f") + ":";
    for (size_t i = 0; i < d.periods.size(); ++i)
        t += std::string(i ? ";" : "") + " " + d.periods[i].day + " " + psi_text(d.periods[i].psi[f]);
    const int a = first_alert(d, f);
    return t + (a >= 0 ? ". First at or above the alert line on " + d.periods[static_cast<size_t>(a)].day + "."
                       : ". Never at or above the alert line.");
}

// The training share per bin of field f (the bundle's reference histogram), or empty.
std::vector<double> training_shares(const AppState& s, const std::string& field) {
    if (!s.model) return {};
    for (const Histogram& h : s.model->model.reference.fields)
        if (h.name == field) {
            double total = 0;
            for (uint64_t c : h.counts) total += static_cast<double>(c);
            std::vector<double> out;
            for (uint64_t c : h.counts) out.push_back(total > 0 ? static_cast<double>(c) / total : 0);
            return out;
        }
    return {};
}

// A bin's name from the reference histogram's edges: "< 99", "99 to 117", ">= 180", "missing".
std::string bin_name(const AppState& s, const std::string& field, size_t b) {
    if (!s.model) return std::to_string(b + 1);
    for (const Histogram& h : s.model->model.reference.fields)
        if (h.name == field) {
            if (b == h.missing_bin()) return "missing";
            if (h.edges.empty()) return "all";
            if (b == 0) return "< " + fmt(h.edges.front());
            if (b > h.edges.size()) return std::to_string(b + 1);
            if (b == h.edges.size()) return ">= " + fmt(h.edges.back());
            return fmt(h.edges[b - 1]) + " to " + fmt(h.edges[b]);
        }
    return std::to_string(b + 1);
}

std::string histogram_alt(const AppState& s, const OperationsData& d, size_t f, size_t day) {
    const std::vector<double>& live = d.periods[day].live[f];
    const std::string on = d.fields[f] + (d.weekly ? " in the week of " : " on ") + d.periods[day].day;
    if (live.empty()) return on + ": too few patients for a histogram.";
    const std::vector<double> train = training_shares(s, d.fields[f]);
    std::string t = on + ", share of patients per range, live against training:";
    for (size_t b = 0; b < live.size(); ++b)
        t += std::string(b ? ";" : "") + " " + bin_name(s, d.fields[f], b) + " " + pct(live[b]) +
             (b < train.size() ? " against " + pct(train[b]) : "");
    return t + ".";
}

// One estimated figure of a period (a member, or a finding's); NaN when that period has none.
using FigureOf = std::function<OperationsFigure(const OperationsPeriod&)>;
FigureOf figure_member(OperationsFigure OperationsPeriod::*fig) {
    return [fig](const OperationsPeriod& p) { return p.*fig; };
}
// Finding k's AUC or sensitivity (multilabel).
FigureOf finding_figure(std::vector<OperationsFigure> OperationsPeriod::*list, size_t k) {
    return [list, k](const OperationsPeriod& p) { return k < (p.*list).size() ? (p.*list)[k] : OperationsFigure{}; };
}

std::string figure_alt(const OperationsData& d, const std::string& name, const FigureOf& fig) {
    std::string t = "Estimated " + name + " " + per(d) + " with its 95% interval";
    double card = NAN;
    for (const auto& p : d.periods)
        if (!std::isnan(fig(p).card)) card = fig(p).card;
    t += std::isnan(card) ? ":" : ", against the model card's " + fmt(card, "%.2f") + ":";
    bool any = false;
    for (const auto& p : d.periods) {
        const OperationsFigure f = fig(p);
        if (std::isnan(f.value)) continue;
        t += std::string(any ? ";" : "") + " " + p.day + " " + fmt(f.value, "%.2f") + " (" + fmt(f.lo, "%.2f") +
             " to " + fmt(f.hi, "%.2f") + (f.below_card ? ", below the card" : "") + ")";
        any = true;
    }
    return any ? t + "." : t + (d.weekly ? " no week" : " no day") + " has enough patients for an estimate.";
}

//-----------------------------------------------------------------------------
// [SECTION] The token and the request
//-----------------------------------------------------------------------------
void request(AppState& s) {
    OperationsState& o = s.operations;
    if (!s.model || o.token.empty() || o.loading) return;
    o.loading = true;
    o.status = "Reading the drift history from the server…";
    // The last four weeks, up to tomorrow: the server accepts reports dated tomorrow (time zones).
    const int64_t now = host_now();
    host_operations_fetch(s.model->model.manifest.name, o.token, utc_day(now - 27 * 86400), utc_day(now + 86400),
                          o.weekly ? "week" : "day");
}

void draw_token(AppState& s) {
    OperationsState& o = s.operations;
    ImGui::TextWrapped(
        "An operator's token reads the drift of this model at the sites that report to this server. It is kept in "
        "this page's memory until the page is closed, and never stored.");
    a11y::Node n;
    n.role = a11y::Role::textbox;
    n.name = "Operator token";
    n.value = o.token;
    n.secret = true;
    a11y::Actions act;
    act.set_text = [](const std::string& t) { state().operations.token = t; };
    a11y::note(ImGui::GetID("##operator-token"), std::move(n), std::move(act));
    ImGui::SetNextItemWidth(std::min(ImGui::GetContentRegionAvail().x * 0.6f, 360 * S()));
    const bool enter = ImGui::InputTextWithHint("##operator-token", "operator token", &o.token,
                                                ImGuiInputTextFlags_Password | ImGuiInputTextFlags_EnterReturnsTrue);
    ImGui::SameLine();
    if ((button("Show drift") || enter) && !o.token.empty()) request(s);
    ImGui::SameLine();
    if (ImGui::Checkbox("Per week", &o.weekly) && !o.token.empty() && o.data) request(s);
    if (!o.status.empty()) {
        ImGui::TextColored(o.status.rfind("Reading", 0) == 0 ? kGrey : kRed, "%s", o.status.c_str());
        a11y::text("##a11y-ops-status", a11y::Role::status, o.status);
    }
}

//-----------------------------------------------------------------------------
// [SECTION] Tables and charts
//-----------------------------------------------------------------------------
// A table's header row and a row of cells, mirrored as table, row and cell nodes.
void header_row(const std::vector<const char*>& names) {
    a11y::push_parent(ImGui::GetID("##a11y-head"), a11y::Role::row, "");
    for (const char* n : names) {
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(n);
        a11y::text(n, a11y::Role::columnheader, n);
    }
    a11y::pop_parent();
}
void cell(const char* key, const std::string& words, const ImVec4* color = nullptr) {
    ImGui::TableNextColumn();
    if (color) ImGui::TextColored(*color, "%s", words.c_str());
    else ImGui::TextUnformatted(words.c_str());
    a11y::text(key, a11y::Role::cell, words);
}

void draw_ranked(AppState& s, const OperationsData& d) {
    section("Fields ranked by drift (PSI on the latest day)");
    const OperationsPeriod& last = d.periods.back();
    const ImGuiID table = ImGui::GetID("##a11y-ranked");
    if (!ImGui::BeginTable("ranked", 4, ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH)) return;
    a11y::push_parent(table, a11y::Role::table, "Fields ranked by drift on " + last.day);
    header_row({"Field", "PSI", "95% interval", "Status"});
    for (size_t f : ranked_fields(d)) {
        ImGui::PushID(static_cast<int>(f));
        ImGui::TableNextRow();
        a11y::push_parent(ImGui::GetID("##a11y-row"), a11y::Role::row, "");
        ImGui::TableNextColumn();
        if (ImGui::Selectable(d.fields[f].c_str(), s.operations.field == static_cast<int>(f)))
            s.operations.field = static_cast<int>(f);
        a11y::text("##field", a11y::Role::cell, d.fields[f]);
        const double psi = last.psi[f];
        const bool alert = !std::isnan(psi) && psi >= d.psi_alert, warn = !std::isnan(psi) && psi >= d.psi_warn;
        cell("##psi", psi_text(psi), alert ? &kRed : warn ? &kAmber : nullptr);
        cell("##ci",
             std::isnan(last.psi_lo[f]) ? "" : fmt(last.psi_lo[f], "%.2f") + " to " + fmt(last.psi_hi[f], "%.2f"));
        cell("##status", std::isnan(psi) ? "too few patients" : alert ? "alert" : warn ? "warning" : "ok");
        a11y::pop_parent();
        ImGui::PopID();
    }
    a11y::pop_parent();
    ImGui::EndTable();
}

// A horizontal dashed line across the days (PlotSeries draws a dashed line as pairs of points).
PlotSeries level(double y, double days, ImU32 color, std::string legend) {
    PlotSeries l;
    l.color = color;
    l.dashed = true;
    l.legend = std::move(legend);
    for (int i = 0; i < 40; ++i) l.points.push_back({days * i / 39.0, y});
    return l;
}

float plot_side() { return std::clamp(ImGui::GetContentRegionAvail().x * 0.42f, 160 * S(), 320 * S()); }

// A figure over the periods (value, lower and upper end; NaN: none that period) with dashed lines
// at fixed levels, on a square plot with the periods' dates under it.
void plot_over_time(const char* id, const OperationsData& d, const std::string& legend,
                    const std::function<std::array<double, 3>(const OperationsPeriod&)>& at,
                    std::vector<PlotSeries> levels, const char* y_label, double top) {
    PlotSeries v, lo, hi;
    v.legend = legend;
    lo.color = hi.color = IM_COL32(150, 180, 225, 255);
    lo.legend = "95% interval";
    for (size_t i = 0; i < d.periods.size(); ++i) {
        const auto [value, low, high] = at(d.periods[i]);
        if (std::isnan(value)) continue;
        v.points.push_back({static_cast<double>(i), value});
        lo.points.push_back({static_cast<double>(i), low});
        hi.points.push_back({static_cast<double>(i), high});
    }
    v.line = v.points.size() > 1;
    std::vector<PlotSeries> series{lo, hi, v};
    series.insert(series.end(), levels.begin(), levels.end());
    plot_xy(id, plot_side(), series, period_axes(d, y_label, 0, top));
}

void draw_psi(const OperationsData& d, size_t f) {
    const double last = static_cast<double>(d.periods.size() - 1);
    double top = d.psi_alert * 1.6;
    for (const auto& p : d.periods)
        if (!std::isnan(p.psi[f])) top = std::max(top, p.psi_hi[f] * 1.1);
    const std::string y = std::string("PSI ") + per(d);
    ImGui::BeginGroup();
    ImGui::Text("PSI of %s, %s to %s", d.fields[f].c_str(), d.periods.front().day.c_str(),
                d.periods.back().day.c_str());
    plot_over_time(
        "psi", d, "PSI",
        [f](const OperationsPeriod& p) {
            return std::array{p.psi[f], p.psi_lo[f], p.psi_hi[f]};
        },
        {level(d.psi_warn, last, IM_COL32(200, 130, 0, 255), "warning line"),
         level(d.psi_alert, last, IM_COL32(190, 30, 30, 255), "alert line")},
        y.c_str(), top);
    ImGui::EndGroup();
    a11y::text("##a11y-psi", a11y::Role::image, psi_alt(d, f));
}

void draw_histogram(const AppState& s, const OperationsData& d, size_t f, size_t day) {
    const std::vector<double>& live = d.periods[day].live[f];
    const std::vector<double> train = training_shares(s, d.fields[f]);
    PlotSeries l, t;
    l.legend = "live";
    t.legend = "training";
    t.color = IM_COL32(120, 120, 120, 255);
    l.bar = t.bar = 0.38;
    double top = 0.05;
    for (size_t b = 0; b < std::max(live.size(), train.size()); ++b) {
        if (b < train.size()) t.points.push_back({b + 0.3, train[b]}), top = std::max(top, train[b]);
        if (b < live.size()) l.points.push_back({b + 0.7, live[b]}), top = std::max(top, live[b]);
    }
    const double bins = static_cast<double>(std::max(live.size(), train.size()));
    const PlotAxes axes{"range (bin) of the field", "share of patients", 0, top * 1.1, false, 0, bins};
    ImGui::BeginGroup();
    ImGui::Text("%s %s %s: live against training", d.fields[f].c_str(), d.weekly ? "in the week of" : "on",
                d.periods[day].day.c_str());
    plot_xy("hist", plot_side(), {t, l}, axes);
    ImGui::EndGroup();
    a11y::text("##a11y-hist", a11y::Role::image, histogram_alt(s, d, f, day));
}

void draw_figure(const OperationsData& d, const std::string& id, const std::string& name, const FigureOf& fig) {
    double card = NAN;
    for (const auto& p : d.periods)
        if (!std::isnan(fig(p).card)) card = fig(p).card;
    std::vector<PlotSeries> levels;
    if (!std::isnan(card))
        levels.push_back(
            level(card, static_cast<double>(d.periods.size() - 1), IM_COL32(90, 95, 105, 255), "model card"));
    ImGui::BeginGroup();
    ImGui::Text("Estimated %s", name.c_str());
    plot_over_time(
        id.c_str(), d, "estimated " + name,
        [&fig](const OperationsPeriod& p) {
            const OperationsFigure f = fig(p);
            return std::array{f.value, f.lo, f.hi};
        },
        levels, "", 1);
    ImGui::EndGroup();
    a11y::text(("##a11y-" + id).c_str(), a11y::Role::image, figure_alt(d, name, fig));
}

void draw_sources(const OperationsData& d) {
    const std::string title = std::string("Sources reporting ") + per(d);
    section(title.c_str());
    if (!ImGui::BeginTable("sources", 4, ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH)) return;
    a11y::push_parent(ImGui::GetID("##a11y-sources"), a11y::Role::table, title);
    header_row({d.weekly ? "Week starting" : "Day", "Sources", "Reports", "Predictions"});
    for (size_t i = 0; i < d.periods.size(); ++i) {
        const OperationsPeriod& p = d.periods[i];
        ImGui::PushID(static_cast<int>(i));
        ImGui::TableNextRow();
        a11y::push_parent(ImGui::GetID("##a11y-row"), a11y::Role::row, "");
        cell("##day", p.day);
        cell("##sources", std::to_string(p.sources));
        cell("##reports", std::to_string(p.reports));
        cell("##predictions", std::to_string(p.predictions));
        a11y::pop_parent();
        ImGui::PopID();
    }
    a11y::pop_parent();
    ImGui::EndTable();
}

// A choice from a list, mirrored as a combobox.
void choose(const char* label, const std::string& name, const std::vector<std::string>& options, int& chosen,
            int OperationsState::*member) {
    a11y::Node n;
    n.role = a11y::Role::combobox;
    n.name = name;
    n.options = options;
    n.selected = chosen;
    n.value = chosen >= 0 && chosen < static_cast<int>(options.size()) ? options[static_cast<size_t>(chosen)] : "";
    const int count = static_cast<int>(options.size());
    a11y::note(ImGui::GetID(label), std::move(n), a11y::Actions{.choose = [member, count](int k) {
                   if (k >= 0 && k < count) state().operations.*member = k;
               }});
    ImGui::SetNextItemWidth(160 * S());
    if (ImGui::BeginCombo(label, chosen >= 0 && chosen < count ? options[static_cast<size_t>(chosen)].c_str() : "")) {
        for (int k = 0; k < count; ++k)
            if (ImGui::Selectable(options[static_cast<size_t>(k)].c_str(), k == chosen)) chosen = k;
        ImGui::EndCombo();
    }
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] The view
//-----------------------------------------------------------------------------
void draw_operations(AppState& s) {
    OperationsState& o = s.operations;
    draw_token(s);
    if (!o.data) return;
    const OperationsData& d = *o.data;
    section("Active alerts (last 7 days)");
    if (d.alerts.empty()) ImGui::TextColored(kGreen, "No field, output or estimate is past its line.");
    for (size_t i = 0; i < d.alerts.size(); ++i) bullet("%s", d.alerts[i].c_str());
    std::string alerts = d.alerts.empty() ? "No active alerts." : "Active alerts:";
    for (const auto& a : d.alerts) alerts += " " + a + ".";
    a11y::text("##a11y-alerts", a11y::Role::text, alerts);
    if (d.periods.empty() || d.fields.empty()) {
        ImGui::TextColored(kGrey, "No reports for %s in the last four weeks.", d.model.c_str());
        return;
    }
    operations_keep_choice(o);
    draw_ranked(s, d);
    section("A field over time");
    std::vector<std::string> days;
    for (const auto& p : d.periods) days.push_back(p.day);
    choose("Field##ops-field", "Field", d.fields, o.field, &OperationsState::field);
    ImGui::SameLine();
    choose(d.weekly ? "Week##ops-day" : "Day##ops-day", d.weekly ? "Week starting" : "Day", days, o.day,
           &OperationsState::day);
    const size_t f = static_cast<size_t>(o.field), day = static_cast<size_t>(o.day);
    draw_psi(d, f);
    ImGui::SameLine();
    draw_histogram(s, d, f, day);
    section("Performance estimated without labels");
    if (s.model->model.schema.outputs.regression()) {
        draw_figure(d, "coverage", "coverage of the 90% prediction interval",
                    figure_member(&OperationsPeriod::coverage));
    } else if (!d.findings.empty()) {  // multilabel: each finding's, side by side
        for (size_t k = 0; k < d.findings.size(); ++k) {
            const std::string& label = d.finding_labels[k];
            draw_figure(d, "auc-" + d.findings[k], "AUC of " + label,
                        finding_figure(&OperationsPeriod::finding_auc, k));
            ImGui::SameLine();
            draw_figure(d, "sensitivity-" + d.findings[k], "sensitivity of " + label,
                        finding_figure(&OperationsPeriod::finding_sensitivity, k));
        }
    } else {
        draw_figure(d, "auc", "AUC", figure_member(&OperationsPeriod::auc));
        ImGui::SameLine();
        draw_figure(d, "sensitivity", "sensitivity", figure_member(&OperationsPeriod::sensitivity));
    }
    // The caveat in the server's words (it states the same limit for every reader of the API).
    std::string caveat = d.note.empty()
                             ? "This estimate holds only while the model stays calibrated on the patients "
                               "scored: it follows a change in who is scored, and cannot see a change in how "
                               "outcomes follow from the same inputs."
                             : d.note;
    if (!caveat.empty()) caveat[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(caveat[0])));
    ImGui::TextWrapped("%s", caveat.c_str());
    a11y::text("##a11y-caveat", a11y::Role::text, caveat);
    draw_sources(d);
}

//-----------------------------------------------------------------------------
// [SECTION] State for tests
//-----------------------------------------------------------------------------
void operations_set_data(OperationsState& o, OperationsData d) {
    std::string field, day;
    bool latest = true;
    if (o.data) {
        const OperationsData& old = *o.data;
        if (o.field >= 0 && o.field < static_cast<int>(old.fields.size())) field = old.fields[o.field];
        if (o.day >= 0 && o.day < static_cast<int>(old.periods.size())) {
            day = old.periods[o.day].day;
            latest = o.day + 1 == static_cast<int>(old.periods.size());
        }
    }
    o.data = std::move(d);
    o.field = o.day = -1;
    for (size_t f = 0; f < o.data->fields.size(); ++f)
        if (!field.empty() && o.data->fields[f] == field) o.field = static_cast<int>(f);
    for (size_t p = 0; p < o.data->periods.size(); ++p)
        if (!latest && o.data->periods[p].day == day) o.day = static_cast<int>(p);
    operations_keep_choice(o);
}

void operations_keep_choice(OperationsState& o) {
    if (!o.data || o.data->periods.empty() || o.data->fields.empty()) return;
    const OperationsData& d = *o.data;
    if (o.field < 0 || o.field >= static_cast<int>(d.fields.size())) o.field = static_cast<int>(ranked_fields(d)[0]);
    if (o.day < 0 || o.day >= static_cast<int>(d.periods.size())) o.day = static_cast<int>(d.periods.size() - 1);
}

Json operations_view_state(const AppState& s) {
    const OperationsState& o = s.operations;
    Json v{{"token_entered", !o.token.empty()},
           {"loading", o.loading},
           {"weekly", o.data && o.data->weekly},
           {"status", o.status},
           {"loaded", o.data.has_value()}};
    if (!o.data) return v;
    const OperationsData& d = *o.data;
    v["thresholds"] = {{"psi_warn", d.psi_warn}, {"psi_alert", d.psi_alert}};
    v["alerts"] = d.alerts;
    Json days = Json::array();
    for (const auto& p : d.periods)
        days.push_back(
            {{"day", p.day}, {"sources", p.sources}, {"reports", p.reports}, {"predictions", p.predictions}});
    v["days"] = days;
    if (d.periods.empty()) return v;
    Json ranked = Json::array();
    for (size_t f : ranked_fields(d)) {
        const double psi = d.periods.back().psi[f];
        ranked.push_back({{"field", d.fields[f]}, {"psi", std::isnan(psi) ? Json() : Json(psi)}});
    }
    v["ranked"] = ranked;
    if (o.field >= 0 && o.field < static_cast<int>(d.fields.size())) {
        const size_t f = static_cast<size_t>(o.field);
        Json series = Json::array();
        for (const auto& p : d.periods) series.push_back(std::isnan(p.psi[f]) ? Json() : Json(p.psi[f]));
        const int a = first_alert(d, f);
        v["field"] = d.fields[f];
        v["psi"] = series;
        v["first_alert_day"] = a >= 0 ? Json(d.periods[static_cast<size_t>(a)].day) : Json();
        v["alt"] = {{"psi", psi_alt(d, f)},
                    {"auc", figure_alt(d, "AUC", figure_member(&OperationsPeriod::auc))},
                    {"sensitivity", figure_alt(d, "sensitivity", figure_member(&OperationsPeriod::sensitivity))},
                    {"coverage", figure_alt(d, "coverage of the 90% prediction interval",
                                            figure_member(&OperationsPeriod::coverage))}};
        Json findings = Json::array();  // multilabel: each finding's
        for (size_t k = 0; k < d.findings.size(); ++k)
            findings.push_back(
                {{"finding", d.findings[k]},
                 {"auc",
                  figure_alt(d, "AUC of " + d.finding_labels[k], finding_figure(&OperationsPeriod::finding_auc, k))},
                 {"sensitivity", figure_alt(d, "sensitivity of " + d.finding_labels[k],
                                            finding_figure(&OperationsPeriod::finding_sensitivity, k))}});
        v["alt"]["findings"] = findings;
        if (o.day >= 0 && o.day < static_cast<int>(d.periods.size()))
            v["alt"]["histogram"] = histogram_alt(s, d, f, static_cast<size_t>(o.day));
    }
    return v;
}

}  // namespace ldx::app
