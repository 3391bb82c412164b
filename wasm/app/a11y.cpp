// wasm/app/a11y.cpp — the semantic mirror of the UI (a11y.h): Dear ImGui's item hooks, the
// views' annotations, the tree sent to the page, and the page's calls back into the app.
//
// Index of this file
//   [SECTION] One frame's records
//   [SECTION] Dear ImGui's item hooks (IMGUI_ENABLE_TEST_ENGINE)
//   [SECTION] Annotations
//   [SECTION] Merging and the tree's JSON
//   [SECTION] Page -> app (embind): focus, activation, text, choices, more contrast
#include "a11y.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <unordered_map>

#include <emscripten/bind.h>

#include "app.h"
#include "boundary.h"
#include "imgui_internal.h"
#include "widgets.h"

namespace ldx::app::a11y {

//-----------------------------------------------------------------------------
// [SECTION] One frame's records
//-----------------------------------------------------------------------------
namespace {
// What the hooks saw of one item.
struct HookItem {
    ImGuiID id = 0;
    ImRect bb, clip;
    ImGuiWindow* window = nullptr;
    std::string label;  // as given to the widget ("Predict", "##glucose")
    ImGuiItemStatusFlags status = 0;
    bool disabled = false, in_popup = false, info = false;
    int order = 0;
    ImGuiID parent = 0;  // a table's cell the item was drawn in (cell_begin)
};

// A table being drawn (table_begin .. table_end): its node, its open row, and whether a cell is
// open as the parent of what is drawn in it.
struct OpenTable {
    ImGuiID id = 0, row = 0;
    int rows = 0;    // rows drawn so far
    int header = 0;  // 1 with a header row
    int total = -1;  // all its rows (header not counted), when the table draws only some
    bool cell_open = false;
};

struct Frame {
    std::unordered_map<ImGuiID, HookItem> items;
    std::vector<ImGuiID> order;  // items in drawing order
    std::vector<Node> notes;     // annotations, in drawing order
    std::unordered_map<ImGuiID, Actions> actions;
    std::vector<ImGuiID> parents;  // the containers open while drawing
    std::vector<OpenTable> tables;
    std::vector<Node> nodes;  // merged at the end of the frame
};
Frame current, last;  // being drawn; last drawn (what the page's elements mirror)
std::string last_json;
bool recording = false;

HookItem& item(ImGuiID id) {
    auto [it, added] = current.items.try_emplace(id);
    if (added) {
        it->second.id = id;
        it->second.order = static_cast<int>(current.order.size());
        current.order.push_back(id);
    }
    return it->second;
}

// The label a person reads: Dear ImGui's "visible##hidden" without the hidden part.
std::string visible_label(const std::string& label) {
    const size_t hash = label.find("##");
    return hash == std::string::npos ? label : label.substr(0, hash);
}
}  // namespace

const char* role_name(Role r) {
    switch (r) {
        case Role::none:
            return "";
        case Role::button:
            return "button";
        case Role::textbox:
            return "textbox";
        case Role::combobox:
            return "combobox";
        case Role::checkbox:
            return "checkbox";
        case Role::tab:
            return "tab";
        case Role::tablist:
            return "tablist";
        case Role::slider:
            return "slider";
        case Role::disclosure:
            return "disclosure";
        case Role::heading:
            return "heading";
        case Role::text:
            return "text";
        case Role::document:
            return "document";
        case Role::status:
            return "status";
        case Role::alert:
            return "alert";
        case Role::image:
            return "image";
        case Role::table:
            return "table";
        case Role::row:
            return "row";
        case Role::cell:
            return "cell";
        case Role::columnheader:
            return "columnheader";
    }
    return "";
}

}  // namespace ldx::app::a11y

