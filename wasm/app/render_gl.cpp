// wasm/app/render_gl.cpp — Dear ImGui's draw lists drawn with WebGL2, no GL state read back
// (render_gl.h says why).
//
// Index of this file
//   [SECTION] The render worker (remote)
//   [SECTION] Shaders and set-up
//   [SECTION] One frame
//   [SECTION] Textures
//   [SECTION] What a frame drew
#include "render_gl.h"

#include <GLES3/gl3.h>
#include <emscripten.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>

#include "imgui.h"

//-----------------------------------------------------------------------------
// [SECTION] The render worker (remote)
//-----------------------------------------------------------------------------
// The page's render worker (web/render.js started it; web/render-worker.js replays): each message
// carries copies of this module's memory (transferred, not copied again), so the worker never
// reads wasm memory that a later frame changes.

// The shaders and the vertex layout (ImDrawVert's stride and its position, uv and colour offsets).
EM_JS(void, ldx_post_renderer, (const char* vertex, const char* fragment, int stride, int pos, int uv, int col), {
    Module['ldxRenderWorker'].postMessage({
        type : 'renderer',
        vertex : UTF8ToString(vertex),
        fragment : UTF8ToString(fragment),
        layout : [ stride, pos, uv, col ]
    });
});
EM_JS(void, ldx_post_texture, (unsigned name, const unsigned char* rgba, int w, int h, int clamp), {
    const pixels = HEAPU8.slice(rgba, rgba + w * h * 4);
    Module['ldxRenderWorker'].postMessage({type : 'texture', name, w, h, clamp : clamp != 0, pixels}, [pixels.buffer]);
});
EM_JS(void, ldx_post_texture_free, (unsigned name), { Module['ldxRenderWorker'].postMessage({type : 'free', name}); });
// head: framebuffer width and height, then the cleared rectangle as GL's scissor (x, y, w, h);
// floats: the clear colour (3), the projection (16); commands: 7 integers each (the scissor x, y,
// w, h; the texture's name; the index count; the first index).
EM_JS(void, ldx_post_frame,
      (const int* head, const float* floats, const unsigned char* vertices, int vertex_bytes, const uint32_t* indices,
       int index_count, const int32_t* commands, int command_ints),
      {
          const post = {
              type : 'frame',
              head : HEAP32.slice(head >> 2, (head >> 2) + 6),
              floats : HEAPF32.slice(floats >> 2, (floats >> 2) + 19),
              vertices : HEAPU8.slice(vertices, vertices + vertex_bytes),
              indices : HEAPU32.slice(indices >> 2, (indices >> 2) + index_count),
              commands : HEAP32.slice(commands >> 2, (commands >> 2) + command_ints),
              posted : performance.timeOrigin + performance.now()
          };
          const worker = Module['ldxRenderWorker'];
          worker.inFlight = (worker.inFlight | 0) + 1;  // until the worker says committed or dropped
          worker.postMessage(post, [
              post.head.buffer, post.floats.buffer, post.vertices.buffer, post.indices.buffer, post.commands.buffer
          ]);
      });
// Frames posted that the worker has not yet committed or dropped (web/render.js counts them down).
EM_JS(int, ldx_frames_in_flight, (), { return Module['ldxRenderWorker'].inFlight | 0; });

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] Shaders and set-up
//-----------------------------------------------------------------------------
namespace {
// Dear ImGui's OpenGL3 back end's GLSL ES 3.00 shaders, unchanged: the same colours and sampling.
constexpr const char* kVertexShader = R"(#version 300 es
precision highp float;
layout (location = 0) in vec2 Position;
layout (location = 1) in vec2 UV;
layout (location = 2) in vec4 Color;
uniform mat4 ProjMtx;
out vec2 Frag_UV;
out vec4 Frag_Color;
void main() {
    Frag_UV = UV;
    Frag_Color = Color;
    gl_Position = ProjMtx * vec4(Position.xy, 0, 1);
}
)";
constexpr const char* kFragmentShader = R"(#version 300 es
precision mediump float;
uniform sampler2D Texture;
in vec2 Frag_UV;
in vec4 Frag_Color;
layout (location = 0) out vec4 Out_Color;
void main() {
    Out_Color = Frag_Color * texture(Texture, Frag_UV.st);
}
)";
constexpr GLuint kPosition = 0, kUv = 1, kColor = 2;  // the shaders' attribute locations

