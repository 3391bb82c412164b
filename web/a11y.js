// web/a11y.js — the accessible layer over the canvas: real DOM elements mirror what Dear ImGui drew.
//
// Index of this file
//   [SECTION] Keys: Tab is the browser's; keys in the layer never reach the canvas
//   [SECTION] Elements: one per node of the app's tree, changed only where the node changed
//   [SECTION] Events: focus, clicks, typed/pasted/composed text, choices -> the app
//   [SECTION] Pointer: the wheel and hover over the layer reach the canvas
//   [SECTION] Touch: a tap is the browser's mouse events; a swipe scrolls the view under the finger,
//                    a sideways drag moves a slider
//
// The app (wasm/app/a11y.cpp) sends its tree of accessible nodes after every frame that changed
// it: role, name (a field's label with its unit), value, state and bounds. Here each node becomes an
// element of the role the browser knows (input, select, button, tab, heading, live region) placed
// over what the canvas shows, in drawing order, so screen readers, voice control, Tab, paste, an
// input method and a phone's keyboard all work. Text fields are visible inputs (caret, selection
// and composition are the browser's); the other elements are transparent, and a ring shows focus.
// What the person does to an element goes back to the app through the same actions the widget
// takes (a11yActivate, a11ySetText, a11yChoose): there is one form state, the app's.
'use strict';

const $ = (id) => document.getElementById(id);
let M = null;                 // the app's module, once started
const els = new Map();        // node id -> { el, node, key }
const byElement = new WeakMap();
const optionsOf = new WeakMap();  // a <select> -> its options as the app sent them
const captionOf = new WeakMap();  // a table -> its caption (its first child, before its rows)
let lastOrder = [];           // the node ids of the last tree, in drawing order

//-----------------------------------------------------------------------------
// [SECTION] Keys
//-----------------------------------------------------------------------------
// Registered when this module loads, before the app's GLFW adds its own key listeners on the
// window (capture phase): a key meant for an element of the layer stops here, so Dear ImGui never
// sees it twice, and GLFW never cancels Tab or Backspace.
function inLayer(t) { return t instanceof Element && (t.closest('#a11y') !== null || t.classList.contains('skip')); }
function onKey(e) {
  if (e.key === 'Tab') { e.stopImmediatePropagation(); return; }  // focus moves through the DOM, in visual order
  if (!inLayer(e.target)) return;                                 // the canvas or the page: Dear ImGui's keys
  e.stopImmediatePropagation();
  if (e.type !== 'keydown' || !M) return;
  const n = byElement.get(e.target);
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    M.appPredict();  // as the Predict button, even when it is scrolled out of sight (a phone, 200% zoom)
  } else if (e.key === 'Escape' && n && n.role === 'textbox') {
    e.preventDefault();
    M.a11yRevert(n.id);
  } else if (['ArrowRight', 'ArrowLeft', 'Home', 'End'].includes(e.key) && n && n.role === 'tab') {
    // The tabs are one Tab stop (the open one); the arrows open the next or the previous view
    // (round from the last to the first), Home the first and End the last (ARIA's tabs pattern).
    e.preventDefault();
    const tabs = [...e.target.parentElement.querySelectorAll('[role=tab]')];
    const i = tabs.indexOf(e.target);
    const next = tabs[{ ArrowRight: (i + 1) % tabs.length, ArrowLeft: (i + tabs.length - 1) % tabs.length, Home: 0, End: tabs.length - 1 }[e.key]];
    if (next === e.target) return;
    next.focus();
    M.a11yActivate(byElement.get(next).id);
  }
}
for (const type of ['keydown', 'keypress', 'keyup']) window.addEventListener(type, onKey, true);

//-----------------------------------------------------------------------------
// [SECTION] Elements
//-----------------------------------------------------------------------------
const STATE = { disabled: 1, selected: 2, expanded: 4, collapsed: 8, invalid: 16, required: 32, checked: 64, focused: 128 };

