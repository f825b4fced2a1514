"""A self-contained HTML stepper for a backward animation: one file, works offline.

The page holds the laid-out SVG once, as frame 0 shows it, and per frame only what
changes (slot values), the marks and the caption, as JSON that a small script applies:
previous, next, play/pause, a slider, and the arrow, Home, End and space keys.

The page is sized for a projector: the caption stays at the bottom of the window,
the graph scrolls in the space above it and follows the nodes sending their grad
(their outlines carry the class `sending`: all of them when they fit in the view, else
the first with as many others as fit, and a note says how many are out of view), a
small graph grows to fill that space,
and a big one is never shrunk below the scale that shows its smallest text at
MIN_TEXT px. Frames count from 1. Text
from users (labels, the expression) reaches the page escaped, and captions are set
with textContent, never as markup.
"""

import html
import json
from dataclasses import dataclass

from ..quoting import escape_html
from .storyboard import Animation, mark_scale

__all__ = ["stepper_html", "notebook_html", "Stepper", "MIN_TEXT"]

MIN_TEXT = 11  # px: the smallest text the page shows, whatever the graph's size

CSS = """
html, body { height: 100%; }
body { font: 15px/1.4 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
       margin: 0; color: #111; background: #fafafa; display: flex; flex-direction: column;
       overflow: hidden; }
header { padding: 8px 16px 2px; flex: none; }
h1 { font-size: 18px; margin: 0 0 2px; }
.legend { color: #555; font-size: 13px; margin: 0; }
.controls { flex: none; display: flex; gap: 6px; align-items: center; padding: 6px 16px;
            background: #fafafa; border-bottom: 1px solid #ddd; }
.controls button { font: inherit; min-width: 2.4em; padding: 3px 8px; cursor: pointer; }
#slider { flex: 1; min-width: 120px; }
#counter { font-variant-numeric: tabular-nums; min-width: 7em; text-align: right; }
#offview { color: #b35806; font-size: 13px; }
#figure { flex: 1 1 auto; min-height: 0; overflow: auto; padding: 8px; background: #fff; }
#figure svg { display: block; margin: 0 auto; }
#caption { flex: none; margin: 0; padding: 8px 16px; height: 8.7em; overflow: auto;
           white-space: pre-wrap; line-height: 1.45; font-size: clamp(14px, 1.15vw, 22px);
           font-family: ui-monospace, "DejaVu Sans Mono", monospace;
           background: #fff; border-top: 2px solid #ddd; }
"""