GLuint compile(GLenum kind, const char* source) {
    const GLuint shader = glCreateShader(kind);
    glShaderSource(shader, 1, &source, nullptr);
    glCompileShader(shader);
    GLint ok = GL_FALSE;
    glGetShaderiv(shader, GL_COMPILE_STATUS, &ok);
    if (ok != GL_TRUE) {
        char log[512] = {};
        glGetShaderInfoLog(shader, sizeof log, nullptr, log);
        emscripten_log(EM_LOG_ERROR, "LocalDx UI: a shader does not compile: %s", log);
        glDeleteShader(shader);
        return 0;
    }
    return shader;
}
}  // namespace

namespace {
void upload_font(GlRenderer& r) {
    ImGuiIO& io = ImGui::GetIO();
    io.BackendRendererName = "localdx_webgl2";
    io.BackendFlags |= ImGuiBackendFlags_RendererHasVtxOffset;  // a list over 64K vertices is drawn in parts
    unsigned char* pixels = nullptr;
    int width = 0, height = 0;
    io.Fonts->GetTexDataAsRGBA32(&pixels, &width, &height);
    r.font_texture = gl_texture_make(r, pixels, width, height, false);
    io.Fonts->SetTexID(reinterpret_cast<ImTextureID>(static_cast<intptr_t>(r.font_texture)));
}
}  // namespace