//-----------------------------------------------------------------------------
// [SECTION] Dear ImGui's item hooks
//-----------------------------------------------------------------------------
// Called by Dear ImGui (imgui_internal.h) for every item while ctx->TestEngineHookItems is set:
// ItemAdd with the item's bounds (before clipping, so a field scrolled out of view is still
// reported), ItemInfo with its label and status flags (checkable, checked, openable, opened).
void ImGuiTestEngineHook_ItemAdd(ImGuiContext* ctx, const ImRect& bb, ImGuiID id) {
    using namespace ldx::app::a11y;
    if (!recording || id == 0) return;
    ImGuiWindow* w = ctx->CurrentWindow;
    HookItem& it = item(id);
    it.bb = bb;
    it.window = w;
    // What the window shows of it: a row's button spanning a table that scrolls sideways is clipped
    // to the table's visible part, as the canvas shows it.
    if (w) {
        it.clip = w->ClipRect;
        it.clip.ClipWithFull(w->InnerClipRect);
    } else {
        it.clip = bb;
    }
    it.disabled = (ctx->CurrentItemFlags & ImGuiItemFlags_Disabled) != 0;
    it.in_popup = w && (w->Flags & (ImGuiWindowFlags_Popup | ImGuiWindowFlags_Tooltip)) != 0;
    if (!current.tables.empty() && current.tables.back().cell_open) it.parent = current.parents.back();
}

void ImGuiTestEngineHook_ItemInfo(ImGuiContext*, ImGuiID id, const char* label, ImGuiItemStatusFlags flags) {
    using namespace ldx::app::a11y;
    if (!recording || id == 0) return;
    HookItem& it = item(id);
    it.label = label ? label : "";
    it.status = flags;
    it.info = true;
}

void ImGuiTestEngineHook_Log(ImGuiContext*, const char*, ...) {}
const char* ImGuiTestEngine_FindItemDebugLabel(ImGuiContext*, ImGuiID) { return nullptr; }

