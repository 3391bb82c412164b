// wasm/app/render_gl.h — Dear ImGui's draw lists drawn with WebGL2, for a page whose GL context
// belongs to the app alone.
//
// Index of this file
//   [SECTION] Renderer
//
// Dear ImGui's OpenGL3 back end shares its context with whatever else draws into it: each frame it
// reads back some twenty pieces of GL state (glGetIntegerv, glIsEnabled) and restores them, makes
// and deletes a vertex array, and uploads each draw list on its own. In a browser every read is a
// synchronous round trip to the GPU process, on the page's thread. The canvas's context is the
// app's alone, so this renderer sets its state once, never reads any back, and uploads all the
// frame's lists in one buffer pair: per frame, two uploads and one scissor, texture bind (when it
// changes) and draw per command. The drawing itself is that of the back end (same shaders, blend,
// projection and clipping), so frames look the same.
#pragma once

#include <cstdint>
#include <vector>

struct ImDrawData;

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] Renderer
//-----------------------------------------------------------------------------
struct GlRenderer {
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
[[nodiscard]] bool gl_renderer_init(GlRenderer& r);

// Draws the frame's lists into the bound framebuffer (its viewport set by the caller).
void gl_renderer_draw(GlRenderer& r, const ImDrawData* draw_data, int fb_width, int fb_height);

}  // namespace ldx::app
