// wasm/app/frame_loop.cpp — the app's lifecycle: GLFW/WebGL2 and Dear ImGui set up once, then a frame drawn only when
// something may have changed.
//
// Index of this file
//   [SECTION] Frame loop
//   [SECTION] Start
#include "app.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "a11y.h"
#include "palette.h"
#include "render_gl.h"
#include "widgets.h"

#include <GLFW/glfw3.h>
#include <emscripten.h>
#include <emscripten/html5.h>
#include <emscripten/val.h>

#include "imgui.h"
#include "imgui_internal.h"  // ErrorCheckEndFrameRecover; a window's scroll (apply_swipe)
#include "imgui_impl_glfw.h"
#include "boundary.h"

// The canvas's size in pixels, set as Emscripten's glfwSetWindowSize sets it, but never full screen:
// that function asks for full screen when the size equals the screen's (a browser in full screen, a
// kiosk, 200% zoom on a screen twice the page), and the canvas alone in full screen hides the
// accessible layer over it from assistive technology and from sight. With the render worker, the
// canvas element's width and height are web/render.js's: the size the worker draws at.
EM_JS(void, ldx_set_canvas_size, (int w, int h), {
    Browser.setCanvasSize(w, h);
    if (GLFW.active) {
        GLFW.active.width = w;
        GLFW.active.height = h;
    }
});

// Whether the page moved the canvas to its render worker (web/render.js): then frames are posted to
// it (render_gl.h) and no GL context is made here.
EM_JS(int, ldx_render_worker, (), { return Module['ldxRenderWorker'] ? 1 : 0; });

// The canvas's WebGL2 context, made before GLFW asks for it (the browser then hands GLFW this one):
// GLFW's hints cannot ask for a drawing buffer kept between frames, which a frame that draws only
// what changed needs (frame, below). The same attributes as GLFW's otherwise: no
// antialiasing, depth or stencil buffer; alpha.
EM_JS(void, ldx_make_context, (), {
    Module['canvas'].getContext(
        'webgl2', {antialias : false, depth : false, stencil : false, alpha : true, preserveDrawingBuffer : true});
});

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] Frame loop
//-----------------------------------------------------------------------------
// The UI is drawn only when something may have changed: input (mouse, keys, wheel, focus; a tap
// comes as the mouse), a message from the page (a swipe's scroll too), a canvas resize, a held
// mouse button (dragging); twice a second while a text field has focus (the caret), every 5 s
// otherwise. An idle page then costs the clinician's CPU and battery nothing, and the batch worker
// gets the whole core instead of sharing it with 60 redraws a second.
void wake(AppState& s, int frames) { s.frames_to_draw = std::max(s.frames_to_draw, frames); }

namespace {
GLFWwindow* window = nullptr;
constexpr int kFramesAfterInput = 4;    // ImGui settles hover, focus and layout within a few frames
constexpr double kCaretInterval = 0.5;  // while a text field has focus: the caret blinks
constexpr double kIdleInterval = 5.0;   // otherwise a redraw now and then, as a safety net

template <typename Event>
EM_BOOL wake_on(int, const Event*, void*) {
    wake(state(), kFramesAfterInput);
    return EM_FALSE;  // the event still reaches GLFW and the page
}

// A lost WebGL context (the GPU process restarted, a driver reset, too many contexts on the
// machine) takes the renderer's program, buffers and textures with it. Answering true lets the
// browser restore the context; until then the loop's GL calls do nothing.
EM_BOOL on_context_lost(int, const void*, void*) { return EM_TRUE; }

}  // namespace

// Restored: the renderer is made again (font texture included), the images' textures are made
// again when next drawn (imaging_view.cpp, ensure_textures: their names died with the context), and
// the next frames are drawn in full. If the renderer cannot be made, the page says so. The render
// worker restores its own context and then calls this through the page (app_display_restored).
void display_restored() {
    if (ImGui::GetCurrentContext() == nullptr) return;  // restored before the app started: app_start makes it
    AppState& s = state();
    const bool remote = s.gl.remote;
    const unsigned next_texture = s.gl.next_texture;  // names are never reused with the worker
    s.gl = GlRenderer{};
    s.gl.remote = remote;
    s.gl.next_texture = next_texture;
    for (ImageResult& r : s.imaging.images) r.image = r.heat = GlTexture{};
    if (!gl_renderer_init(s.gl)) {
        host_display_failed(
            "LocalDx's screen was lost when the browser restarted its graphics, and cannot be drawn again. "
            "Reload the page to continue (what is on the form will need to be entered again).",
            form_text(s));
        emscripten_cancel_main_loop();  // nothing can be drawn: no frame runs again
        return;
    }
    s.last_rendered = DrawnFrame{};  // the canvas lost its pixels: the next frame is drawn whole
    wake(s, kFramesAfterInput);
}

