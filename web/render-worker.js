// web/render-worker.js — the canvas's frames drawn off the page's thread: the app (C++,
// wasm/app/render_gl.cpp) packs each frame and this worker replays it with WebGL2 on the page's
// canvas, moved here as an OffscreenCanvas (web/render.js).
//
// Index of this file
//   [SECTION] The context and the renderer's state
//   [SECTION] Messages
//
// Without a GPU (software GL), committing a WebGL canvas's frame waits for it to be rasterised and
// read back; the thread that drew it waits, and here that is this worker, not the page's thread
// (which keeps answering keys and the accessible layer). What is drawn is decided in C++: the
// shaders and the vertex layout come from it (the 'renderer' message), and each 'frame' message
// is the frame's vertices, indices, projection, clear and commands, each command with its scissor
// already clipped to the redrawn rectangle. Nothing here chooses a pixel.
'use strict';

//-----------------------------------------------------------------------------
// [SECTION] The context and the renderer's state
//-----------------------------------------------------------------------------
let canvas = null, gl = null, renderer = null, made = null, loser = null;
const textures = new Map();  // the app's texture names -> WebGLTexture

// The state render_gl.cpp sets once (gl_renderer_init): program, one vertex array with its two
// buffers and the attributes' layout, alpha blending, scissor clipping, texture unit 0.
function make() {
  const shader = (kind, source) => {
    const s = gl.createShader(kind);
    gl.shaderSource(s, source);
    gl.compileShader(s);
    return s;
  };
  const program = gl.createProgram();
  gl.attachShader(program, shader(gl.VERTEX_SHADER, renderer.vertex));
  gl.attachShader(program, shader(gl.FRAGMENT_SHADER, renderer.fragment));
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) {
    if (!gl.isContextLost()) postMessage({ type: 'failed', reason: gl.getProgramInfoLog(program) || 'the shaders do not link' });
    return null;
  }
  gl.useProgram(program);
  gl.uniform1i(gl.getUniformLocation(program, 'Texture'), 0);
  const vertexArray = gl.createVertexArray(), vertexBuffer = gl.createBuffer(), indexBuffer = gl.createBuffer();
  gl.bindVertexArray(vertexArray);
  gl.bindBuffer(gl.ARRAY_BUFFER, vertexBuffer);
  gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, indexBuffer);
  const [stride, pos, uv, col] = renderer.layout;
  gl.enableVertexAttribArray(0);
  gl.enableVertexAttribArray(1);
  gl.enableVertexAttribArray(2);
  gl.vertexAttribPointer(0, 2, gl.FLOAT, false, stride, pos);
  gl.vertexAttribPointer(1, 2, gl.FLOAT, false, stride, uv);
  gl.vertexAttribPointer(2, 4, gl.UNSIGNED_BYTE, true, stride, col);
  gl.enable(gl.BLEND);
  gl.blendEquation(gl.FUNC_ADD);
  gl.blendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
  gl.disable(gl.CULL_FACE);
  gl.disable(gl.DEPTH_TEST);
  gl.disable(gl.STENCIL_TEST);
  gl.enable(gl.SCISSOR_TEST);
  gl.activeTexture(gl.TEXTURE0);
  gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
  return { program, vertexArray, vertexBuffer, indexBuffer, projection: gl.getUniformLocation(program, 'ProjMtx') };
}

// What make() and texture() made, let go before the renderer is made again (a restored context:
// the app posts its renderer and every texture again).
function forget() {
  if (made) {
    gl.deleteProgram(made.program);
    gl.deleteVertexArray(made.vertexArray);
    gl.deleteBuffer(made.vertexBuffer);
    gl.deleteBuffer(made.indexBuffer);
  }
  for (const t of textures.values()) gl.deleteTexture(t);
  textures.clear();
  made = null;
}