bool gl_renderer_init(GlRenderer& r) {
    if (r.remote) {
        ldx_post_renderer(kVertexShader, kFragmentShader, sizeof(ImDrawVert), offsetof(ImDrawVert, pos),
                          offsetof(ImDrawVert, uv), offsetof(ImDrawVert, col));
        upload_font(r);
        return true;
    }
    const GLuint vs = compile(GL_VERTEX_SHADER, kVertexShader);
    const GLuint fs = compile(GL_FRAGMENT_SHADER, kFragmentShader);
    if (!vs || !fs) {
        glDeleteShader(vs);  // the one that compiled, if any (0 is ignored)
        glDeleteShader(fs);
        return false;
    }
    r.program = glCreateProgram();
    glAttachShader(r.program, vs);
    glAttachShader(r.program, fs);
    glLinkProgram(r.program);
    glDeleteShader(vs);
    glDeleteShader(fs);
    GLint ok = GL_FALSE;
    glGetProgramiv(r.program, GL_LINK_STATUS, &ok);
    if (ok != GL_TRUE) {
        emscripten_log(EM_LOG_ERROR, "LocalDx UI: the shaders do not link");
        glDeleteProgram(r.program);  // the shaders go with it
        r.program = 0;
        return false;
    }
    glUseProgram(r.program);
    glUniform1i(glGetUniformLocation(r.program, "Texture"), 0);
    r.projection_at = glGetUniformLocation(r.program, "ProjMtx");

    // One vertex array for the app's life: it keeps the index buffer and the attributes' layout.
    GLuint ids[2] = {};
    glGenVertexArrays(1, &r.vertex_array);
    glBindVertexArray(r.vertex_array);
    glGenBuffers(2, ids);
    r.vertex_buffer = ids[0];
    r.index_buffer = ids[1];
    glBindBuffer(GL_ARRAY_BUFFER, r.vertex_buffer);
    glBindBuffer(GL_ELEMENT_ARRAY_BUFFER, r.index_buffer);
    glEnableVertexAttribArray(kPosition);
    glEnableVertexAttribArray(kUv);
    glEnableVertexAttribArray(kColor);
    const auto at = [](size_t offset) { return reinterpret_cast<const void*>(offset); };
    glVertexAttribPointer(kPosition, 2, GL_FLOAT, GL_FALSE, sizeof(ImDrawVert), at(offsetof(ImDrawVert, pos)));
    glVertexAttribPointer(kUv, 2, GL_FLOAT, GL_FALSE, sizeof(ImDrawVert), at(offsetof(ImDrawVert, uv)));
    glVertexAttribPointer(kColor, 4, GL_UNSIGNED_BYTE, GL_TRUE, sizeof(ImDrawVert), at(offsetof(ImDrawVert, col)));

    // Dear ImGui's state, set once: alpha blending, scissor clipping, no culling, depth or stencil
    // (the context has neither buffer).
    glEnable(GL_BLEND);
    glBlendEquation(GL_FUNC_ADD);
    glBlendFuncSeparate(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA, GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
    glDisable(GL_CULL_FACE);
    glDisable(GL_DEPTH_TEST);
    glDisable(GL_STENCIL_TEST);
    glEnable(GL_SCISSOR_TEST);
    glActiveTexture(GL_TEXTURE0);
    upload_font(r);
    return true;
}

//-----------------------------------------------------------------------------
// [SECTION] One frame
//-----------------------------------------------------------------------------
void gl_renderer_draw(GlRenderer& r, const ImDrawData* dd, int fb_width, int fb_height, const GlRect& redrawn,
                      const float (&clear)[3]) {
    if (fb_width <= 0 || fb_height <= 0) return;
    // The cleared rectangle, as GL's scissor (rows counted from the bottom).
    const int cleared[4] = {redrawn.x0, fb_height - redrawn.y1, redrawn.x1 - redrawn.x0, redrawn.y1 - redrawn.y0};
    const float left = dd->DisplayPos.x, right = left + dd->DisplaySize.x;
    const float top = dd->DisplayPos.y, bottom = top + dd->DisplaySize.y;
    const float rect[4] = {left, right, top, bottom};
    const float ortho[4][4] = {{2.0f / (right - left), 0, 0, 0},
                               {0, 2.0f / (top - bottom), 0, 0},
                               {0, 0, -1.0f, 0},
                               {(right + left) / (left - right), (top + bottom) / (bottom - top), 0, 1.0f}};
    if (!r.remote) {
        glViewport(0, 0, fb_width, fb_height);
        // The renderer clips with the scissor, which glClear obeys too: only the redrawn rectangle.
        glScissor(cleared[0], cleared[1], cleared[2], cleared[3]);
        glClearColor(clear[0], clear[1], clear[2], 1.0f);
        glClear(GL_COLOR_BUFFER_BIT);
        if (dd->TotalVtxCount == 0) return;
        if (std::memcmp(rect, r.projected, sizeof rect) != 0) {
            glUniformMatrix4fv(r.projection_at, 1, GL_FALSE, &ortho[0][0]);
            std::memcpy(r.projected, rect, sizeof rect);
        }
    }

    // Every list's vertices one after the other, and their indices made absolute (32-bit): one
    // upload of each for the whole frame.
    r.vertices.resize(static_cast<size_t>(dd->TotalVtxCount) * sizeof(ImDrawVert));
    r.indices.resize(static_cast<size_t>(dd->TotalIdxCount));
    size_t vertex_base = 0, index_base = 0;
    for (int n = 0; n < dd->CmdListsCount; ++n) {
        const ImDrawList* list = dd->CmdLists[n];
        std::memcpy(r.vertices.data() + vertex_base * sizeof(ImDrawVert), list->VtxBuffer.Data,
                    static_cast<size_t>(list->VtxBuffer.Size) * sizeof(ImDrawVert));
        for (const ImDrawCmd& c : list->CmdBuffer) {
            const uint32_t base = static_cast<uint32_t>(vertex_base + c.VtxOffset);
            for (unsigned k = c.IdxOffset; k < c.IdxOffset + c.ElemCount; ++k)
                r.indices[index_base + k] = base + list->IdxBuffer.Data[k];
        }
        vertex_base += static_cast<size_t>(list->VtxBuffer.Size);
        index_base += static_cast<size_t>(list->IdxBuffer.Size);
    }
    std::vector<int32_t> commands;  // remote: what each command draws (ldx_post_frame)
    if (!r.remote) {
        glBindBuffer(GL_ARRAY_BUFFER, r.vertex_buffer);
        glBufferData(GL_ARRAY_BUFFER, static_cast<GLsizeiptr>(r.vertices.size()), r.vertices.data(), GL_STREAM_DRAW);
        glBufferData(GL_ELEMENT_ARRAY_BUFFER, static_cast<GLsizeiptr>(r.indices.size() * sizeof(uint32_t)),
                     r.indices.data(), GL_STREAM_DRAW);
    }

    // The app's own textures (imaging_view.cpp) are bound when they are made: the first command of
    // a frame always binds its texture.
    const ImVec2 off = dd->DisplayPos, scale = dd->FramebufferScale;
    ImTextureID bound = nullptr;
    bool any_bound = false;
    index_base = 0;
    for (int n = 0; n < dd->CmdListsCount; ++n) {
        const ImDrawList* list = dd->CmdLists[n];
        for (const ImDrawCmd& c : list->CmdBuffer) {
            // The app adds no draw callbacks (AddCallback): every command is triangles.
            const ImVec2 lo((c.ClipRect.x - off.x) * scale.x, (c.ClipRect.y - off.y) * scale.y);
            const ImVec2 hi((c.ClipRect.z - off.x) * scale.x, (c.ClipRect.w - off.y) * scale.y);
            if (c.UserCallback != nullptr || c.ElemCount == 0 || hi.x <= lo.x || hi.y <= lo.y) continue;
            // The command's scissor (bottom-up rows, as GL counts them) within the redrawn rectangle.
            const int x = static_cast<int>(lo.x), y = static_cast<int>(fb_height - hi.y);
            const int x0 = std::max(x, redrawn.x0), x1 = std::min(x + static_cast<int>(hi.x - lo.x), redrawn.x1);
            const int y0 = std::max(y, fb_height - redrawn.y1);
            const int y1 = std::min(y + static_cast<int>(hi.y - lo.y), fb_height - redrawn.y0);
            if (x1 <= x0 || y1 <= y0) continue;
            const size_t first = index_base + c.IdxOffset;
            if (r.remote) {
                const auto name = static_cast<int32_t>(reinterpret_cast<intptr_t>(c.GetTexID()));
                commands.insert(commands.end(), {x0, y0, x1 - x0, y1 - y0, name, static_cast<int32_t>(c.ElemCount),
                                                 static_cast<int32_t>(first)});
                continue;
            }
            glScissor(x0, y0, x1 - x0, y1 - y0);
            if (!any_bound || c.GetTexID() != bound) {
                bound = c.GetTexID();
                any_bound = true;
                glBindTexture(GL_TEXTURE_2D, static_cast<GLuint>(reinterpret_cast<intptr_t>(bound)));
            }
            glDrawElements(GL_TRIANGLES, static_cast<GLsizei>(c.ElemCount), GL_UNSIGNED_INT,
                           reinterpret_cast<const void*>(first * sizeof(uint32_t)));
        }
        index_base += static_cast<size_t>(list->IdxBuffer.Size);
    }
    if (r.remote) {
        const int head[6] = {fb_width, fb_height, cleared[0], cleared[1], cleared[2], cleared[3]};
        float floats[19] = {clear[0], clear[1], clear[2]};
        std::memcpy(floats + 3, &ortho[0][0], sizeof ortho);
        ldx_post_frame(head, floats, r.vertices.data(), static_cast<int>(r.vertices.size()), r.indices.data(),
                       static_cast<int>(r.indices.size()), commands.data(), static_cast<int>(commands.size()));
    }
}

bool gl_renderer_busy(const GlRenderer& r) { return r.remote && ldx_frames_in_flight() >= kMostFramesInFlight; }

//-----------------------------------------------------------------------------
// [SECTION] Textures
//-----------------------------------------------------------------------------
unsigned gl_texture_make(GlRenderer& r, const unsigned char* rgba, int width, int height, bool clamp) {
    if (r.remote) {
        const unsigned name = r.next_texture++;
        ldx_post_texture(name, rgba, width, height, clamp ? 1 : 0);
        return name;
    }
    GLuint id = 0;
    glGenTextures(1, &id);
    glBindTexture(GL_TEXTURE_2D, id);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
    if (clamp) {
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    }
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, width, height, 0, GL_RGBA, GL_UNSIGNED_BYTE, rgba);
    return id;
}

