// wasm/app/a11y.h — the semantic mirror of the UI: what each frame drew, as accessible nodes.
//
// Index of this file
//   [SECTION] Nodes (role, name, value, state, bounds)
//   [SECTION] Recording (Dear ImGui's item hooks, and annotations where they lack a role or name)
//   [SECTION] The frame's tree (for web/a11y.js) and what the page does to it
//
// Dear ImGui draws pixels; a screen reader, voice control, a phone's keyboard or an input method
// needs elements. Every frame, Dear ImGui's own item hooks (IMGUI_ENABLE_TEST_ENGINE:
// ImGuiTestEngineHook_ItemAdd / ItemInfo) report each item's id, bounds, label and status; the
// views add what the hooks cannot know (a field's label with its unit, its value, a combo's
// options, the result's words) by the item's id. At the end of the frame the nodes go to the page
// (web/a11y.js) only when they changed, and the page mirrors them as real DOM elements over the
// canvas. What the page does to those elements (focus, a click, typed or pasted text, a choice)
// comes back through the same actions the widgets take.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "imgui.h"

namespace ldx::app::a11y {

//-----------------------------------------------------------------------------
// [SECTION] Nodes
//-----------------------------------------------------------------------------
enum class Role : uint8_t {
    none,  // a hook item nothing names (not mirrored)
    button,
    textbox,
    combobox,
    checkbox,
    tab,
    tablist,
    slider,
    disclosure,  // a tree node: a button that shows or hides what follows (aria-expanded)
    heading,
    text,
    document,  // a view's words, in reading order
    status,    // a polite live region: what changed is read when it changes
    alert,     // an assertive live region (out of date, refusals)
    image,
    table,
    row,
    cell,
    columnheader,
};
const char* role_name(Role r);

enum State : uint32_t {
    kDisabled = 1u << 0,
    kSelected = 1u << 1,
    kExpanded = 1u << 2,
    kCollapsed = 1u << 3,  // expandable and closed (aria-expanded="false")
    kInvalid = 1u << 4,
    kRequired = 1u << 5,
    kChecked = 1u << 6,
    kFocused = 1u << 7,  // Dear ImGui's keyboard focus (NavId) or its active item
};

struct Node {
    ImGuiID id = 0, parent = 0;
    Role role = Role::none;
    std::string name, value, description;
    std::string inputmode;    // textbox: "decimal" for numbers
    std::string placeholder;  // textbox: the hint drawn in the empty field
    std::string anchor;       // a stable element id for the page ("result": the skip link's target)
    bool secret = false;      // textbox: a password field; its value never leaves the app (not in the tree)
    uint32_t state = 0;
    int level = 0;                                  // heading level
    int rowcount = 0;                               // table: all its rows, the header row too, drawn or not
    int rowindex = 0;                               // row: its place among them, from 1 (the header row)
    std::vector<std::string> options;               // combobox
    int selected = -1;                              // combobox: the chosen option
    double min = 0, max = 0, step = 0, number = 0;  // slider
    float inset = 0;  // slider: device pixels at each end of its frame that Dear ImGui's value skips (grab padding,
                      // half the grab)
    float rect[4] = {0, 0, 0, 0};  // x, y, w, h in device pixels
    float clip[4] = {0, 0, 0, 0};  // the part not clipped by its window (x, y, w, h)
};

// What the page can do to a node, taken as the widget would take it (the same state edits).
struct Actions {
    std::function<void(const std::string&)> set_text;  // textbox: text typed, pasted or composed
    std::function<void(int)> choose;                   // combobox: option i chosen
    std::function<void(double)> set_number;            // slider
    std::function<void()> revert;                      // textbox: Escape
    std::function<void()> focus;                       // the page's focus arrived (an edit begins)
};

//-----------------------------------------------------------------------------
// [SECTION] Recording
//-----------------------------------------------------------------------------
// Around each frame's drawing (frame_loop.cpp): hooks on, nodes cleared; then merged, sent if changed.
void frame_begin();
void frame_end(float scale);

// Annotations: the node of item `id` (ImGui::GetID(label) before the widget, as the widget computes
// it) gets this role, name, value and state; its bounds come from the hooks. Fields left empty in
// `node` keep what the hooks found.
void note(ImGuiID id, Node node, Actions actions = {});
// A piece of text just drawn (the last item), with a role: its bounds are the item's rectangle.
// `key` names it within the current ID scope, so it keeps its element while its words change.
void text(const char* key, Role role, const std::string& words, int level = 0, const char* anchor = "");
// A slider over the float at `v` (a member of the app's state), as a range input: what the page
// sets is clamped to [min, max] and written there, as a drag would. Call before the slider.
void slider(const char* label, const std::string& name, float* v, float min, float max, float step,
            const std::string& value_words);
// A view's words as one text (the Model card, Validate, Reporting): everything drawn between
// view_text_begin and view_text_end in the current window, scrolled out of sight or not (Dear
// ImGui's own text log), readable as a document; call both inside the view's child window.
// A section title drawn inside it (widgets.h section()) ends its line in the log with
// kHeadingMark, so the page makes that line a heading a screen reader can jump to (H in Orca).
inline constexpr char kHeadingMark[] = "\x1e";
void view_text_begin();
void view_text_end(const char* key, const std::string& name);
// Nodes recorded from here on belong to container `id` (a tablist, a table); end with pop_parent.
void push_parent(ImGuiID id, Role role, const std::string& name);
void pop_parent();
// A Dear ImGui table as table > row > cell, so a screen reader moves by row and column and says
// each cell with its column's header. table_begin after TableHeadersRow (`headers`: the columns'
// names, empty for a table without a header row); table_row after each TableNextRow (`name`: what
// the row says as a whole, or empty); cell after a cell's content, with its words; or cell_begin
// before content that has nodes of its own (a button): they become the cell's; table_end before
// EndTable. The cells' bounds are the table's columns on the current row. A table that draws only
// the rows in view (a list clipper) gives all its rows' number (`rows`, the header not counted) and
// each drawn row its place among them (`index`, from 0), so a screen reader says "row 12 of 41";
// otherwise the rows drawn are all the rows, in order.
void table_begin(const char* key, const std::string& name, const std::vector<std::string>& headers, int rows = -1);
void table_row(const std::string& name = "", int index = -1);
void cell(const std::string& words);
void cell_begin();
void table_end();

//-----------------------------------------------------------------------------
// [SECTION] The frame's tree
//-----------------------------------------------------------------------------
// The last frame's nodes, in drawing order (tests and the page's bridge read them).
const std::vector<Node>& nodes();
// Its JSON for web/a11y.js: {"nodes": [{id, parent, role, name, value, ...}], "focus": id}.
std::string tree_json(float scale);

}  // namespace ldx::app::a11y