function create(node) {
  let el;
  switch (node.role) {
    case 'textbox':
      el = document.createElement('input');
      el.type = 'text';
      el.autocomplete = 'off';
      el.spellcheck = false;
      el.className = 'a11y-field';
      break;
    case 'combobox': el = document.createElement('select'); break;
    case 'checkbox': el = document.createElement('input'); el.type = 'checkbox'; break;
    case 'slider': el = document.createElement('input'); el.type = 'range'; break;
    case 'tablist': el = document.createElement('div'); el.setAttribute('role', 'tablist'); break;
    case 'tab': el = document.createElement('button'); el.type = 'button'; el.setAttribute('role', 'tab'); break;
    case 'button': case 'disclosure': el = document.createElement('button'); el.type = 'button'; break;
    case 'heading': el = document.createElement('h' + Math.min(6, Math.max(1, node.level || 2))); break;
    case 'status': el = document.createElement('div'); el.setAttribute('role', 'status'); break;
    case 'alert': el = document.createElement('div'); el.setAttribute('role', 'alert'); break;
    case 'image': el = document.createElement('div'); el.setAttribute('role', 'img'); break;
    case 'document': el = document.createElement('section'); el.className = 'a11y-document'; break;
    case 'table': {
      // Its name is its caption, the first child, and nothing else (aria-labelledby, not an
      // aria-label too): a screen reader says a table's caption when it jumps to the table (Orca's
      // T), and a name given twice is said twice.
      el = document.createElement('div');
      el.setAttribute('role', 'table');
      const caption = document.createElement('div');
      caption.setAttribute('role', 'caption');
      caption.className = 'a11y-caption';
      caption.id = 'a11y-caption-' + node.id;
      el.setAttribute('aria-labelledby', caption.id);
      el.append(caption);
      captionOf.set(el, caption);
      break;
    }
    case 'row': case 'cell': case 'columnheader':
      el = document.createElement('div'); el.setAttribute('role', node.role); break;
    default: el = document.createElement('p');
  }
  if (node.role !== 'textbox') el.classList.add('a11y-shadow');  // transparent over what the canvas draws
  return el;
}

// A field's check (invalid, and the reason as its description) while the person types in it is
// given to assistive technology once the typing pauses, or when the focus leaves: a screen reader
// says the check of the value typed ("'12a' is not a number"), not of each keystroke on the way
// ("1 mg/dL is outside the possible range" while typing 148). The canvas shows it at once.
const TYPING_PAUSE_MS = 700;
const STATUS_SETTLE_MS = 400;
const lastTyped = new WeakMap();  // an input -> when the person last changed it
const pendingCheck = new WeakMap();  // an input -> its timer
const statusPending = new WeakSet();  // status elements whose new words are on their way
function applyCheck(el, node) {
  setAttr(el, 'aria-invalid', (node.state & STATE.invalid) ? 'true' : null);
  setAttr(el, 'aria-description', node.description || null);
}
function fieldCheck(el, node) {
  const since = performance.now() - (lastTyped.get(el) ?? -Infinity);
  clearTimeout(pendingCheck.get(el));
  if (el !== document.activeElement || since >= TYPING_PAUSE_MS) { applyCheck(el, node); return; }
  pendingCheck.set(el, setTimeout(() => fieldCheck(el, byElement.get(el) || node), TYPING_PAUSE_MS - since));
}

function px(v) { return Math.round(v * 10) / 10 + 'px'; }

function place(el, node, parent) {
  const [x, y, w, h] = node.rect;
  const [ox, oy] = parent ? parent.rect : [0, 0];
  el.style.left = px(x - ox);
  el.style.top = px(y - oy);
  el.style.width = px(Math.max(w, 1));
  el.style.height = px(Math.max(h, 1));
  // What the app's window clips (a form scrolled out of view) is clipped here too; an element
  // wholly out of view stays in the tree and focusable (focus scrolls it into view).
  const [cx, cy, cw, ch] = node.clip;
  if (cw <= 0 || ch <= 0) el.style.clipPath = 'inset(50%)';
  else if (cx > x + 0.5 || cy > y + 0.5 || cx + cw < x + w - 0.5 || cy + ch < y + h - 0.5)
    el.style.clipPath = `inset(${px(cy - y)} ${px(x + w - cx - cw)} ${px(y + h - cy - ch)} ${px(cx - x)})`;
  else el.style.clipPath = '';
}