void gl_texture_free(GlRenderer& r, unsigned name) {
    if (name == 0) return;
    if (r.remote) {
        ldx_post_texture_free(name);
        return;
    }
    GLuint id = name;
    glDeleteTextures(1, &id);
}

//-----------------------------------------------------------------------------
// [SECTION] What a frame drew
//-----------------------------------------------------------------------------
DrawnFrame drawn_frame(const ImDrawData* dd, int fb_width, int fb_height, long textures_made) {
    DrawnFrame f;
    f.head = {static_cast<float>(fb_width),
              static_cast<float>(fb_height),
              dd->DisplayPos.x,
              dd->DisplayPos.y,
              dd->DisplaySize.x,
              dd->DisplaySize.y,
              dd->FramebufferScale.x,
              dd->FramebufferScale.y};
    f.textures_made = textures_made;
    for (int n = 0; n < dd->CmdListsCount; ++n) {
        const ImDrawList* list = dd->CmdLists[n];
        for (const ImDrawCmd& c : list->CmdBuffer) {
            DrawnCommand d;
            d.list = n;
            std::memcpy(d.clip, &c.ClipRect, sizeof d.clip);
            d.texture = reinterpret_cast<uintptr_t>(c.GetTexID());
            d.callback = reinterpret_cast<uintptr_t>(c.UserCallback);
            d.callback_data = reinterpret_cast<uintptr_t>(c.UserCallbackData);
            d.triangles.resize(static_cast<size_t>(c.ElemCount) * sizeof(ImDrawVert));
            for (unsigned k = 0; k < c.ElemCount; ++k) {
                const unsigned v = c.VtxOffset + list->IdxBuffer.Data[c.IdxOffset + k];
                std::memcpy(d.triangles.data() + k * sizeof(ImDrawVert), &list->VtxBuffer.Data[v], sizeof(ImDrawVert));
            }
            f.commands.push_back(std::move(d));
        }
    }
    return f;
}