function texture(m) {
  const t = gl.createTexture();
  gl.bindTexture(gl.TEXTURE_2D, t);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
  if (m.clamp) {
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  }
  gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, m.w, m.h, 0, gl.RGBA, gl.UNSIGNED_BYTE, m.pixels);
  textures.set(m.name, t);
}

// One frame (render_gl.cpp, gl_renderer_draw): the framebuffer sized as the page's canvas is, the
// redrawn rectangle cleared, both buffers uploaded once, then each command's scissor, texture and
// triangles. When the frame is committed (the end of this task: software GL rasterises and reads
// it back then), the page hears when, on the page's clock (performance.timeOrigin + now()).
function frame(m) {
  const [w, h, cx, cy, cw, ch] = m.head;
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  gl.viewport(0, 0, w, h);
  gl.scissor(cx, cy, cw, ch);
  gl.clearColor(m.floats[0], m.floats[1], m.floats[2], 1);
  gl.clear(gl.COLOR_BUFFER_BIT);
  if (m.commands.length > 0) {
    gl.uniformMatrix4fv(made.projection, false, m.floats.subarray(3, 19));
    gl.bufferData(gl.ARRAY_BUFFER, m.vertices, gl.STREAM_DRAW);
    gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, m.indices, gl.STREAM_DRAW);
    let bound;
    const c = m.commands;
    for (let i = 0; i < c.length; i += 7) {
      gl.scissor(c[i], c[i + 1], c[i + 2], c[i + 3]);
      if (i === 0 || c[i + 4] !== bound) {
        bound = c[i + 4];
        gl.bindTexture(gl.TEXTURE_2D, textures.get(bound) || null);
      }
      gl.drawElements(gl.TRIANGLES, c[i + 5], gl.UNSIGNED_INT, c[i + 6] * 4);
    }
  }
  setTimeout(() => postMessage({ type: 'committed', posted: m.posted, at: performance.timeOrigin + performance.now() }), 0);
}

//-----------------------------------------------------------------------------
// [SECTION] Messages
//-----------------------------------------------------------------------------
// From the page: 'canvas' (once, first); from the app: 'renderer', 'texture', 'free', 'frame';
// from the test hooks (web/test-hooks.js): 'lose', 'restore', 'inspect'. While the context is lost
// every GL call does nothing and frames are dropped; once restored, the page is told
// ('restored'), and the app posts its renderer (the state made again), its textures and its next
// frame whole.
onmessage = (e) => {
  const m = e.data;
  if (m.type === 'canvas') {
    canvas = m.canvas;
    gl = canvas.getContext('webgl2', { antialias: false, depth: false, stencil: false, alpha: true, preserveDrawingBuffer: true });
    if (!gl) { postMessage({ type: 'failed', reason: 'no WebGL2 context' }); return; }
    loser = gl.getExtension('WEBGL_lose_context');  // for the test hooks (not to be had from a lost context)
    canvas.addEventListener('webglcontextlost', (ev) => { ev.preventDefault(); made = null; textures.clear(); });
    // Restored: nothing is made here; the app, told, posts its renderer (made then) and textures again.
    canvas.addEventListener('webglcontextrestored', () => postMessage({ type: 'restored' }));
  } else if (m.type === 'renderer') {
    forget();
    renderer = m;
    made = make();
  } else if (m.type === 'texture') {
    if (made) texture(m);
  } else if (m.type === 'free') {
    if (made) gl.deleteTexture(textures.get(m.name) || null);
    textures.delete(m.name);
  } else if (m.type === 'frame') {
    if (made && !gl.isContextLost()) frame(m);
    else postMessage({ type: 'dropped' });  // the page counts the frames in flight (render.js)
  } else if (m.type === 'lose') {
    loser.loseContext();
  } else if (m.type === 'restore') {
    loser.restoreContext();
  } else if (m.type === 'inspect') {
    postMessage({ type: 'inspected', id: m.id, lost: gl.isContextLost(), program: gl.getParameter(gl.CURRENT_PROGRAM) !== null, error: gl.getError() });
  }
};