function setAttr(el, name, value) {
  if (value === null || value === undefined || value === false) { if (el.hasAttribute(name)) el.removeAttribute(name); }
  else if (el.getAttribute(name) !== String(value)) el.setAttribute(name, String(value));
}

// A view's words as headings and paragraphs (see the 'document' role below); the words each
// document element shows now.
const documentWords = new WeakMap();
function documentParts(words) {
  const parts = [];
  let lines = [];
  const flush = () => {
    if (!lines.length) return;
    const p = document.createElement('p');
    p.textContent = lines.join('\n');
    parts.push(p);
    lines = [];
  };
  for (const line of words.split('\n')) {
    if (line.endsWith('\x1e')) {
      flush();
      const h = document.createElement('h3');
      h.textContent = line.slice(0, -1).trim();
      parts.push(h);
    } else lines.push(line);
  }
  flush();
  return parts;
}
function update(el, node) {
  const s = node.state || 0;
  // A cell's words are its text; a cell without (cell_begin) holds the elements drawn in it.
  const text = ['heading', 'text', 'status', 'alert'].includes(node.role) ||
    (['cell', 'columnheader'].includes(node.role) && node.name !== '');
  if (text && node.role === 'status') {
    // A status's words go in a moment after they change (at most one change a moment, the latest
    // words): one that lasts less ("Computing on this device…" for a fast prediction) is not
    // announced after the result that replaced it.
    if (!statusPending.has(el)) {
      statusPending.add(el);
      setTimeout(() => {
        statusPending.delete(el);
        const n = byElement.get(el);
        if (el.isConnected && n && n.role === 'status' && el.textContent !== n.name) el.textContent = n.name;
      }, STATUS_SETTLE_MS);
    }
  } else if (text) { if (el.textContent !== node.name) el.textContent = node.name; }
  else if (!['cell', 'columnheader', 'table'].includes(node.role)) setAttr(el, 'aria-label', node.name || null);
  if (node.role === 'table') {
    const caption = captionOf.get(el);
    if (caption.textContent !== node.name) caption.textContent = node.name;
    // All its rows, the header row too, drawn or not (the batch table draws only those in view);
    // each row its place among them, the header row 1.
    setAttr(el, 'aria-rowcount', node.rowcount || null);
  }
  if (node.role === 'row') setAttr(el, 'aria-rowindex', node.rowindex || null);
  if (node.role === 'document') {
    // Dear ImGui's text log draws separators as lines of dashes: not words. A line the app ended
    // with its heading mark (\x1e, wasm/app/a11y.h kHeadingMark) is a section title: a heading
    // one level below the view's, the lines after it paragraphs, so H and the headings list
    // reach every section.
    const words = (node.value || '').replace(/^-{3,}$/gm, '').replace(/\n{2,}/g, '\n').trim();
    if (documentWords.get(el) !== words) {
      documentWords.set(el, words);
      el.replaceChildren(...documentParts(words));
    }
  }
  setAttr(el, 'id', node.anchor ? 'a11y-' + node.anchor : null);
  if (node.anchor) setAttr(el, 'tabindex', '-1');
  if (node.role !== 'textbox') setAttr(el, 'aria-description', node.description || null);
  const interactive = ['textbox', 'combobox', 'checkbox', 'slider', 'tab', 'button', 'disclosure'].includes(node.role);
  if (interactive) el.disabled = (s & STATE.disabled) !== 0;
  if (node.role === 'textbox') {
    setAttr(el, 'inputmode', node.inputmode || 'text');
    // The hint (the training range) is not the input's placeholder: a screen reader says a
    // placeholder where a value would be ("entry 0 – 13"). The range is in the field's description;
    // an empty field lets the canvas's hint show through (web/app.css).
    el.classList.toggle('a11y-empty', el.value === '');
    setAttr(el, 'aria-required', (s & STATE.required) ? 'true' : null);
    fieldCheck(el, node);
    // The app's value wins only when the app changed it (Escape, Clear form, a choice from the
    // list): never while the person's own typing is still on its way to the app.
    // A password field (node.secret): the app never sends its value back, and the person's typing
    // is the only thing that sets it.
    if (node.secret && el.type !== 'password') el.type = 'password';
    const value = node.value || '';
    if (!node.secret && value !== el.value && value !== el.dataset.sent) {
      el.value = value;
      el.dataset.sent = value;
      el.classList.toggle('a11y-empty', value === '');
    }
  } else if (node.role === 'combobox') {
    // Compared with what the app sent, not with Option.text (which folds spaces): rebuilt options
    // make Chromium announce a stale item of the list to a screen reader, instead of the next focus.
    const opts = node.options || [];
    const sent = JSON.stringify(opts);
    if (optionsOf.get(el) !== sent) {
      el.replaceChildren(...opts.map((o, i) => new Option(o, String(i))));
      optionsOf.set(el, sent);
    }
    if (el.selectedIndex !== node.selected) el.selectedIndex = node.selected;
  } else if (node.role === 'checkbox') {
    el.checked = (s & STATE.checked) !== 0;
  } else if (node.role === 'slider') {
    el.min = node.min; el.max = node.max; el.step = node.step || 'any';
    if (Number(el.value) !== node.number) el.value = node.number;
    setAttr(el, 'aria-valuetext', node.value || null);
  } else if (node.role === 'tab') {
    setAttr(el, 'aria-selected', (s & STATE.selected) ? 'true' : 'false');
    setAttr(el, 'tabindex', (s & STATE.selected) ? null : '-1');
  } else if (node.role === 'disclosure') {
    setAttr(el, 'aria-expanded', (s & STATE.expanded) ? 'true' : 'false');
  }
}