SCRIPT = r"""
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var data = JSON.parse(document.getElementById("frames").textContent);
  var els = data.slots.map(function (s) { return document.getElementById(s[0]); });
  var marks = document.getElementById("marks");
  var figure = document.getElementById("figure");
  var svg = marks.ownerSVGElement;
  var box = svg.viewBox.baseVal;
  // the smallest text drawn, in SVG units: the page never shows it below MIN_TEXT px
  var smallest = Math.min.apply(null, [10 * data.scale].concat(
    Array.prototype.map.call(svg.querySelectorAll("text[font-size]"), function (t) {
      return parseFloat(t.getAttribute("font-size"));
    })));
  var slider = document.getElementById("slider");
  var caption = document.getElementById("caption");
  var counter = document.getElementById("counter");
  var play = document.getElementById("play");
  var offview = document.getElementById("offview");
  var last = data.frames.length - 1, shown = 0, timer = null;

  function set(i, value) {
    if (data.slots[i][1] === "#text") { els[i].textContent = value; }
    else { els[i].setAttribute(data.slots[i][1], value); }
  }
  function make(tag, attrs) {
    var el = document.createElementNS(SVGNS, tag);
    Object.keys(attrs).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    return el;
  }
  function drawMarks(list) {
    var s = data.scale;
    while (marks.firstChild) { marks.removeChild(marks.firstChild); }
    list.forEach(function (m) {
      if (m[0] === "box") {
        marks.appendChild(make("rect", {x: m[1], y: m[2], width: m[3] - m[1],
                                        height: m[4] - m[2], rx: 3, "class": "sending"}));
      } else if (m[0] === "ring") {
        marks.appendChild(make("ellipse", {cx: m[1], cy: m[2], rx: m[3], ry: m[4],
                                           "class": "sending"}));
      } else {
        var t = make("text", {x: m[1], y: m[2] - 3 * s, "text-anchor": "middle",
          "font-family": "DejaVu Sans,sans-serif", "font-size": 10 * s,
          "font-weight": "bold", fill: data.accent, stroke: "#ffffff",
          "stroke-width": 3 * s, "paint-order": "stroke"});
        t.textContent = m[3];
        marks.appendChild(t);
      }
    });
  }
  function zoom() {
    // px per SVG unit: as big as the figure (small graphs grow, up to 3x their
    // natural size), never so small that the smallest text is under MIN_TEXT px
    var fit = document.getElementById("fit").checked;
    var natural = 4 / 3, wide = (figure.clientWidth - 16) / box.width;
    var tall = (figure.clientHeight - 16) / box.height;
    var z = Math.max(data.minText / smallest,
                     fit ? Math.min(wide, tall, 3 * natural) : natural);
    svg.style.width = (box.width * z) + "px";
    svg.style.height = (box.height * z) + "px";
  }
  function rect(el) {
    var b = el.getBoundingClientRect();
    return {left: b.left, top: b.top, right: b.right, bottom: b.bottom};
  }
  function union(rs) {
    return rs.reduce(function (r, b) {
      return !r ? b : {left: Math.min(r.left, b.left), top: Math.min(r.top, b.top),
                       right: Math.max(r.right, b.right), bottom: Math.max(r.bottom, b.bottom)};
    }, null);
  }
  function within(b, left, top, w, h) {
    return b.left >= left && b.top >= top && b.right <= left + w && b.bottom <= top + h;
  }
  function mostInView(rs, w, h) {
    // the sending nodes that fit in one view with the first, as many as can: views
    // holding the first, their edges on the edge of some node, compared by count
    var first = rs[0], best = [first];
    var lefts = rs.map(function (b) { return b.left; }).concat(
      rs.map(function (b) { return b.right - w; }));
    var tops = rs.map(function (b) { return b.top; }).concat(
      rs.map(function (b) { return b.bottom - h; }));
    lefts.forEach(function (left) {
      tops.forEach(function (top) {
        if (!within(first, left, top, w, h)) { return; }
        var seen = rs.filter(function (b) { return within(b, left, top, w, h); });
        if (seen.length > best.length) { best = seen; }
      });
    });
    return union(best);
  }
  function follow() {
    // scroll the figure so the nodes sending their grad are in view; when they are
    // too far apart to be seen at once, the first and as many others as fit with
    // it, and the controls say how many are out of view
    var sending = Array.prototype.slice.call(marks.querySelectorAll(".sending"));
    offview.textContent = "";
    if (!sending.length) { return; }
    var f = figure.getBoundingClientRect(), pad = 16;
    var w = figure.clientWidth, h = figure.clientHeight;
    var rs = sending.map(rect), r = union(rs);
    if (r.right - r.left > w - 2 * pad || r.bottom - r.top > h - 2 * pad) {
      r = mostInView(rs, w - 2 * pad, h - 2 * pad);
    }
    if (r.left < f.left + pad || r.right > f.left + w - pad) {
      figure.scrollLeft += (r.left + r.right) / 2 - (f.left + w / 2);
    }
    if (r.top < f.top + pad || r.bottom > f.top + h - pad) {
      figure.scrollTop += (r.top + r.bottom) / 2 - (f.top + h / 2);
    }
    var away = sending.filter(function (el) {
      return !within(rect(el), f.left, f.top, w, h);
    }).length;
    if (away) {
      offview.textContent = away + " of " + sending.length + " sending nodes out of view: scroll";
    }
  }
  function show(k) {
    k = Math.max(0, Math.min(last, k));
    if (k < shown) {
      data.initial.forEach(function (v, i) { set(i, v); });
      shown = 0;
    }
    for (var j = shown + 1; j <= k; j++) {
      data.frames[j].changes.forEach(function (c) { set(c[0], c[1]); });
    }
    shown = k;
    var frame = data.frames[k];
    drawMarks(frame.marks);
    marks.setAttribute("data-nodes", frame.nodes.join(" "));
    caption.textContent = frame.caption;
    counter.textContent = "frame " + (k + 1) + " / " + (last + 1);
    slider.value = k;
    follow();
    if (k === last) { stop(); }
  }
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    play.textContent = "\u25B6 play";
  }
  function toggle() {
    if (timer !== null) { stop(); return; }
    if (shown === last) { show(0); }
    play.textContent = "\u2016 pause";
    timer = setInterval(function () { show(shown + 1); }, data.interval);
  }
  document.getElementById("first").onclick = function () { stop(); show(0); };
  document.getElementById("prev").onclick = function () { stop(); show(shown - 1); };
  document.getElementById("next").onclick = function () { stop(); show(shown + 1); };
  document.getElementById("last").onclick = function () { stop(); show(last); };
  document.getElementById("fit").onchange = function () { zoom(); follow(); };
  window.addEventListener("resize", function () { zoom(); follow(); });
  play.onclick = toggle;
  slider.oninput = function () { stop(); show(parseInt(slider.value, 10)); };
  document.addEventListener("keydown", function (e) {
    var keys = {ArrowRight: 1, ArrowLeft: -1};
    var tag = e.target.tagName;
    if ((tag === "INPUT" && e.target.type === "range" && e.key in keys) ||
        ((tag === "BUTTON" || tag === "INPUT") && (e.key === " " || e.key === "Enter"))) {
      return;  // the slider moves itself; a focused control takes its own keys
    }
    if (e.key in keys) { stop(); show(shown + keys[e.key]); }
    else if (e.key === "Home") { stop(); show(0); }
    else if (e.key === "End") { stop(); show(last); }
    else if (e.key === " ") { toggle(); }
    else { return; }
    e.preventDefault();
  });
  zoom();
  show(0);
})();
"""