namespace {
EM_BOOL on_context_restored(int, const void*, void*) {
    display_restored();
    return EM_TRUE;
}

// A finger reaches the canvas as the mouse events the browser makes of a tap: the page keeps its
// touch events from GLFW (web/a11y.js, Touch).
void wake_on_input() {
    const char* canvas = "#canvas";
    emscripten_set_mousedown_callback(canvas, nullptr, false, wake_on<EmscriptenMouseEvent>);
    emscripten_set_mousemove_callback(EMSCRIPTEN_EVENT_TARGET_WINDOW, nullptr, false, wake_on<EmscriptenMouseEvent>);
    emscripten_set_mouseup_callback(EMSCRIPTEN_EVENT_TARGET_WINDOW, nullptr, false, wake_on<EmscriptenMouseEvent>);
    emscripten_set_mouseleave_callback(canvas, nullptr, false, wake_on<EmscriptenMouseEvent>);
    emscripten_set_wheel_callback(canvas, nullptr, false, wake_on<EmscriptenWheelEvent>);
    emscripten_set_keydown_callback(EMSCRIPTEN_EVENT_TARGET_WINDOW, nullptr, false, wake_on<EmscriptenKeyboardEvent>);
    emscripten_set_keyup_callback(EMSCRIPTEN_EVENT_TARGET_WINDOW, nullptr, false, wake_on<EmscriptenKeyboardEvent>);
    emscripten_set_keypress_callback(EMSCRIPTEN_EVENT_TARGET_WINDOW, nullptr, false, wake_on<EmscriptenKeyboardEvent>);
    emscripten_set_focus_callback(canvas, nullptr, false, wake_on<EmscriptenFocusEvent>);
    emscripten_set_blur_callback(canvas, nullptr, false, wake_on<EmscriptenFocusEvent>);
    emscripten_set_resize_callback(EMSCRIPTEN_EVENT_TARGET_WINDOW, nullptr, false, wake_on<EmscriptenUiEvent>);
}

// The canvas in device pixels, so text is crisp at any devicePixelRatio; ImGui then works in
// device pixels throughout (fonts and style were scaled once at start).
struct CanvasSize {
    int w = 0, h = 0;
};
CanvasSize canvas_size() {
    double css_w = 0, css_h = 0;
    emscripten_get_element_css_size("#canvas", &css_w, &css_h);
    const double dpr = emscripten_get_device_pixel_ratio();
    return {static_cast<int>(css_w * dpr + 0.5), static_cast<int>(css_h * dpr + 0.5)};
}

// A frame whose draw lists, canvas size and textures are those of the last rendered frame is not
// rendered again: the canvas keeps showing that frame (a WebGL canvas changes only when drawn
// into). Without a GPU, each rendered frame costs a software rasterisation of the pixels it draws
// and a read-back of the whole canvas, waited for on the thread that drew it (the render worker's,
// render_gl.h, or the page's); most frames woken by input (a key's release, the frames that let
// ImGui settle) draw exactly what is already shown, and a keystroke changes one field. So a frame
// that differs draws again only the rectangle where its triangles differ (render_gl.h,
// redrawn_since), into the canvas's kept drawing buffer. Compared byte for byte, not by a hash: a
// stale pixel is never kept by a collision.

// A finger's swipe (web/a11y.js, Touch) scrolls the view under the finger by the pixels it moved, as the
// wheel scrolls the view under the mouse (Dear ImGui's UpdateMouseWheel, whose window choice this
// follows): a child view that cannot scroll, or takes no wheel, passes it to the view around it. The
// page moved the mouse to where the swipe began, so that view is the hovered one. The view chosen at
// a swipe's start keeps the swipe and its glide (as the wheel's WheelingWindow), even when a child
// view slides under the finger.
ImGuiWindow* swiped_window(AppState& s) {
    if (!std::exchange(s.swipe_begins, false))
        if (ImGuiWindow* kept = ImGui::FindWindowByID(s.swipe_window); kept && kept->WasActive) return kept;
    s.swipe_window = 0;  // none kept: a view no longer drawn (another tab) is not scrolled
    ImGuiWindow* w = ImGui::GetCurrentContext()->HoveredWindow;
    if (w == nullptr) return nullptr;
    auto passes = [](const ImGuiWindow* v) {
        return (v->Flags & ImGuiWindowFlags_ChildWindow) &&
               (v->ScrollMax.y == 0.0f ||
                ((v->Flags & ImGuiWindowFlags_NoScrollWithMouse) && !(v->Flags & ImGuiWindowFlags_NoMouseInputs)));
    };
    while (passes(w)) w = w->ParentWindow;
    s.swipe_window = w->ID;
    return w;
}

void apply_swipe(AppState& s) {
    if (s.swipe_scroll == 0.0f && !s.swipe_begins) return;
    const float dy = std::exchange(s.swipe_scroll, 0.0f);
    ImGuiWindow* w = swiped_window(s);
    s.swipe_moved = false;
    if (w == nullptr || w->Collapsed || dy == 0.0f) return;
    if ((w->Flags & (ImGuiWindowFlags_NoScrollWithMouse | ImGuiWindowFlags_NoMouseInputs)) != 0) return;
    s.swipe_moved = std::clamp(w->Scroll.y + dy, 0.0f, w->ScrollMax.y) != w->Scroll.y;  // the glide stops when not
    ImGui::SetScrollY(w, w->Scroll.y + dy);
}

void frame() {
    AppState& s = state();
    const auto [w, h] = canvas_size();
    int cw = 0, ch = 0;
    glfwGetWindowSize(window, &cw, &ch);
    if (w > 0 && h > 0 && (w != cw || h != ch)) {
        ldx_set_canvas_size(w, h);
        wake(s, kFramesAfterInput);
    }
    const ImGuiIO& io = ImGui::GetIO();
    const bool dragging = io.MouseDown[0] || io.MouseDown[1] || io.MouseDown[2];
    const double now = emscripten_get_now() / 1000.0;
    const double interval = io.WantTextInput ? kCaretInterval : kIdleInterval;
    const bool idle_redraw = s.frames_drawn > 0 && now - s.last_draw >= interval;  // none before the first frame
    if (s.frames_to_draw <= 0 && !dragging && !idle_redraw) return;
    // Nothing to draw before the page's model or an error, whatever woke the loop (input, a resize,
    // another message): the app may start while the model still downloads.
    if (s.frames_drawn == 0 && !s.model && s.error.empty()) return;
    s.frames_to_draw = std::max(0, s.frames_to_draw - 1);
    s.last_draw = now;
    s.frames_drawn += 1;

    glfwPollEvents();
    ImGui_ImplGlfw_NewFrame();
    ImGui::NewFrame();
    apply_swipe(s);
    a11y::frame_begin();
    try {
        draw(s, static_cast<float>(w), static_cast<float>(h));
    } catch (const std::exception& e) {
        // A malformed message from the page must not take the UI down: say so, keep drawing.
        emscripten_log(EM_LOG_ERROR, "LocalDx UI: %s", e.what());
        s.error = std::string("Display problem: ") + e.what();
        s.result.reset();
        ImGui::ErrorCheckEndFrameRecover(nullptr, nullptr);
    }
    a11y::frame_end(s.scale);
    ImGui::Render();
    if (gl_renderer_busy(s.gl)) {  // the worker is behind: this frame is not posted, a later one is
        wake(s, 1);
        return;
    }
    int fw = 0, fh = 0;
    glfwGetFramebufferSize(window, &fw, &fh);
    DrawnFrame drawn = drawn_frame(ImGui::GetDrawData(), fw, fh, s.textures_made);
    const std::optional<GlRect> redrawn = redrawn_since(s.last_rendered, drawn);
    s.last_rendered = std::move(drawn);
    if (!redrawn) return;
    s.frames_rendered += 1;
    const float clear[3] = {palette::kWindowBg.r, palette::kWindowBg.g, palette::kWindowBg.b};
    gl_renderer_draw(s.gl, ImGui::GetDrawData(), fw, fh, *redrawn, clear);
}

// Emscripten's GLFW hands the browser's wheel event over as it is: deltaY in pixels, positive
// downwards (about 100 a notch), where GLFW and Dear ImGui expect notches, positive upwards. Passed
// on unchanged, a notch down scrolled 100 notches up (so nothing moved at the top of a form).
void scroll_from_browser(GLFWwindow* w, double dx, double dy) {
    constexpr double kPixelsPerNotch = 100.0;
    ImGui_ImplGlfw_ScrollCallback(w, -dx / kPixelsPerNotch, -dy / kPixelsPerNotch);
}

void style(float scale) {
    ImGuiStyle& st = ImGui::GetStyle();
    ImGui::StyleColorsLight();
    st.WindowRounding = 0;
    st.FrameRounding = 4;
    st.GrabRounding = 4;
    st.FramePadding = ImVec2(8, 5);
    st.ItemSpacing = ImVec2(10, 7);
    st.CellPadding = ImVec2(8, 4);
    st.ScaleAllSizes(scale);
    auto im = [](palette::Rgba c) { return ImVec4(c.r, c.g, c.b, c.a); };
    st.Colors[ImGuiCol_WindowBg] = im(palette::kWindowBg);
    st.Colors[ImGuiCol_FrameBg] = im(palette::kFrameBg);
    st.Colors[ImGuiCol_Header] = im(palette::kHeader);
    st.Colors[ImGuiCol_Button] = im(palette::kButton);
    st.Colors[ImGuiCol_Tab] = im(palette::kTab);
    st.Colors[ImGuiCol_TabActive] = im(palette::kTabActive);
    st.Colors[ImGuiCol_Text] = im(palette::kText);
    st.Colors[ImGuiCol_TextDisabled] = im(palette::kTextDisabled);
    st.Colors[ImGuiCol_NavHighlight] = im(palette::kNavHighlight);
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Start
//-----------------------------------------------------------------------------
// Called once by the page with the UI font (DejaVu Sans from Debian's fonts-dejavu-core).
emscripten::val app_start(const emscripten::val& font_u8) {
    if (!font_u8.instanceof (emscripten::val::global("Uint8Array")))
        throw boundary::BadArgument("the font must be bytes (a Uint8Array)");
    glfwInit();
    // The canvas moved to the render worker: GLFW makes no context (the worker has the canvas's).
    state().gl.remote = ldx_render_worker() != 0;
    glfwWindowHint(GLFW_CLIENT_API, state().gl.remote ? GLFW_NO_API : GLFW_OPENGL_ES_API);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
    // Dear ImGui draws with neither: without them the browser does not clear, keep and composite a
    // depth and a stencil buffer for every frame (in software GL, on the page's frames' path).
    glfwWindowHint(GLFW_DEPTH_BITS, 0);
    glfwWindowHint(GLFW_STENCIL_BITS, 0);
    if (!state().gl.remote) ldx_make_context();  // keeps its drawing buffer between frames (see ldx_make_context)
    const CanvasSize size = canvas_size();
    window = glfwCreateWindow(size.w > 0 ? size.w : 1280, size.h > 0 ? size.h : 800, "LocalDx", nullptr, nullptr);
    glfwMakeContextCurrent(window);
    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;  // nothing about the session is stored by the UI
    io.ConfigFlags |= ImGuiConfigFlags_NavEnableKeyboard;
    const float scale = static_cast<float>(emscripten_get_device_pixel_ratio());
    state().scale = scale;
    style(scale);
    use_more_contrast(state().contrast_more);  // as the page said before the app started
    const size_t n = font_u8["length"].as<size_t>();
    if (n > 0) {
        // ImGui owns and frees the font bytes (FontDataOwnedByAtlas).
        void* data = IM_ALLOC(n);
        emscripten::val(emscripten::typed_memory_view(n, static_cast<unsigned char*>(data))).call<void>("set", font_u8);
        ImFontConfig cfg;
        cfg.OversampleH = 2;
        // Whatever the core's number parser reads must be drawn as typed (record.h, number_parse):
        // Arabic-Indic digits and their separators; U+FFFD for a character the font lacks.
        static const ImWchar ranges[] = {0x0020, 0x00FF, 0x0100, 0x017F, 0x0660, 0x066C, 0x06F0,
                                         0x06F9, 0x2010, 0x2027, 0x2070, 0x209F, 0x2190, 0x21FF,
                                         0x2212, 0x2264, 0x25A0, 0x25FF, 0xFFFD, 0xFFFD, 0};
        ImFont* font = io.Fonts->AddFontFromMemoryTTF(data, static_cast<int>(n), 16.0f * scale, &cfg, ranges);
        // DejaVu Sans has no full-width forms (an East Asian input method's digits, signs and
        // separators): they are drawn with the ASCII glyphs they stand for, so "３３" shows as 33,
        // as the core reads it, not as two unknown characters.
        io.Fonts->Build();
        for (ImWchar c = 0xFF01; c <= 0xFF5E; ++c) font->AddRemapChar(c, static_cast<ImWchar>(c - 0xFF01 + 0x21));
    }
    ImGui_ImplGlfw_InitForOpenGL(window, true);
    glfwSetScrollCallback(window, scroll_from_browser);
    if (!gl_renderer_init(state().gl))  // the font atlas, built above, becomes its texture
        return boundary::failure<emscripten::val>(
            "display_failed",
            "This browser's WebGL2 refused LocalDx's drawing (its shaders), so nothing can be shown. Reload the "
            "page; if this happens again, turn on the browser's hardware acceleration or use another browser.");
    wake_on_input();
    if (!state().gl.remote) {  // the render worker watches its own context
        emscripten_set_webglcontextlost_callback("#canvas", nullptr, false, on_context_lost);
        emscripten_set_webglcontextrestored_callback("#canvas", nullptr, false, on_context_restored);
    }
    // No frame until the model (or an error) arrives: the page's text shows through the canvas,
    // which is transparent until the first frame. A frame is not free (a software-rendered one
    // costs 0.1-0.3 s of start-up), and there is nothing to show before the model.
    emscripten_set_main_loop(frame, 0, false);
    return emscripten::val::undefined();
}

}  // namespace ldx::app