// The app's tree, after a frame that changed it.
export function applyTree(json) {
  const tree = JSON.parse(json);
  const layer = $('a11y');
  const seen = new Set();
  const lastPlaced = new Map();  // parent element -> the child placed last
  const nodes = new Map(tree.nodes.map((n) => [n.id, n]));
  for (const node of tree.nodes) {
    seen.add(node.id);
    let entry = els.get(node.id);
    if (entry && entry.node.role !== node.role) { entry.el.remove(); els.delete(node.id); entry = null; }
    if (!entry) {
      entry = { el: create(node), node: null, key: '' };
      els.set(node.id, entry);
      byElement.set(entry.el, node);
    }
    const parentNode = node.parent ? nodes.get(node.parent) : null;
    const parentEl = parentNode && els.has(node.parent) ? els.get(node.parent).el : layer;
    const prevSibling = lastPlaced.get(parentEl);
    const first = captionOf.has(parentEl) ? captionOf.get(parentEl).nextSibling : parentEl.firstChild;
    const want = prevSibling ? prevSibling.nextSibling : first;
    if (want !== entry.el) parentEl.insertBefore(entry.el, want);
    lastPlaced.set(parentEl, entry.el);
    const key = JSON.stringify(node);
    if (key !== entry.key) {
      place(entry.el, node, parentNode);
      update(entry.el, node);
      entry.node = node;
      entry.key = key;
      byElement.set(entry.el, node);
    }
    // A field Dear ImGui began editing on the canvas (its own keyboard focus) takes the page's focus.
    if (node.role === 'textbox' && (node.state & STATE.focused) && (document.activeElement === document.body || document.activeElement === $('canvas'))) {
      entry.el.focus({ preventScroll: true });
    }
  }
  // The focused element gone with its node (a button that did its work, "Yes, it is: show the
  // result"): the focus goes to the next control still there in the previous drawing order (else
  // the one before), not to the page, where the next Tab would leave for the browser's toolbar.
  const focused = document.activeElement;
  let lost = -1;
  for (const [id, entry] of els) if (!seen.has(id)) {
    if (entry.el === focused || entry.el.contains(focused)) lost = lastOrder.indexOf(id);
    entry.el.remove();
    els.delete(id);
  }
  if (lost >= 0) {
    const focusable = (id) => els.has(id) && els.get(id).el.matches('button:not([disabled]):not([tabindex="-1"]), input:not([disabled]), select:not([disabled])');
    const next = lastOrder.slice(lost + 1).find(focusable) ?? lastOrder.slice(0, lost).reverse().find(focusable);
    if (next !== undefined) els.get(next).el.focus({ preventScroll: true });
  }
  lastOrder = tree.nodes.map((n) => n.id);
  showRing();
}