def stepper_html(anim: Animation, interval_ms: int = 800) -> str:
    """The stepper page for an animation: one HTML file with no external resource.

    Args:
        anim: from microgpt_trace.renderers.animation.storyboard.animate.
        interval_ms: time per frame while playing.

    Returns:
        The HTML document.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> from microgpt_trace.tracer.replay import backward_frames
    >>> from microgpt_trace.renderers.animation.storyboard import animate
    >>> G = trace_expression("a*a", {"a": 3.0})
    >>> page = stepper_html(animate(G, backward_frames(G)))
    >>> page.startswith("<!DOCTYPE html>"), "http" in page.replace(
    ...     "http://www.w3.org/", "")
    (True, False)
    """
    width, height = anim.size
    body = "".join(p if isinstance(p, str) else escape_html(anim.values[0][p])
                   for p in anim.parts)
    svg = (f'<svg width="{width:.2f}pt" height="{height:.2f}pt" viewBox="0 0 {width:.2f} '
           f'{height:.2f}"{anim.svg_attrs}>\n{body}<g id="marks" fill="none" '
           f'stroke="{anim.accent}" stroke-width="{2.5 * mark_scale(anim):.2f}"></g>\n</svg>')
    last = len(anim.values) - 1
    title = html.escape(f"backward · {anim.title}" if anim.title else "backward")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{CSS}</style>
</head>
<body>
<header><h1>{title}</h1><p class="legend">{html.escape(anim.legend)}</p></header>
<div class="controls">
<button id="first" title="first frame (Home)">|&#x25C0;</button>
<button id="prev" title="previous frame (&#x2190;)">&#x25C0;</button>
<button id="play" title="play or pause (space)">&#x25B6; play</button>
<button id="next" title="next frame (&#x2192;)">&#x25B6;</button>
<button id="last" title="last frame (End)">&#x25B6;|</button>
<input id="slider" type="range" min="0" max="{last}" value="0" aria-label="frame">
<span id="counter">frame 1 / {last + 1}</span>
<span id="offview" role="status"></span>
<label><input id="fit" type="checkbox" checked> fit width</label>
</div>
<div id="figure">
{svg}
</div>
<pre id="caption">{html.escape(anim.captions[0])}</pre>
<script id="frames" type="application/json">{frames_json(anim, interval_ms)}</script>
<script>{SCRIPT}</script>
</body>
</html>
"""


def notebook_html(anim: Animation, height: int = 640, interval_ms: int = 800) -> str:
    """The stepper for a notebook cell: the whole page in a sandboxed iframe.

    The iframe isolates it: two steppers in one notebook share no ids, and the keys
    move only the one that has the focus (click it first).

    Args:
        anim: from microgpt_trace.renderers.animation.storyboard.animate.
        height: of the iframe, in px; it is as wide as the cell.
        interval_ms: time per frame while playing.

    Returns:
        One <iframe> element, its srcdoc the escaped page.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> from microgpt_trace.tracer.replay import backward_frames
    >>> from microgpt_trace.renderers.animation.storyboard import animate
    >>> G = trace_expression("a*a", {"a": 3.0})
    >>> cell = Stepper(animate(G, backward_frames(G)))._repr_html_()
    >>> cell.startswith("<iframe"), cell.count("<"), 'id=&quot;caption&quot;' in cell
    (True, 2, True)
    """
    page = html.escape(stepper_html(anim, interval_ms), quote=True)
    title = html.escape(f"backward · {anim.title}" if anim.title else "backward")
    return (f'<iframe sandbox="allow-scripts" title="{title}" srcdoc="{page}" '
            f'style="width: 100%; height: {int(height)}px; border: 1px solid #ddd">'
            '</iframe>')


@dataclass(frozen=True)
class Stepper:
    """An animation that a notebook displays as its stepper, inline (notebook_html)."""

    anim: Animation
    height: int = 640  # px
    interval_ms: int = 800

    def _repr_html_(self) -> str:
        return notebook_html(self.anim, self.height, self.interval_ms)


def frames_json(anim: Animation, interval_ms: int) -> str:
    """Per frame, the slots that change from the frame before, its marks and caption.

    Every "<" is written as \\u003c, so no text can close the <script> element.
    """
    frames, before = [], anim.values[0]
    for k, values in enumerate(anim.values):
        changes = [[i, v] for i, (v, old) in enumerate(zip(values, before)) if v != old]
        marks = [[x if isinstance(x, str) else round(x, 2) for x in m] for m in anim.marks[k]]
        frames.append({"changes": changes, "marks": marks, "caption": anim.captions[k],
                       "nodes": [str(n) for n in anim.active[k]]})
        before = values
    data = {"slots": anim.slots, "initial": anim.values[0], "frames": frames,
            "accent": anim.accent, "scale": round(mark_scale(anim), 3),
            "interval": interval_ms, "minText": MIN_TEXT}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
