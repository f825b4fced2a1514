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
    // (too far apart: wider or taller than the figure; a group that fits only without
    // the padding is centred, so every one of them is still in view)
    var rs = sending.map(rect), r = union(rs);
    if (r.right - r.left > w || r.bottom - r.top > h) {
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