// The focus ring: two colours (dark blue inside, white outside), so it shows on any background.
function showRing() {
  const ring = $('a11y-ring');
  const a = document.activeElement;
  if (!a || !inLayer(a) || a.classList.contains('skip')) { ring.hidden = true; return; }
  const r = a.getBoundingClientRect();
  ring.hidden = false;
  ring.style.left = px(r.left - 3);
  ring.style.top = px(r.top - 3);
  ring.style.width = px(r.width + 6);
  ring.style.height = px(r.height + 6);
}

//-----------------------------------------------------------------------------
// [SECTION] Events
//-----------------------------------------------------------------------------
function sendText(el) {
  const n = byElement.get(el);
  if (!M || !n || n.role !== 'textbox') return;
  if (el.type !== 'password') el.dataset.sent = el.value;  // a token is never written into the DOM
  el.classList.toggle('a11y-empty', el.value === '');
  lastTyped.set(el, performance.now());
  M.a11ySetText(n.id, el.value);
}

// Starts the layer once the app's module is there (before its first frame).
export function startA11y(module) {
  M = module;
  const layer = $('a11y');
  layer.addEventListener('focusin', (e) => {
    const n = byElement.get(e.target);
    if (n) M.a11yFocus(n.id);
    showRing();
  });
  layer.addEventListener('focusout', (e) => {
    setTimeout(showRing, 0);
    const n = byElement.get(e.target);
    if (n && n.role === 'textbox') { lastTyped.delete(e.target); fieldCheck(e.target, n); }  // its check, now
  });
  // Typed, pasted or dropped text: as it changes. Composed text (an input method): once committed.
  layer.addEventListener('input', (e) => { if (!e.isComposing && e.target.type !== 'range') sendText(e.target); });
  layer.addEventListener('compositionend', (e) => sendText(e.target));
  layer.addEventListener('change', (e) => {
    const n = byElement.get(e.target);
    if (!n) return;
    if (n.role === 'combobox') M.a11yChoose(n.id, e.target.selectedIndex);
    else if (n.role === 'slider') M.a11ySetNumber(n.id, Number(e.target.value));
  });
  layer.addEventListener('input', (e) => {
    const n = byElement.get(e.target);
    if (n && n.role === 'slider') M.a11ySetNumber(n.id, Number(e.target.value));
  });
  layer.addEventListener('click', (e) => {
    const el = e.target.closest('button, input[type=checkbox]');
    const n = el && byElement.get(el);
    if (n && ['button', 'tab', 'disclosure', 'checkbox'].includes(n.role)) M.a11yActivate(n.id);
  });
  // The skip link moves the focus to the result (or to where it will be).
  document.querySelector('.skip').addEventListener('click', (e) => {
    e.preventDefault();
    const target = $('a11y-result');
    if (target) target.focus();
  });
  //---------------------------------------------------------------------------
  // [SECTION] Pointer
  //---------------------------------------------------------------------------
  // Over a field the pointer is the field's; the wheel still scrolls the form, and hover still
  // shows, as on the canvas.
  const canvas = $('canvas');
  startTouch(canvas, layer);
  layer.addEventListener('wheel', (e) => {
    e.preventDefault();
    canvas.dispatchEvent(new WheelEvent('wheel', e));
  }, { passive: false });
  layer.addEventListener('mousemove', (e) => canvas.dispatchEvent(new MouseEvent('mousemove', e)));
  window.addEventListener('resize', showRing);
  // More contrast when the system asks for it (prefers-contrast: more), now and when it changes.
  const more = window.matchMedia('(prefers-contrast: more)');
  M.a11ySetContrastMore(more.matches);
  more.addEventListener('change', (e) => M.a11ySetContrastMore(e.matches));
}