namespace {
constexpr size_t kTriangleBytes = 3 * sizeof(ImDrawVert);

// Grows `r` (framebuffer pixels) by the vertices of triangles [from, to) of `c`.
void grow(GlRect& r, const DrawnCommand& c, size_t from, size_t to, const std::vector<float>& head) {
    const float ox = head[2], oy = head[3], sx = head[6], sy = head[7];
    for (size_t b = from * kTriangleBytes; b < to * kTriangleBytes; b += sizeof(ImDrawVert)) {
        ImDrawVert v;
        std::memcpy(&v, c.triangles.data() + b, sizeof v);
        const float x = (v.pos.x - ox) * sx, y = (v.pos.y - oy) * sy;
        if (!std::isfinite(x) || !std::isfinite(y)) {
            r = GlRect{-1, -1, 1 << 30, 1 << 30};  // clamped to the framebuffer by the caller
            return;
        }
        r.x0 = std::min(r.x0, static_cast<int>(std::floor(x)) - 1);
        r.y0 = std::min(r.y0, static_cast<int>(std::floor(y)) - 1);
        r.x1 = std::max(r.x1, static_cast<int>(std::ceil(x)) + 1);
        r.y1 = std::max(r.y1, static_cast<int>(std::ceil(y)) + 1);
    }
}

bool same_triangle(const DrawnCommand& a, size_t i, const DrawnCommand& b, size_t j) {
    return std::memcmp(a.triangles.data() + i * kTriangleBytes, b.triangles.data() + j * kTriangleBytes,
                       kTriangleBytes) == 0;
}

// The same list, clipping, texture and callback (the triangles aside).
bool same_setting(const DrawnCommand& a, const DrawnCommand& b) {
    return a.list == b.list && std::memcmp(a.clip, b.clip, sizeof a.clip) == 0 && a.texture == b.texture &&
           a.callback == b.callback && a.callback_data == b.callback_data;
}

bool same_command(const DrawnCommand& a, const DrawnCommand& b) {
    return same_setting(a, b) && a.triangles == b.triangles;
}
}  // namespace

