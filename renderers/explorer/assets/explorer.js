(function () {
  "use strict";
  const SVGNS = "http://www.w3.org/2000/svg";
  const data = JSON.parse(document.getElementById("explorer-data").textContent);
  const views = new Map(data.views.map((v) => [v.scope, v]));
  const records = new Map();  // scope -> promise of its inflated record
  const $ = (id) => document.getElementById(id);
  const root = $("view"), canvas = $("canvas"), minimap = $("minimap");
  const inspector = $("inspector"), results = $("results"), search = $("search");
  const rootName = views.get("").kind === "expression" ? "expression" : "model";
  window.explorerTimings = [];  // {scope, ms}: how long each view took to open
  let shown = null;  // {scope, record, svg, box, scale, hits}
  let opening = Promise.resolve();

  // ---- views: inflate one when it first opens, draw it with its final grads ----
  async function inflate(b64) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  }
  function record(scope) {
    if (!records.has(scope)) { records.set(scope, inflate(views.get(scope).payload)); }
    return records.get(scope);
  }
  function make(tag, attrs) {
    const el = document.createElementNS(SVGNS, tag);
    for (const k in attrs) { el.setAttribute(k, attrs[k]); }
    return el;
  }
  function drawing(rec) {
    // the stepper page's SVG (parsed alone: the page is mostly its frames) with
    // every slot at its last frame's value
    const holder = document.createElement("template");
    holder.innerHTML = rec.page.slice(rec.page.indexOf("<svg "), rec.page.lastIndexOf("</svg>") + 6);
    const svg = holder.content.firstElementChild;
    const byId = new Map();
    svg.querySelectorAll("[id]").forEach((el) => byId.set(el.id, el));
    rec.slots.forEach(([id, attr], i) => {
      const el = byId.get(id);
      if (attr === "#text") { el.textContent = rec.final[i]; } else { el.setAttribute(attr, rec.final[i]); }
    });
    byId.get("marks").remove();
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    return svg;
  }
  function hitLayer(rec, svg) {
    const [w, h] = rec.size;
    const mask = make("mask", {id: "veil-mask"});
    mask.append(make("rect", {x: 0, y: 0, width: w, height: h, fill: "#fff"}));
    const defs = make("defs", {});
    defs.append(mask);
    const veil = make("rect", {id: "veil", x: 0, y: 0, width: w, height: h, mask: "url(#veil-mask)",
                               visibility: "hidden"});
    const hits = make("g", {id: "hits"});
    for (const [name, marks] of Object.entries(rec.shapes)) {
      for (const m of marks) {
        const r = m[0] === "ring"
          ? make("ellipse", {cx: m[1], cy: m[2], rx: m[3], ry: m[4]})
          : make("rect", {x: m[1], y: m[2], width: m[3] - m[1], height: m[4] - m[2], rx: 3});
        r.setAttribute("class", "hit");
        r.dataset.node = name;
        if (rec.opens[name]) { r.classList.add("opens"); r.dataset.opens = rec.opens[name]; }
        hits.append(r);
      }
    }
    svg.append(defs, veil, hits);
    return hits;
  }
  function edgeIndex(svg) {
    // node -> the edges at either end of it, read from the ids the DOT gave them
    // (e_<tail>_<head>_<arg>; a value's own op circle is op<name>)
    const index = new Map();
    svg.querySelectorAll('g.edge[id^="e_"]').forEach((g) => {
      const m = /^e_(?:op)?(n\d+)_(?:op)?(n\d+)/.exec(g.id);
      if (!m) { return; }
      for (const n of [m[1], m[2]]) {
        if (!index.has(n)) { index.set(n, []); }
        index.get(n).push(g);
      }
    });
    return index;
  }
  function clusterLinks(rec, svg) {
    svg.querySelectorAll("g.cluster").forEach((g) => {
      const title = g.querySelector("title");
      const sub = title && rec.clusters[title.textContent];
      if (sub && views.has(sub)) { g.classList.add("opens"); g.dataset.opens = sub; }
    });
  }
  async function open(scope, select) {
    const t0 = performance.now();
    if (!views.has(scope)) {
      notice("no view named \u201c" + scope + "\u201d here: showing the " + rootName);
      scope = "";
    } else { notice(""); }
    const rec = await record(scope);
    const svg = drawing(rec);
    canvas.replaceChildren(svg);
    const hits = hitLayer(rec, svg);
    clusterLinks(rec, svg);
    const smallest = Math.min(...Array.from(svg.querySelectorAll("text[font-size]"),
                                            (t) => parseFloat(t.getAttribute("font-size"))), 14);
    shown = {scope, rec, svg, hits, smallest, edges: edgeIndex(svg),
             box: {x: 0, y: 0, w: 1, h: 1}, scale: 1};
    root.dataset.scope = scope;
    root.dataset.kind = rec.kind;
    closeStepper();
    crumbs(scope);
    overview(rec);
    place(rec);
    inspect(null);
    if (select) { choose(select, true); }
    const ms = performance.now() - t0;
    window.explorerTimings.push({scope, ms});
    root.dataset.openMs = ms.toFixed(1);
  }
  function notice(text) { $("notice").textContent = text; }

  // ---- zoom and pan: the viewBox moves, so text stays vector-sharp ----
  function apply() {
    const s = shown, b = s.box;
    b.w = canvas.clientWidth / s.scale;
    b.h = canvas.clientHeight / s.scale;
    s.svg.setAttribute("viewBox", `${b.x} ${b.y} ${b.w} ${b.h}`);
    const [w, h] = s.rec.size, here = minimap.querySelector(".here");
    // nothing to find your way in when all of it is on the screen
    minimap.toggleAttribute("hidden", b.x <= 0 && b.y <= 0 && b.x + b.w >= w && b.y + b.h >= h);
    if (here) {
      here.setAttribute("x", b.x); here.setAttribute("y", b.y);
      here.setAttribute("width", b.w); here.setAttribute("height", b.h);
    }
  }
  function readable() { return data.minText / shown.smallest; }
  function fitScale() {
    const [w, h] = shown.rec.size;
    return Math.min((canvas.clientWidth - 16) / w, (canvas.clientHeight - 16) / h);
  }
  function place(rec) {
    // open at a zoom where the smallest text is readable, on the side the gradient
    // enters (the outputs), and no further out than the drawing's edges
    const s = shown;
    s.scale = Math.max(readable(), Math.min(fitScale(), 2.5));
    const [w, h] = rec.size;
    const vw = canvas.clientWidth / s.scale, vh = canvas.clientHeight / s.scale;
    s.box.x = vw >= w ? (w - vw) / 2 : clamp(rec.entry[0] - vw / 2, 0, w - vw);
    s.box.y = vh >= h ? (h - vh) / 2 : clamp(rec.entry[1] - vh / 2, 0, h - vh);
    apply();
  }
  function clamp(x, lo, hi) { return Math.max(lo, Math.min(hi, x)); }
  function fit() {
    const s = shown, [w, h] = s.rec.size;
    s.scale = fitScale();
    s.box.x = (w - canvas.clientWidth / s.scale) / 2;
    s.box.y = (h - canvas.clientHeight / s.scale) / 2;
    apply();
  }
  function zoomAt(factor, px, py) {
    // px, py: the point (in canvas pixels) that stays where it is
    const s = shown, x = s.box.x + px / s.scale, y = s.box.y + py / s.scale;
    s.scale = clamp(s.scale * factor, 0.02, 40);
    s.box.x = x - px / s.scale;
    s.box.y = y - py / s.scale;
    apply();
  }
  function zoomCentre(factor) { zoomAt(factor, canvas.clientWidth / 2, canvas.clientHeight / 2); }
  function pan(dx, dy) { shown.box.x += dx / shown.scale; shown.box.y += dy / shown.scale; apply(); }
  function centreOn(x, y) {
    shown.box.x = x - canvas.clientWidth / shown.scale / 2;
    shown.box.y = y - canvas.clientHeight / shown.scale / 2;
    apply();
  }
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();  // ctrl+wheel is a pinch on a touchpad: zoom, never the page
    const r = canvas.getBoundingClientRect();
    zoomAt(Math.exp(-e.deltaY * (e.ctrlKey ? 0.01 : 0.0015)), e.clientX - r.left, e.clientY - r.top);
  }, {passive: false});
  let drag = null;
  canvas.addEventListener("pointerdown", (e) => {
    drag = {x: e.clientX, y: e.clientY, moved: false};
  });
  window.addEventListener("pointermove", (e) => {
    if (!drag) { return; }
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 4) { return; }
    drag.moved = true;
    canvas.classList.add("dragging");
    pan(-dx, -dy);
    drag.x = e.clientX; drag.y = e.clientY;
  });
  window.addEventListener("pointerup", () => {
    canvas.classList.remove("dragging");
    setTimeout(() => { drag = null; }, 0);  // the click that follows still sees the drag
  });
  window.addEventListener("resize", () => { if (shown) { apply(); } });

  // ---- the overview: the whole view small, the visible part outlined ----
  function overview(rec) {
    // a sketch, not a second copy of the drawing: a box per node
    const [w, h] = rec.size;
    const k = Math.min(220 / w, 140 / h);
    minimap.setAttribute("viewBox", `0 0 ${w} ${h}`);
    minimap.setAttribute("width", Math.round(w * k));
    minimap.setAttribute("height", Math.round(h * k));
    const sketch = make("g", {"class": "sketch"});
    for (const marks of Object.values(rec.shapes)) {
      const m = marks[0], [x, y] = middle(m);
      const w = m[0] === "ring" ? 2 * m[3] : m[3] - m[1], h = m[0] === "ring" ? 2 * m[4] : m[4] - m[2];
      sketch.append(make("rect", {x: x - w / 2, y: y - h / 2, width: w, height: h}));
    }
    minimap.replaceChildren(sketch, make("rect", {"class": "here"}));
  }
  minimap.addEventListener("click", (e) => {
    const r = minimap.getBoundingClientRect(), [w, h] = shown.rec.size;
    centreOn((e.clientX - r.left) / r.width * w, (e.clientY - r.top) / r.height * h);
  });

  // ---- hover lights what a node reads and what reads it; click inspects or opens ----
  function light(name) {
    const s = shown, mask = s.svg.querySelector("#veil-mask");
    s.hits.querySelectorAll(".lit-self, .lit-in, .lit-out").forEach((r) => {
      r.classList.remove("lit-self", "lit-in", "lit-out");
    });
    mask.querySelectorAll(".hole").forEach((r) => r.remove());
    const veil = s.svg.querySelector("#veil");
    if (!name) { veil.setAttribute("visibility", "hidden"); return; }
    const fact = s.rec.nodes[name];
    const marks = [[name, "lit-self"]].concat(fact.in.map((n) => [n, "lit-in"]),
                                              fact.out.map((n) => [n, "lit-out"]));
    for (const [n, cls] of marks) {
      for (const r of hitsFor(n)) {
        r.classList.add(cls);
        const hole = r.cloneNode();
        hole.setAttribute("class", "hole");
        hole.setAttribute("fill", "#000");
        mask.append(hole);
      }
    }
    // its edges show through the veil too
    const graph = s.svg.querySelector("#graph0");
    const edges = make("g", {"class": "hole", transform: graph.getAttribute("transform") || "",
                             "stroke-width": 6});
    for (const g of s.edges.get(name) || []) {
      const copy = g.cloneNode(true);
      copy.removeAttribute("id");
      copy.querySelectorAll("path").forEach((p) => { p.setAttribute("stroke", "#000"); p.setAttribute("fill", "none"); });
      copy.querySelectorAll("polygon, text").forEach((p) => { p.setAttribute("stroke", "#000"); p.setAttribute("fill", "#000"); });
      edges.append(copy);
    }
    mask.append(edges);
    veil.setAttribute("visibility", "visible");
  }
  function hitsFor(name) { return shown.hits.querySelectorAll(`[data-node="${name}"]`); }
  function middle(m) {
    return m[0] === "ring" ? [m[1], m[2]] : [(m[1] + m[3]) / 2, (m[2] + m[4]) / 2];
  }
  canvas.addEventListener("pointerover", (e) => {
    const hit = e.target.closest && e.target.closest(".hit");
    if (hit && !drag) { light(hit.dataset.node); }
  });
  canvas.addEventListener("pointerout", (e) => {
    if (e.target.closest && e.target.closest(".hit")) { light(null); }
  });
  canvas.addEventListener("click", (e) => {
    if (drag && drag.moved) { return; }
    const hit = e.target.closest(".hit");
    if (hit) {
      const opens = shown.rec.opens[hit.dataset.node];
      if (opens) { go(opens); } else { choose(hit.dataset.node, false); }
      return;
    }
    const cluster = e.target.closest("g.cluster.opens");
    if (cluster) { go(cluster.dataset.opens); }
  });
  function choose(name, centre) {
    shown.hits.querySelectorAll(".selected").forEach((r) => r.classList.remove("selected"));
    const rs = hitsFor(name);
    if (!rs.length) { return; }
    rs.forEach((r) => r.classList.add("selected"));
    if (centre) { centreOn(...middle(shown.rec.shapes[name][0])); }
    inspect(name);
  }

  // ---- the inspector: numbers as the trace holds them, set as text ----
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      if (k === "onclick") { e.onclick = attrs[k]; } else { e.setAttribute(k, attrs[k]); }
    }
    e.append(...children.filter((c) => c !== null && c !== undefined));
    return e;
  }
  function short(x) {
    // four significant digits, as the diagrams write them (Python's "%.4g")
    if (x === 0) { return "0"; }
    const e = Math.floor(Math.log10(Math.abs(x)));
    if (e < -4 || e >= 4) {
      const [m, p] = x.toExponential(3).split("e");
      const exp = Math.abs(parseInt(p, 10));
      return m.replace(/\.?0+$/, "") + "e" + (p[0] === "-" ? "-" : "+") + String(exp).padStart(2, "0");
    }
    return x.toPrecision(4).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
  }
  function row(label, value, field) {
    return el("tr", {}, el("th", {}, label),
              el("td", {"data-field": field, "data-value": String(value)}, short(value),
                 el("small", {}, String(value))));
  }
  function openButton(scope) {
    return el("button", {onclick: () => go(scope)}, "open " + scope + " \u25B8");
  }
  function inspect(name) {
    if (!name) {
      inspector.replaceChildren(el("p", {"class": "hint"}, shown && shown.rec.kind === "blocks"
        ? "Click a block to open it; hover it to light the blocks it reads (blue) and feeds (orange)."
        : "Hover a node to light what it reads (blue) and what reads it (orange); click it for its numbers."
          + (shown && Object.keys(shown.rec.clusters).length ? " Click a grey cluster to open it." : "")),
        el("p", {"class": "hint"}, "Keys: + and − zoom, the arrows pan, f fits, Esc clears. Drag to pan, the wheel zooms."));
      return;
    }
    const fact = shown.rec.nodes[name];
    inspector.replaceChildren(fact.block ? blockFacts(fact) : valueFacts(name, fact));
    inspector.dataset.node = name;
  }
  function blockFacts(f) {
    const rows = el("table", {}, row("nodes", f.nodes, "nodes"),
                    row("grad norm", f.grad_norm, "grad_norm"), row("data norm", f.data_norm, "data_norm"));
    return el("div", {}, el("h2", {}, f.label), el("p", {"class": "words"}, "block " + f.scope),
              rows, f.ops ? el("p", {}, "ops: " + f.ops) : null,
              f.relu ? el("p", {}, `relu: ${f.relu[0]} of ${f.relu[1]} active`) : null,
              f.opens ? openButton(f.opens) : el("p", {"class": "hint"}, "a weight matrix: it computes nothing, so it has no view of its own"));
  }
  function valueFacts(name, f) {
    const expression = shown.rec.kind === "expression";
    const rows = el("table", {}, row("data", f.data, "data"),
                    row(expression ? "grad" : "grad (whole text)", f.grad, "grad"));
    if (!expression) { rows.append(row("from here (this scope)", f.here, "here")); }
    if (!expression && f.seed !== null && f.role === "output") {
      rows.append(row("from outside (the loss)", f.seed, "seed"));
    }
    const inputs = el("ul", {}, ...f.inputs.map(([node, label, value, local]) => el("li", {},
      node ? el("button", {onclick: () => choose(node, true)}, label) : label,
      ` = ${short(value)}; \u2202${f.name}/\u2202${label} = `,
      el("span", {"data-field": "local", "data-value": String(local)}, short(local)))));
    const parts = [el("h2", {}, f.name), el("p", {"class": "words"}, f.words.join(" \u00B7 ")), rows,
                   el("p", {}, f.op ? "op: " + f.op : "a leaf: " + (f.kind || "value"))];
    if (f.weights) {
      const w = f.weights;
      parts.push(el("p", {}, `reads ${w.count} weights of ${w.row}: \u2016w\u2016 ${short(w.norm)}, ` +
                    `\u2016grad\u2016 ${short(w.grad_norm)}, \u2016from here\u2016 ${short(w.here_norm)}`));
    }
    if (f.inputs.length) { parts.push(el("h3", {}, "inputs and local derivatives"), inputs); }
    const start = f.seed !== null && f.seed !== undefined && f.role === "output"
      ? [`${f.name}.grad starts at ${short(f.seed)} (from outside this scope)`] : [];
    if (f.terms.length || start.length) {
      parts.push(el("h3", {}, "its grad, term by term (chain rule)"),
                 el("pre", {"class": "terms"}, start.concat(f.terms).join("\n")));
    }
    if (f.scope !== shown.scope && views.has(f.scope) && !expression) { parts.push(openButton(f.scope)); }
    return el("div", {}, ...parts);
  }

  // ---- where you are, and going somewhere ----
  function crumbs(scope) {
    const nav = $("crumbs"), parts = scope ? scope.split("/") : [];
    const trail = [["", rootName]].concat(parts.map((p, i) => [parts.slice(0, i + 1).join("/"), p]));
    nav.replaceChildren();
    trail.forEach(([target, label], i) => {
      if (i) { nav.append(el("span", {"class": "sep"}, " \u203A ")); }
      const last = i === trail.length - 1;
      nav.append(el("button", last ? {"aria-current": "page"} : {onclick: () => go(target)}, label));
    });
    document.title = `explore \u00B7 ${data.title}` + (scope ? ` \u00B7 ${scope}` : "");
  }
  function hashScope() { return decodeURIComponent(location.hash.slice(1)); }
  let pendingSelect = null;
  function go(scope, select) {
    pendingSelect = select || null;
    if (hashScope() === scope) { show(scope); } else { location.hash = encodeURI(scope); }
  }
  function show(scope) {
    const select = pendingSelect;
    pendingSelect = null;
    opening = opening.then(() => open(scope, select));
    return opening;
  }
  window.addEventListener("hashchange", () => show(hashScope()));

  // ---- search: scopes and named values ----
  function matches(query) {
    const q = query.trim().toLowerCase();
    if (!q) { return []; }
    const rank = ([text, scope]) => {
      const t = text.toLowerCase();
      return t === q ? 0 : t.endsWith("/" + q) || t.startsWith(q + "[") ? 1 : t.startsWith(q) ? 2 : 3;
    };
    // ties: what is at the position on screen first, then the shorter name
    const here = shown ? shown.scope.split("/")[0] : "";
    const away = ([, scope]) => (here && scope.split("/")[0] === here ? 0 : 1);
    return data.index.filter(([text]) => text.toLowerCase().includes(q))
      .map((entry) => [rank(entry), away(entry), entry])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2][0].length - b[2][0].length)
      .slice(0, 12).map((ranked) => ranked[2]);
  }
  function pick([text, scope, node]) {
    results.hidden = true;
    search.blur();
    go(scope, node);
  }
  search.addEventListener("input", () => {
    const found = matches(search.value);
    results.replaceChildren(...found.map((entry) => el("li", {}, el("button", {onclick: () => pick(entry)},
      entry[0], entry[2] ? el("span", {"class": "where"}, "  in " + entry[1]) : null))));
    results.hidden = !found.length && !search.value.trim();
    if (!found.length && search.value.trim()) { results.replaceChildren(el("li", {}, "nothing named that")); }
  });
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { const found = matches(search.value); if (found.length) { pick(found[0]); } }
    if (e.key === "Escape") { results.hidden = true; search.blur(); }
  });

  // ---- step backward in place: the view's own stepper page, same frames and keys ----
  function closeStepper() {
    $("stepper").hidden = true;
    $("stepper-frame").removeAttribute("srcdoc");
  }
  $("step").onclick = () => {
    const frame = $("stepper-frame");
    frame.srcdoc = shown.rec.page;
    $("stepper").hidden = false;
    frame.addEventListener("load", () => frame.focus(), {once: true});
  };
  $("close-stepper").onclick = () => { closeStepper(); canvas.focus(); };

  // ---- keys: + and - zoom, arrows pan, f fits ----
  document.addEventListener("keydown", (e) => {
    if (!shown || e.target === search || !$("stepper").hidden || e.ctrlKey || e.metaKey || e.altKey) { return; }
    const step = 80, keys = {ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step]};
    if (e.key === "+" || e.key === "=") { zoomCentre(1.25); }
    else if (e.key === "-" || e.key === "_") { zoomCentre(0.8); }
    else if (e.key in keys) { pan(...keys[e.key]); }
    else if (e.key === "f") { fit(); }
    else if (e.key === "Escape") { light(null); inspect(null); }
    else { return; }
    e.preventDefault();
  });
  $("zoom-in").onclick = () => zoomCentre(1.25);
  $("zoom-out").onclick = () => zoomCentre(0.8);
  $("fit").onclick = fit;

  show(hashScope());
})();