//-----------------------------------------------------------------------------
// [SECTION] Touch
//-----------------------------------------------------------------------------
// A tap on the canvas reaches the app as the mouse events the browser makes of it (mousemove,
// mousedown, mouseup, at the finger), never as touch events. Emscripten's GLFW takes a touchstart
// as a mouse press where the mouse last was (it reads no position from a touch), so a finger held
// for a frame or more (every real tap) pressed at the last tap's place, and the tap's own press came
// while that one was held: the tap was lost. Touch events on the canvas stop here, in the window's
// capture phase, before the canvas's own listeners; a tap is not cancelled, so the browser still
// makes its mouse events (and a field keeps its own tap, the page its two-finger zoom).
//
// A finger that moves up or down by more than SWIPE_SLOP (on the canvas or on a field), more up or
// down than sideways, is a swipe: the view under it scrolls with it (the app's appScrollBy, as the
// wheel scrolls the view under the mouse; that view keeps the swipe and its glide even when another
// slides under the finger), and after a flick glides on, slowing, until it stops or another touch
// begins; a touch that stops a glide is only that (not a tap). A move sideways at first stays the
// browser's (a field's text selection), as do two fingers (zoom) and every move while the page is
// zoomed in (the browser pans the zoomed page), and a move the browser no longer lets the page
// cancel (its own gesture began). A move that begins sideways on a slider the canvas draws (the
// heat map's opacity, a validation's threshold) drags it: its value follows the finger, through
// the slider's own action (a11ySetNumber), as the layer's range input would set it.
const SWIPE_SLOP = 10;          // CSS px a finger moves before its touch is a swipe, not a tap
const GLIDE_DECAY_MS = 325;     // a flick's speed falls by e every 325 ms (as native lists glide)
const GLIDE_MIN_SPEED = 0.02;   // CSS px per ms: below it the glide stops
const FLICK_MS = 100;           // a finger lifted within this of its last move flicks
const GLIDE_SEEN_SPEED = 0.1;   // CSS px per ms: a glide slower than this barely moves; a touch then is a tap