namespace ldx::app::a11y {

void frame_begin() {
    current = Frame{};
    recording = true;
    GImGui->TestEngineHookItems = true;
}

//-----------------------------------------------------------------------------
// [SECTION] Annotations
//-----------------------------------------------------------------------------
void note(ImGuiID id, Node node, Actions actions) {
    if (!recording) return;
    node.id = id;
    if (!node.parent && !current.parents.empty()) node.parent = current.parents.back();
    current.notes.push_back(std::move(node));
    if (actions.set_text || actions.choose || actions.set_number || actions.revert || actions.focus)
        current.actions[id] = std::move(actions);
    item(id);  // its place in the drawing order, should the hooks not report it (text)
}

void text(const char* key, Role role, const std::string& words, int level, const char* anchor) {
    if (!recording) return;
    const ImGuiID id = ImGui::GetID(key);
    ImGuiContext& g = *GImGui;
    HookItem& it = item(id);
    it.bb = g.LastItemData.Rect;
    it.window = g.CurrentWindow;
    it.clip = g.CurrentWindow ? g.CurrentWindow->ClipRect : it.bb;
    Node n;
    n.role = role;
    n.name = words;
    n.level = level;
    n.anchor = anchor;
    note(id, std::move(n));
}

void slider(const char* label, const std::string& name, float* v, float min, float max, float step,
            const std::string& value_words) {
    Node n;
    n.role = Role::slider;
    n.name = name;
    n.value = value_words;
    n.min = min, n.max = max, n.step = step, n.number = *v;
    // Where Dear ImGui's float slider maps its value: the frame less 2 pixels of padding and half the
    // grab at each end (SliderBehaviorT), so a finger's drag (web/a11y.js, Touch) sets what a tap would.
    n.inset = 2.0f + ImGui::GetStyle().GrabMinSize * 0.5f;
    Actions a;
    a.set_number = [v, min, max](double x) {
        if (std::isfinite(x)) *v = std::clamp(static_cast<float>(x), min, max);
    };
    note(ImGui::GetID(label), std::move(n), std::move(a));
}

void view_text_begin() {
    if (recording) ImGui::LogToBuffer(0);  // depth 0: logging opens no tree node
}

void view_text_end(const char* key, const std::string& name) {
    ImGuiContext& g = *GImGui;
    if (!recording || !g.LogEnabled) return;
    std::string words = g.LogBuffer.c_str();  // LogFinish clears it
    ImGui::LogFinish();
    const ImGuiID id = ImGui::GetID(key);
    ImGuiWindow* w = g.CurrentWindow;
    HookItem& it = item(id);
    it.bb = w->Rect();
    it.window = w;
    it.clip = w->Rect();
    Node n;
    n.role = Role::document;
    n.name = name;
    n.value = std::move(words);
    note(id, std::move(n));
}

void push_parent(ImGuiID id, Role role, const std::string& name) {
    Node n;
    n.role = role;
    n.name = name;
    note(id, std::move(n));
    current.parents.push_back(id);
}

void pop_parent() {
    if (!current.parents.empty()) current.parents.pop_back();
}

namespace {
// A node of the open table with these bounds (device pixels), clipped as its window clips.
void table_node(ImGuiID id, Role role, const std::string& name, ImGuiID parent, const ImRect& bb) {
    ImGuiContext& g = *GImGui;
    HookItem& it = item(id);
    it.bb = bb;
    it.window = g.CurrentWindow;
    it.clip = g.CurrentWindow ? g.CurrentWindow->ClipRect : bb;
    Node n;
    n.role = role;
    n.name = name;
    n.parent = parent;
    note(id, std::move(n));
}

ImGuiID table_child_id(ImGuiID table, int row, int column) {
    const int key[2] = {row, column};
    return ImHashData(key, sizeof key, table);
}

void close_cell(OpenTable& t) {
    if (t.cell_open) pop_parent();
    t.cell_open = false;
}

// The current cell's bounds: its column, from the row's top to what was drawn in it.
ImRect cell_rect(float height) {
    ImGuiTable* t = ImGui::GetCurrentTable();
    const ImGuiTableColumn& c = t->Columns[std::max(0, t->CurrentColumn)];
    const float y2 = std::max(t->RowPosY1 + height, GImGui->LastItemData.Rect.Max.y);
    return ImRect(c.MinX, t->RowPosY1, c.MaxX, y2);
}
}  // namespace

void table_begin(const char* key, const std::string& name, const std::vector<std::string>& headers, int rows) {
    if (!recording || !ImGui::GetCurrentTable()) return;
    const ImGuiID id = ImGui::GetID(key);
    push_parent(id, Role::table, name);
    current.tables.push_back(OpenTable{id, 0, 0, headers.empty() ? 0 : 1, rows});
    if (headers.empty()) return;
    ImGuiTable* t = ImGui::GetCurrentTable();
    const ImGuiID row = table_child_id(id, -1, -1);
    table_node(row, Role::row, "", id, ImRect());
    current.notes.back().rowindex = 1;
    const float y2 = std::max(t->RowPosY2, t->RowPosY1 + ImGui::GetFrameHeight());
    for (int c = 0; c < static_cast<int>(headers.size()) && c < t->ColumnsCount; ++c)
        table_node(table_child_id(id, -1, c), Role::columnheader, headers[static_cast<size_t>(c)], row,
                   ImRect(t->Columns[c].MinX, t->RowPosY1, t->Columns[c].MaxX, y2));
}

void table_row(const std::string& name, int index) {
    if (!recording || current.tables.empty()) return;
    OpenTable& t = current.tables.back();
    close_cell(t);
    const int place = (index >= 0 ? index : t.rows) + t.header + 1;
    t.row = table_child_id(t.id, t.rows++, -1);
    table_node(t.row, Role::row, name, t.id, ImRect());
    current.notes.back().rowindex = place;
}

void cell(const std::string& words) {
    if (!recording || current.tables.empty() || !ImGui::GetCurrentTable()) return;
    OpenTable& t = current.tables.back();
    close_cell(t);
    table_node(table_child_id(t.id, t.rows - 1, ImGui::GetCurrentTable()->CurrentColumn), Role::cell, words, t.row,
               cell_rect(ImGui::GetTextLineHeight()));
}

void cell_begin() {
    if (!recording || current.tables.empty() || !ImGui::GetCurrentTable()) return;
    OpenTable& t = current.tables.back();
    close_cell(t);
    const ImGuiID id = table_child_id(t.id, t.rows - 1, ImGui::GetCurrentTable()->CurrentColumn);
    ImRect bb = cell_rect(ImGui::GetFrameHeight());
    bb.Max.y = bb.Min.y + ImGui::GetFrameHeight();
    table_node(id, Role::cell, "", t.row, bb);
    current.parents.push_back(id);
    t.cell_open = true;
}

void table_end() {
    if (!recording || current.tables.empty()) return;
    const OpenTable& t = current.tables.back();
    close_cell(current.tables.back());
    for (auto n = current.notes.rbegin(); n != current.notes.rend(); ++n)
        if (n->id == t.id && n->role == Role::table) {
            n->rowcount = (t.total >= 0 ? t.total : t.rows) + t.header;
            break;
        }
    current.tables.pop_back();
    pop_parent();
}

//-----------------------------------------------------------------------------
// [SECTION] Merging and the tree's JSON
//-----------------------------------------------------------------------------
namespace {
// A hook item nobody annotated: a button, a checkbox or a disclosure by its status flags, named by
// its visible label. Items in popups (a combo's list) are left out: the combo's own element offers
// its options; unnamed items are left out too.
Node from_hooks(const HookItem& it, ImGuiID parent) {
    Node n;
    n.id = it.id;
    n.parent = parent;
    n.name = visible_label(it.label);
    if (!it.info || it.in_popup || n.name.empty()) return n;
    if (it.status & ImGuiItemStatusFlags_Checkable) {
        n.role = Role::checkbox;
        if (it.status & ImGuiItemStatusFlags_Checked) n.state |= kChecked;
    } else if (it.status & ImGuiItemStatusFlags_Openable) {
        n.role = Role::disclosure;
        n.state |= (it.status & ImGuiItemStatusFlags_Opened) ? kExpanded : kCollapsed;
    } else {
        n.role = Role::button;
    }
    return n;
}

void set_bounds(Node& n, const HookItem& it) {
    const ImRect& b = it.bb;
    n.rect[0] = b.Min.x, n.rect[1] = b.Min.y, n.rect[2] = b.GetWidth(), n.rect[3] = b.GetHeight();
    ImRect v = b;
    v.ClipWithFull(it.clip);
    n.clip[0] = v.Min.x, n.clip[1] = v.Min.y;
    n.clip[2] = std::max(0.0f, v.GetWidth()), n.clip[3] = std::max(0.0f, v.GetHeight());
}

Json node_json(const Node& n, float k) {
    auto r = [k](const float* v) {
        return Json::array({std::round(v[0] / k * 10) / 10, std::round(v[1] / k * 10) / 10,
                            std::round(v[2] / k * 10) / 10, std::round(v[3] / k * 10) / 10});
    };
    Json j{{"id", n.id}, {"role", role_name(n.role)}, {"name", n.name}, {"rect", r(n.rect)}, {"clip", r(n.clip)}};
    if (n.parent) j["parent"] = n.parent;
    if (!n.value.empty() && !n.secret) j["value"] = n.value;
    if (n.secret) j["secret"] = true;
    if (!n.description.empty()) j["description"] = n.description;
    if (!n.inputmode.empty()) j["inputmode"] = n.inputmode;
    if (!n.placeholder.empty()) j["placeholder"] = n.placeholder;
    if (!n.anchor.empty()) j["anchor"] = n.anchor;
    if (n.state) j["state"] = n.state;
    if (n.level) j["level"] = n.level;
    if (n.rowcount) j["rowcount"] = n.rowcount;
    if (n.rowindex) j["rowindex"] = n.rowindex;
    if (n.role == Role::combobox) {
        j["options"] = n.options;
        j["selected"] = n.selected;
    }
    if (n.role == Role::slider) {
        j["min"] = n.min;
        j["max"] = n.max;
        j["step"] = n.step;
        j["number"] = n.number;
        j["inset"] = std::round(n.inset / k * 10) / 10;
    }
    return j;
}
}  // namespace

void frame_end(float scale) {
    if (!recording) return;
    recording = false;
    GImGui->TestEngineHookItems = false;
    std::unordered_map<ImGuiID, const Node*> noted;
    for (const Node& n : current.notes) noted[n.id] = &n;
    ImGuiContext& g = *GImGui;
    const ImGuiID focus = g.ActiveId ? g.ActiveId : (!g.NavDisableHighlight ? g.NavId : 0);
    for (ImGuiID id : current.order) {
        const HookItem& it = current.items[id];
        Node n;
        if (auto found = noted.find(id); found != noted.end()) {
            n = *found->second;
            if (!it.info && n.name.empty()) n.name = visible_label(it.label);
        } else {
            n = from_hooks(it, it.parent);
        }
        if (n.role == Role::none) continue;
        set_bounds(n, it);
        if (it.disabled) n.state |= kDisabled;
        if (id == focus) n.state |= kFocused;
        current.nodes.push_back(std::move(n));
    }
    // A container (a tablist, a table, a row) spans its children, and shows what they show; the
    // innermost first (children follow their parent in drawing order).
    for (auto p = current.nodes.rbegin(); p != current.nodes.rend(); ++p) {
        if (p->rect[2] > 0 || p->rect[3] > 0) continue;
        ImRect u(FLT_MAX, FLT_MAX, -FLT_MAX, -FLT_MAX), v = u;
        for (const Node& c : current.nodes) {
            if (c.parent != p->id) continue;
            u.Add(ImRect(c.rect[0], c.rect[1], c.rect[0] + c.rect[2], c.rect[1] + c.rect[3]));
            if (c.clip[2] > 0 && c.clip[3] > 0)
                v.Add(ImRect(c.clip[0], c.clip[1], c.clip[0] + c.clip[2], c.clip[1] + c.clip[3]));
        }
        if (u.Min.x > u.Max.x) continue;
        if (v.Min.x > v.Max.x) v = ImRect(u.Min, u.Min);  // wholly out of view
        p->rect[0] = u.Min.x, p->rect[1] = u.Min.y, p->rect[2] = u.GetWidth(), p->rect[3] = u.GetHeight();
        p->clip[0] = v.Min.x, p->clip[1] = v.Min.y, p->clip[2] = v.GetWidth(), p->clip[3] = v.GetHeight();
    }
    // A tab bar still scrolling to the open tab (at 320 px the bar scrolls rather than cut titles)
    // draws on: the app draws only when something changed, and the tab would stop half in view.
    for (int i = 0; i < g.TabBars.GetMapSize(); ++i)
        if (ImGuiTabBar* bar = g.TabBars.TryGetMapData(i); bar && bar->ScrollingAnim != bar->ScrollingTarget)
            state().frames_to_draw = std::max(state().frames_to_draw, 2);
    last = std::move(current);
    current = Frame{};
    std::string j = tree_json(scale);
    if (j != last_json) {
        last_json = std::move(j);
        host_a11y_tree(last_json);
    }
}

const std::vector<Node>& nodes() { return last.nodes; }

std::string tree_json(float scale) {
    const float k = scale > 0 ? scale : 1;
    Json all = Json::array();
    for (const Node& n : last.nodes) all.push_back(node_json(n, k));
    return json_dump(Json{{"nodes", all}});
}

//-----------------------------------------------------------------------------
// [SECTION] Page -> app (embind)
//-----------------------------------------------------------------------------
namespace {
void wake() { state().frames_to_draw = std::max(state().frames_to_draw, 4); }

// An id the page gives back: an ImGuiID of the last frame, or nothing.
bool is_item_id(double id) { return id >= 0 && id <= 4294967295.0; }

const HookItem* last_item(double id) {
    if (!is_item_id(id)) return nullptr;
    auto it = last.items.find(static_cast<ImGuiID>(id));
    return it == last.items.end() ? nullptr : &it->second;
}

// The page's focus moved to node `id`: Dear ImGui's keyboard focus follows (its own highlight is
// drawn there, a field that was being edited on the canvas lets go, the item scrolls into view).
void a11y_focus(double id) {
    wake();
    const HookItem* it = last_item(id);
    if (!it || !it->window) return;
    ImGuiContext& g = *GImGui;
    if (g.ActiveId && g.ActiveId != it->id) ImGui::ClearActiveID();
    ImGui::SetFocusID(it->id, it->window);
    g.NavDisableHighlight = false;
    g.NavDisableMouseHover = true;
    ImGui::ScrollToBringRectIntoView(it->window, it->bb);
    if (auto a = last.actions.find(it->id); a != last.actions.end() && a->second.focus) a->second.focus();
}

// A click, Enter or Space on a button, tab, checkbox or disclosure: Dear ImGui activates the item
// on the next frame, as its keyboard navigation would (the widget's own code runs).
void a11y_activate(double id) {
    wake();
    const HookItem* it = last_item(id);
    if (!it) return;
    GImGui->NavNextActivateId = it->id;
    GImGui->NavNextActivateFlags = ImGuiActivateFlags_None;
}

template <class F>
void with_actions(double id, F f) {
    wake();
    if (!is_item_id(id)) return;
    auto a = last.actions.find(static_cast<ImGuiID>(id));
    if (a != last.actions.end()) f(a->second);
}

void a11y_set_text(double id, const std::string& text) {
    with_actions(id, [&](Actions& a) {
        if (a.set_text) a.set_text(text);
    });
}
void a11y_choose(double id, int option) {
    with_actions(id, [&](Actions& a) {
        if (a.choose) a.choose(option);
    });
}
void a11y_set_number(double id, double v) {
    with_actions(id, [&](Actions& a) {
        if (a.set_number) a.set_number(v);
    });
}
// Escape in a text field: the text it had when the edit began comes back (the view says so).
void a11y_revert(double id) {
    with_actions(id, [&](Actions& a) {
        if (a.revert) a.revert();
    });
}
// The page's tree now, whether or not it changed (tests).
std::string a11y_tree() { return tree_json(state().scale); }
// The person's system asks for more contrast (prefers-contrast: more), or no longer does.
void a11y_set_contrast_more(bool more) {
    wake();
    use_more_contrast(more);
}
}  // namespace

}  // namespace ldx::app::a11y

EMSCRIPTEN_BINDINGS(localdx_a11y) {
    ldx::boundary::function<&ldx::app::a11y::a11y_focus>("a11yFocus");
    ldx::boundary::function<&ldx::app::a11y::a11y_activate>("a11yActivate");
    ldx::boundary::function<&ldx::app::a11y::a11y_set_text>("a11ySetText");
    ldx::boundary::function<&ldx::app::a11y::a11y_choose>("a11yChoose");
    ldx::boundary::function<&ldx::app::a11y::a11y_set_number>("a11ySetNumber");
    ldx::boundary::function<&ldx::app::a11y::a11y_revert>("a11yRevert");
    ldx::boundary::function<&ldx::app::a11y::a11y_tree>("a11yTree");
    ldx::boundary::function<&ldx::app::a11y::a11y_set_contrast_more>("a11ySetContrastMore");
}
