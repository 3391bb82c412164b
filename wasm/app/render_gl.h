// wasm/app/render_gl.h — Dear ImGui's draw lists drawn with WebGL2, for a page whose GL context
// belongs to the app alone.
//
// Index of this file
//   [SECTION] Renderer
//   [SECTION] Textures
//   [SECTION] What a frame drew (to draw only what changed)
//
// Dear ImGui's OpenGL3 back end shares its context with whatever else draws into it: each frame it
// reads back some twenty pieces of GL state (glGetIntegerv, glIsEnabled) and restores them, makes
// and deletes a vertex array, and uploads each draw list on its own. In a browser every read is a
// synchronous round trip to the GPU process, on the page's thread. The canvas's context is the
// app's alone, so this renderer sets its state once, never reads any back, and uploads all the
// frame's lists in one buffer pair: per frame, two uploads and one scissor, texture bind (when it
// changes) and draw per command. The drawing itself is that of the back end (same shaders, blend,
// projection and clipping), so frames look the same.
//
// Where the browser can (OffscreenCanvas with WebGL2 in a worker), the page hands the canvas to a
// render worker (web/render-worker.js) before the app starts, and the renderer is `remote`: it
// packs the same frame (vertices, absolute indices, projection, each command's scissor, texture
// and range, the cleared rectangle) and posts it; the worker replays it with these GL calls. The
// canvas's frame is then rasterised and read back (software GL) on the worker's thread, not the
// page's. Otherwise the renderer draws on the page's thread with the page's GL context.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

struct ImDrawData;

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] Renderer
//-----------------------------------------------------------------------------
struct GlRenderer {
    bool remote = false;        // frames and textures go to the render worker (no GL on this thread)
    unsigned next_texture = 1;  // remote: the name of the next texture made (the worker's map)
    unsigned program = 0, vertex_array = 0, vertex_buffer = 0, index_buffer = 0, font_texture = 0;
    int projection_at = -1;
    float projected[4] = {0, 0, 0, 0};  // the display rectangle the projection was set for
    std::vector<uint32_t> indices;      // this frame's lists' indices, made absolute (32-bit)
    std::vector<unsigned char> vertices;
};

// Compiles the shaders, sets the GL state Dear ImGui draws with, and uploads the font atlas (built
// before this call) as the font texture. Returns false (with the reason in the console, and
// nothing made left behind) if WebGL2 refuses the shaders. Called again, on a fresh GlRenderer,
// once a lost WebGL context is restored (frame_loop.cpp): everything it made was lost with it.
// Remote, it compiles nothing (the worker does) and posts the font atlas; it cannot fail.
[[nodiscard]] bool gl_renderer_init(GlRenderer& r);

// Remote: whether the worker still has kMostFramesInFlight frames posted and not yet committed.
// Without a GPU a whole frame takes the worker 40-170 ms, and the page can make one every 16 ms
// (the wheel held over the batch table, a key held down): a frame made while the worker is busy is
// not posted (the frame loop keeps the last rendered frame as it was, so the next posted one draws
// everything changed since), and the queue of frames, each with its copy of the vertices, and the
// canvas's lag behind the input stay bounded. Always false on the page's own context.
inline constexpr int kMostFramesInFlight = 2;
[[nodiscard]] bool gl_renderer_busy(const GlRenderer& r);

// A rectangle of the framebuffer in pixels, rows counted from the top: [x0, x1) x [y0, y1).
struct GlRect {
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

// Clears `redrawn` to `clear` (RGB) and draws the frame's lists into the canvas, only inside
// `redrawn`: every command's scissor is its clip rectangle within it, so those pixels come out as
// a whole frame drawn would make them, and the others keep what the canvas holds.
void gl_renderer_draw(GlRenderer& r, const ImDrawData* draw_data, int fb_width, int fb_height, const GlRect& redrawn,
                      const float (&clear)[3]);

//-----------------------------------------------------------------------------
// [SECTION] Textures
//-----------------------------------------------------------------------------
// An RGBA texture (linear filtering; edges clamped when `clamp`) made from `rgba` (width x height
// x 4 bytes, rows packed): its name, for ImTextureID. Remote, the pixels are copied to the worker.
unsigned gl_texture_make(GlRenderer& r, const unsigned char* rgba, int width, int height, bool clamp);
void gl_texture_free(GlRenderer& r, unsigned name);

//-----------------------------------------------------------------------------
// [SECTION] What a frame drew
//-----------------------------------------------------------------------------
// Without a GPU (software WebGL), a frame costs in proportion to the pixels it fills: a keystroke
// that changes one field's text redrew the whole canvas. The canvas keeps its drawing buffer
// (frame_loop.cpp), so a frame draws again only the rectangle where its triangles differ from the
// last rendered frame's.
struct DrawnCommand {
    int list = 0;
    float clip[4] = {0, 0, 0, 0};
    uintptr_t texture = 0, callback = 0, callback_data = 0;
    std::vector<unsigned char> triangles;  // each triangle's three vertices (ImDrawVert), in drawing order
};
struct DrawnFrame {
    std::vector<float> head;  // framebuffer size, display position and size, framebuffer scale (8 values)
    long textures_made = -1;  // a texture's name may come back with other pixels (imaging_view.cpp)
    std::vector<DrawnCommand> commands;
};

// What `draw_data` draws, command by command.
DrawnFrame drawn_frame(const ImDrawData* draw_data, int fb_width, int fb_height, long textures_made);

// Where `now` differs from `last`: nothing (nullopt: the canvas already shows it), or the rectangle
// to draw again: the whole framebuffer when its size or the textures differ; otherwise, past the
// commands alike at the start and at the end of both frames, the bounds of the triangles that
// differ (each pair of commands with the same settings compared triangle by triangle, past the
// triangles alike at its start and end; any other commands in between whole), in both frames, a
// pixel wider on each side. Every pixel outside is covered by the same triangles under the same
// settings in the same order in both frames: the same colour.
std::optional<GlRect> redrawn_since(const DrawnFrame& last, const DrawnFrame& now);

}  // namespace ldx::app