function startTouch(canvas, layer) {
  const onForm = (t) => t === canvas || (t instanceof Element && layer.contains(t));
  const zoomed = () => (window.visualViewport?.scale ?? 1) > 1.01;
  let swipe = null;     // the finger down: where it began, where it was, its speed; moving once a swipe
  let glide = 0;        // the glide's animation frame, 0 when none
  let glideSpeed = 0;   // its speed (CSS px per ms)
  let stopping = false; // this touch stopped a glide: its end is no tap
  const keepFromGlfw = (e) => { if (e.target === canvas) e.stopPropagation(); };
  // A slider under the finger: where the app shows it (its bounds within what its view clips).
  const sliderAt = (x, y) => [...layer.querySelectorAll('input[type=range]')].find((el) => {
    const n = byElement.get(el);
    if (!n) return false;
    const [rx, ry, rw, rh] = n.rect, [cx, cy, cw, ch] = n.clip;
    return x >= Math.max(rx, cx) && x <= Math.min(rx + rw, cx + cw) && y >= Math.max(ry, cy) && y <= Math.min(ry + rh, cy + ch);
  }) || null;
  // The value under the finger, on the slider's steps, mapped as the app's slider maps a tap (its
  // frame less `inset` at each end).
  const dragSlider = (el, x) => {
    const n = byElement.get(el);
    if (!n || !el.isConnected) return;
    const [rx, , rw] = n.rect, inset = Math.min(n.inset || 0, rw / 2 - 0.5);
    const min = Number(n.min), max = Number(n.max), step = Number(n.step) || 0;
    let v = min + Math.min(1, Math.max(0, (x - rx - inset) / (rw - 2 * inset))) * (max - min);
    if (step > 0) v = Math.min(max, min + Math.round((v - min) / step) * step);
    M.a11ySetNumber(n.id, v);
  };
  window.addEventListener('touchstart', (e) => {
    keepFromGlfw(e);
    stopping = glide !== 0 && Math.abs(glideSpeed) > GLIDE_SEEN_SPEED;
    cancelAnimationFrame(glide);
    glide = 0;
    const t = e.touches[0];
    swipe = onForm(e.target) && e.touches.length === 1 && !zoomed()
      ? { x0: t.clientX, y0: t.clientY, y: t.clientY, at: e.timeStamp, speed: 0, moving: false,
          slider: e.target === canvas ? sliderAt(t.clientX, t.clientY) : null } : null;
  }, { capture: true, passive: true });
  window.addEventListener('touchmove', (e) => {
    keepFromGlfw(e);
    if (!swipe || e.touches.length !== 1 || !e.cancelable) { swipe = null; return; }
    const t = e.touches[0];
    if (swipe.dragging) {
      e.preventDefault();
      dragSlider(swipe.slider, t.clientX);
      return;
    }
    if (!swipe.moving) {
      const dx = t.clientX - swipe.x0, dy = t.clientY - swipe.y0;
      if (Math.max(Math.abs(dx), Math.abs(dy)) < SWIPE_SLOP) return;
      if (Math.abs(dy) <= Math.abs(dx) && swipe.slider) {  // sideways on a slider: dragged, to the end
        swipe.dragging = true;
        e.preventDefault();
        dragSlider(swipe.slider, t.clientX);
        return;
      }
      if (Math.abs(dy) <= Math.abs(dx)) { swipe = null; return; }  // sideways first: the browser's, to the end
      swipe.moving = true;
      // The view under the finger is the one scrolled: the app's mouse goes where the swipe began.
      canvas.dispatchEvent(new MouseEvent('mousemove', { clientX: swipe.x0, clientY: swipe.y0, bubbles: true }));
      swipe.first = true;
    }
    e.preventDefault();
    const dy = t.clientY - swipe.y, dt = Math.max(1, e.timeStamp - swipe.at);
    swipe.speed = 0.8 * (dy / dt) + 0.2 * swipe.speed;
    swipe.y = t.clientY;
    swipe.at = e.timeStamp;
    if (dy === 0) return;
    M.appScrollBy(-dy * devicePixelRatio, swipe.first);  // the finger up: the form goes up with it (the app's pixels)
    swipe.first = false;
  }, { capture: true, passive: false });
  const end = (e) => {
    keepFromGlfw(e);
    if (stopping && e.cancelable) e.preventDefault();  // no mouse events: the touch only stopped the glide
    stopping = false;
    const flick = swipe && swipe.moving && e.type === 'touchend' && e.timeStamp - swipe.at < FLICK_MS ? swipe.speed : 0;
    swipe = null;
    if (Math.abs(flick) < GLIDE_MIN_SPEED) return;
    let speed = flick, last = performance.now();
    const step = (now) => {
      const dt = Math.max(0, Math.min(50, now - last));
      last = now;
      speed *= Math.exp(-dt / GLIDE_DECAY_MS);
      glideSpeed = speed;
      // Stopped when slow, or when its view no longer moves (at its end).
      if (Math.abs(speed) < GLIDE_MIN_SPEED || !M.appScrollBy(-speed * dt * devicePixelRatio, false)) { glide = 0; return; }
      glide = requestAnimationFrame(step);
    };
    glide = requestAnimationFrame(step);
  };
  window.addEventListener('touchend', end, { capture: true, passive: false });
  window.addEventListener('touchcancel', end, { capture: true, passive: false });
}