std::optional<GlRect> redrawn_since(const DrawnFrame& last, const DrawnFrame& now) {
    const int w = static_cast<int>(now.head[0]), h = static_cast<int>(now.head[1]);
    const GlRect whole{0, 0, w, h};
    if (last.head != now.head || last.textures_made != now.textures_made) return whole;
    const std::vector<DrawnCommand>&a = last.commands, &b = now.commands;
    size_t first = 0;  // commands alike at the start
    while (first < a.size() && first < b.size() && same_command(a[first], b[first])) ++first;
    size_t tail = 0;  // and at the end
    while (tail < a.size() - first && tail < b.size() - first &&
           same_command(a[a.size() - 1 - tail], b[b.size() - 1 - tail]))
        ++tail;
    const size_t na = a.size() - first - tail, nb = b.size() - first - tail;
    // The commands in between: paired when they are as many with the same settings, each pair then
    // compared triangle by triangle; otherwise all their triangles, in both frames, are redrawn.
    bool paired = na == nb;
    for (size_t i = 0; paired && i < na; ++i) paired = same_setting(a[first + i], b[first + i]);
    constexpr int kNone = 1 << 30;
    GlRect r{kNone, kNone, -kNone, -kNone};
    for (size_t i = 0; i < (paired ? na : 0); ++i) {
        const DrawnCommand &x = a[first + i], &y = b[first + i];
        const size_t nx = x.triangles.size() / kTriangleBytes, ny = y.triangles.size() / kTriangleBytes;
        size_t same_first = 0;  // triangles alike at the start
        while (same_first < nx && same_first < ny && same_triangle(x, same_first, y, same_first)) ++same_first;
        size_t same_tail = 0;  // and at the end
        while (same_tail < nx - same_first && same_tail < ny - same_first &&
               same_triangle(x, nx - 1 - same_tail, y, ny - 1 - same_tail))
            ++same_tail;
        grow(r, x, same_first, nx - same_tail, now.head);
        grow(r, y, same_first, ny - same_tail, now.head);
    }
    for (size_t i = 0; i < (paired ? 0 : na); ++i)
        grow(r, a[first + i], 0, a[first + i].triangles.size() / kTriangleBytes, now.head);
    for (size_t i = 0; i < (paired ? 0 : nb); ++i)
        grow(r, b[first + i], 0, b[first + i].triangles.size() / kTriangleBytes, now.head);
    if (r.x0 == kNone) return std::nullopt;  // no triangle differs: nothing to draw
    r = GlRect{std::clamp(r.x0, 0, w), std::clamp(r.y0, 0, h), std::clamp(r.x1, 0, w), std::clamp(r.y1, 0, h)};
    // Changed triangles wholly outside the framebuffer: nothing visible changed, but drawn anyway
    // (an empty rectangle is never "the same frame").
    return r.x1 > r.x0 && r.y1 > r.y0 ? r : whole;
}

}  // namespace ldx::app
