"use strict";
// The live page: every panel is drawn here from the metrics-log records the server
// pushes (Server-Sent Events from /events). Records are the lines of the log as
// written; a `view` event brings what the report computes over all the snapshots
// received (renderers/panels/live.py live_view): the colour scales and the embeddings
// on the newest snapshot's principal directions. Nothing else comes from the server.

const $ = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const MAX_COLUMNS = 40; // next-token columns shown, as the report (prob_columns)

const MAX_SAMPLE_RECORDS = 8; // the newest sample records listed
const NO_ATTENTION = "no attention in this run (train --no-attention)";
const NO_MLP = "no MLP in this run (train --no-mlp)";

const run = { header: null, steps: [], snapshots: [], samples: [], view: null, status: {},
  ended: false, lost: false };

// ---- records ----------------------------------------------------------------------

function clear() {
  run.header = null; run.steps = []; run.snapshots = []; run.samples = []; run.view = null;
}

function dropFrom(list, step) { // a resumed run repeats steps after its checkpoint
  while (list.length && list[list.length - 1].step >= step) list.pop();
}

function add(record) {
  if (record.type === "header") { clear(); run.header = record; return; }
  if (record.type === "step") { dropFrom(run.steps, record.step); run.steps.push(record); return; }
  if (record.type === "sample") { dropFrom(run.samples, record.step); run.samples.push(record); return; }
  if (record.type !== "snapshot") return;
  dropFrom(run.snapshots, record.step);
  run.snapshots.push(record);
}

// the view's embeddings of one snapshot: {coords, explained, low, high, basisStep}, or
// null until the view that holds its step arrives
function embeddingOf(step) {
  for (const g of (run.view ? run.view.embedding : [])) {
    const i = g.steps.indexOf(step);
    if (i >= 0) return { coords: g.coords[i], explained: g.explained[i], low: g.low, high: g.high, basisStep: g.basis_step };
  }
  return null;
}

function vocab() { return run.header ? [...run.header.chars, "BOS"] : []; }
function totalSteps() { return run.header ? run.header.train_config.steps : 0; }

// ---- drawing helpers --------------------------------------------------------------

function el(name, attrs, parent, text) {
  const node = document.createElementNS(SVGNS, name);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function g3(v) { // Python's f"{v:.3g}", as the report prints a learning rate
  if (v === 0) return "0";
  const [mantissa, exponent] = v.toExponential(2).split("e").map(Number);
  if (exponent < -4 || exponent >= 3) return `${mantissa}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
  return String(Number(v.toPrecision(3)));
}

function fmt(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
}

function ticks(lo, hi, count) {
  const span = hi - lo || 1;
  const step0 = Math.pow(10, Math.floor(Math.log10(span / count)));
  const step = [1, 2, 5, 10].map((m) => m * step0).find((s) => span / s <= count) || step0 * 10;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(+t.toFixed(12));
  return out;
}

function svgSize(svg) {
  const w = Math.max(200, svg.clientWidth || 400), h = Math.max(120, svg.clientHeight || 220);
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.replaceChildren();
  return [w, h];
}

// series: [{xs, ys, color, width, label, dash, dots}]; o: {xMax, yMin, yMax, logY, hline, xLabel}
function lineChart(svg, series, o) {
  const [w, h] = svgSize(svg);
  const labelled = series.filter((s) => s.label);
  if (o.hline && o.hline.legend) labelled.push({ color: "#636363", dash: "6 4", label: o.hline.label });
  // a legend goes to the right (legendRight) or in a strip above the plot, never over the data
  const m = { l: 52, r: o.legendRight ? 118 : 12, t: o.top ?? (labelled.length && !o.legendRight ? 24 : 10), b: 34 };
  const xs = series.flatMap((s) => s.xs), ys = series.flatMap((s) => s.ys).filter(Number.isFinite);
  if (!xs.length) {
    el("text", { x: w / 2, y: h / 2, class: "empty", "text-anchor": "middle" }, svg, o.empty || "no data yet");
    return;
  }
  const tf = o.logY ? (v) => Math.log10(Math.max(v, 1e-30)) : (v) => v;
  const good = o.logY ? ys.filter((v) => v > 0) : ys;
  let y0 = o.yMin !== undefined ? tf(o.yMin) : Math.min(...good.map(tf));
  let y1 = o.yMax !== undefined ? tf(o.yMax) : Math.max(...good.map(tf));
  if (o.logY) { y0 = Math.floor(y0); y1 = Math.ceil(y1); }
  if (y1 <= y0) y1 = y0 + 1;
  const x0 = Math.min(...xs, o.xMin ?? Infinity), x1 = Math.max(o.xMax || 0, ...xs, x0 + 1);
  if (o.frame) o.frame.X = (x) => m.l + (x - x0) / (x1 - x0) * (w - m.l - m.r);
  const X = (x) => m.l + (x - x0) / (x1 - x0) * (w - m.l - m.r);
  const Y = (y) => h - m.b - (tf(y) - y0) / (y1 - y0) * (h - m.t - m.b);
  const axis = el("g", { class: "axis" }, svg);
  const xt = o.xTicks || ticks(x0, x1, 6).map((t) => [t, fmt(t)]);
  for (const [t, label] of xt) {
    el("line", { x1: X(t), x2: X(t), y1: m.t, y2: h - m.b, class: "grid" }, axis);
    el("text", { x: X(t), y: h - m.b + 14, "text-anchor": "middle" }, axis, label);
  }
  const yt = o.logY ? ticks(y0, y1, 6).filter(Number.isInteger).map((e) => Math.pow(10, e))
    : ticks(y0, y1, 5);
  for (const t of yt) {
    el("line", { x1: m.l, x2: w - m.r, y1: Y(t), y2: Y(t), class: "grid" }, axis);
    el("text", { x: m.l - 5, y: Y(t) + 4, "text-anchor": "end" }, axis, fmt(t));
  }
  el("text", { x: (m.l + w - m.r) / 2, y: h - 4, "text-anchor": "middle" }, axis, o.xLabel || "step");
  if (o.hline) {
    el("line", { x1: m.l, x2: w - m.r, y1: Y(o.hline.y), y2: Y(o.hline.y), class: "hline" }, svg);
  }
  for (const s of series) {
    const pts = [];
    s.xs.forEach((x, i) => { const y = s.ys[i]; if (Number.isFinite(y) && (!o.logY || y > 0)) pts.push(`${X(x).toFixed(1)},${Y(y).toFixed(1)}`); });
    el("polyline", { points: pts.join(" "), fill: "none", stroke: s.color, "stroke-width": s.width || 1.5,
      "stroke-dasharray": s.dash || "none", "stroke-opacity": s.opacity || 1 }, svg);
    if (s.dots) pts.forEach((p) => { const [cx, cy] = p.split(","); el("circle", { cx, cy, r: s.r || 2.5, fill: s.color }, svg); });
  }
  if (o.hline && !o.hline.legend) { // its label over the curves, on a white halo, so a spike cannot hide it
    const left = o.hline.left; // the label at the start, where it covers no late data
    el("text", { x: left ? m.l + 4 : w - m.r - 4, y: Y(o.hline.y) - 5, "text-anchor": left ? "start" : "end",
      class: "note hline-label" }, svg, o.hline.label);
  }
  if (o.legendRight) legend(svg, labelled, w - m.r + 8, m.t + 4);
  else legendRow(svg, labelled, m.l, 4);
}

function legend(svg, series, x, y) {
  const g = el("g", { class: "legend" }, svg);
  series.forEach((s, i) => {
    const yy = y + 8 + i * 14;
    el("line", { x1: x, x2: x + 16, y1: yy, y2: yy, stroke: s.color, "stroke-width": 3,
      "stroke-dasharray": s.dash || "none" }, g);
    el("text", { x: x + 21, y: yy + 4 }, g, s.label);
  });
}

// the legend in one row above the plot area (y: the row's top)
function legendRow(svg, series, x, y) {
  const g = el("g", { class: "legend" }, svg);
  series.forEach((s) => {
    el("line", { x1: x, x2: x + 16, y1: y + 8, y2: y + 8, stroke: s.color, "stroke-width": 3,
      "stroke-dasharray": s.dash || "none" }, g);
    const text = el("text", { x: x + 21, y: y + 12 }, g, s.label);
    x += 21 + (text.getComputedTextLength() || 7 * s.label.length) + 18;
  });
}

function mix(a, b, t) {
  t = Math.min(1, Math.max(0, t));
  return `rgb(${a.map((v, i) => Math.round(v + (b[i] - v) * t)).join(",")})`;
}
const WHITE = [255, 255, 255];
const BLUE = (t) => mix([247, 251, 255], [8, 48, 107], t);
const ORANGE = (t) => mix([255, 245, 235], [166, 54, 3], t);
const DIVERGING = (t) => (t < 0 ? mix(WHITE, [33, 102, 172], -t) : mix(WHITE, [178, 24, 43], t));

// m: rows x cols numbers; o: {rows, cols (labels), color(v), mask(r, c), box(r, c), split, title}
function heatmap(canvas, m, o) {
  const rows = m.length, cols = m[0].length;
  const c = canvas.getContext("2d");
  const box = o.width || canvas.parentElement.clientWidth || 300;
  // o.maxCell: a heatmap alone in a wide box grows its cells (and its labels) to fill it
  const font = (px) => `${px}px system-ui, 'Noto Sans CJK JP', sans-serif`;
  const widest = (px, labels) => { c.font = font(px); return Math.max(8, ...labels.map((t) => c.measureText(t).width)); };
  let px = 11, left = widest(px, o.rows) + 10;
  const cellFor = (l) => Math.max(3, Math.min(o.maxCell || 22, Math.floor((box - l - 6) / cols)));
  if (o.maxCell && cellFor(left) >= 26) { px = 14; left = widest(px, o.rows) + 10; }
  const cell = cellFor(left);
  // a character stands upright (a Japanese one read sideways is hard to read); a longer
  // label (BOS) turns a quarter
  const upright = (s) => [...s].length === 1;
  const turned = (o.cols || []).filter((s) => !upright(s));
  const top = (o.title ? px + 5 : 0) + (!o.cols ? 4 : turned.length ? widest(px, turned) + 10 : px + 5);
  const cellH = Math.max(cell, px + 2); // a row keeps room for its label when columns are thin
  const W = left + cell * cols + 6, H = top + cellH * rows + 4;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = W * dpr; canvas.height = H * dpr;
  canvas.style.width = `${W}px`; canvas.style.height = `${H}px`;
  c.setTransform(dpr, 0, 0, dpr, 0, 0);
  c.font = font(px);
  c.fillStyle = "#222";
  if (o.title) c.fillText(o.title, 2, px + 1);
  c.textAlign = "right"; c.textBaseline = "middle";
  o.rows.forEach((s, r) => c.fillText(s, left - 4, top + (r + 0.5) * cellH));
  if (o.cols && cell >= 8) {
    o.cols.forEach((s, j) => {
      c.save(); c.translate(left + (j + 0.5) * cell, top - (upright(s) ? 2 : 4));
      if (upright(s)) { c.textAlign = "center"; c.textBaseline = "bottom"; } else { c.textAlign = "left"; c.rotate(-Math.PI / 2); }
      c.fillText(s, 0, 0); c.restore();
    });
  }
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      c.fillStyle = o.mask && o.mask(r, j) ? "#eee" : o.color(m[r][j]);
      c.fillRect(left + j * cell, top + r * cellH, cell, cellH);
    }
  }
  if (o.split) {
    c.strokeStyle = "#555"; c.lineWidth = 1;
    for (let j = o.split; j < cols; j += o.split) {
      c.beginPath(); c.moveTo(left + j * cell, top); c.lineTo(left + j * cell, top + rows * cellH); c.stroke();
    }
  }
  if (o.box) {
    c.strokeStyle = "#d95f02"; c.lineWidth = 2;
    for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) {
      if (o.box(r, j)) c.strokeRect(left + j * cell + 1, top + r * cellH + 1, cell - 2, cellH - 2);
    }
  }
}

function canvasIn(container, key) {
  let canvas = container.querySelector(`canvas[data-key="${key}"]`);
  if (!canvas) { canvas = document.createElement("canvas"); canvas.dataset.key = key; container.appendChild(canvas); }
  return canvas;
}

function keepCanvases(container, keys) {
  for (const c of [...container.querySelectorAll("canvas")]) if (!keys.includes(c.dataset.key)) c.remove();
}

// ---- the whole run ------------------------------------------------------------------

// renderers/panels/data.py average_window: about 1/20 of the steps, rounded as Python's
// round() does (half to even: 50 steps average 2, not 3)
function averageWindow(count) {
  const x = count / 20, r = Math.round(x);
  return Math.max(1, r - x === 0.5 && r % 2 ? r - 1 : r);
}

function movingAverage(values, window) { // renderers/panels/data.py moving_average
  const out = []; let sum = 0;
  values.forEach((v, i) => { sum += v; if (i >= window) sum -= values[i - window]; out.push(sum / Math.min(i + 1, window)); });
  return out;
}

function drawRun() {
  const steps = run.steps.map((s) => s.step), losses = run.steps.map((s) => s.loss);
  const window = averageWindow(losses.length);
  const V = vocab().length, uniform = Math.log(V || 1);
  lineChart($("loss"), [
    { xs: steps, ys: losses, color: "#9ecae1", width: 1, label: "loss per step" },
    { xs: steps, ys: movingAverage(losses, window), color: "#08519c", width: 2, label: `moving average (${window} steps)` },
  ], { xMin: 0, xMax: totalSteps(), yMin: 0, yMax: Math.max(uniform, ...losses) * 1.08,
    hline: { y: uniform, label: `uniform guess: ln(${V}) = ${uniform.toFixed(2)}` } });
  lineChart($("lr"), [{ xs: steps, ys: run.steps.map((s) => s.lr), color: "#2ca02c", width: 2 }],
    { xMin: 0, xMax: totalSteps(), yMin: 0, yMax: run.header ? run.header.train_config.lr : undefined });
  const names = run.steps.length ? Object.keys(run.steps[0].grad_norm) : [];
  lineChart($("grads"), names.map((name, i) => ({
    xs: steps, ys: movingAverage(run.steps.map((s) => s.grad_norm[name]), window),
    color: PALETTE[i % 10], width: 1.5, label: name, dash: i % 2 ? "5 3" : "none",
  })), { xMin: 0, xMax: totalSteps(), logY: true, legendRight: true });
  $("grads-caption").textContent = `Gradient norm per parameter group (moving average of ${window} steps)`;
  drawRatio(window);
  drawSamples();
}

// renderers/panels/charts.py update_ratio_figure: log10 ratio per group, its moving
// average bold, the -3 rule of thumb dotted; a step without a ratio is a gap
function ratioSeries(window) {
  const rated = run.steps.filter((s) => s.update_ratio);
  const xs = rated.map((s) => s.step), series = [], off = [];
  const names = rated.length ? Object.keys(rated[rated.length - 1].update_ratio) : [];
  names.forEach((name, i) => {
    const ys = rated.map((s) => (s.update_ratio[name] == null ? NaN : s.update_ratio[name]));
    const known = ys.filter(Number.isFinite);
    if (!known.length) { off.push(name); return; }
    const mean = known.reduce((a, b) => a + b, 0) / known.length;
    const color = PALETTE[i % 10];
    series.push({ xs, ys, color, width: 0.6, opacity: 0.35 });
    series.push({ xs, ys: movingAverage(ys.map((y) => (Number.isFinite(y) ? y : mean)), window),
      color, width: 1.8, label: name, dash: i % 2 ? "5 3" : "none" });
  });
  return { rated, series, off };
}

function drawRatio(window) {
  const { rated, series, off } = ratioSeries(window);
  const ys = series.flatMap((s) => s.ys).filter(Number.isFinite);
  lineChart($("ratio"), series, { xMin: 0, xMax: totalSteps(), legendRight: true,
    yMin: Math.floor(Math.min(-3.5, ...ys)), yMax: Math.ceil(Math.max(-2.5, ...ys)),
    hline: { y: -3, label: "-3 (a rule of thumb)", left: true }, empty: run.steps.length ?
      "this log has no update ratios (a log before version 3)" : undefined });
  $("ratio-caption").textContent = "Update-to-data ratio, log10(|lr·update| / |weights|)" +
    (rated.length ? ` (bold: moving average of ${window} steps)` : "") +
    (off.length ? ` · never moving: ${off.join(", ")}` : "");
}

function drawSamples() {
  const list = $("samples");
  if (!run.samples.length) return;
  list.replaceChildren(...run.samples.slice(-MAX_SAMPLE_RECORDS).reverse().map((r) => {
    const li = document.createElement("li");
    const head = document.createElement("span");
    head.className = "note";
    head.textContent = `step ${r.step} (temperature ${r.temperature}): `;
    li.append(head, ...r.samples.flatMap((name, i) => {
      const code = document.createElement("code"); // textContent: a name is text, never markup
      code.textContent = name === "" ? "∅" : name;
      if (name === "") code.title = "an empty name: BOS came first";
      return i ? [" ", code] : [code];
    }));
    return li;
  }));
}

// ---- one snapshot ---------------------------------------------------------------------

// the snapshots next to `s` of its text (renderers/panels/data.py text_groups): the report
// draws each such run of snapshots on one figure
function textGroup(s) {
  const list = run.snapshots, at = list.indexOf(s);
  let from = at, to = at + 1;
  while (from > 0 && list[from - 1].text === s.text) from--;
  while (to < list.length && list[to].text === s.text) to++;
  return list.slice(from, to);
}

// renderers/panels/data.py prob_columns, over the snapshots of `shown`'s text group so far
function probColumns(V, shown) {
  if (V <= MAX_COLUMNS) return [...Array(V).keys()];
  const best = new Map();
  for (const s of textGroup(shown)) s.probs.forEach((p, i) => {
    best.set(s.targets[i], 2);
    [...p.keys()].sort((a, b) => p[b] - p[a]).slice(0, 3)
      .forEach((j) => best.set(j, Math.max(best.get(j) || 0, p[j])));
  });
  return [...best.keys()].sort((a, b) => best.get(b) - best.get(a) || a - b)
    .slice(0, MAX_COLUMNS).sort((a, b) => a - b);
}

// one snapshot, on the view's scales (the report's, over the snapshots received)
function drawSnapshot(s) {
  const voc = vocab(), n = s.targets.length, inputs = s.tokens.slice(0, n), sc = run.view.scales;
  $("snapshot-title").textContent = `Snapshot text “${s.text}”`;
  const record = run.steps.find((r) => r.step === s.step);
  $("snapshot-label").textContent = `step ${s.step} · loss on “${s.text}” ${s.loss.toFixed(4)}` +
    (record ? ` · training loss ${record.loss.toFixed(4)} · lr ${g3(record.lr)}` : "");
  const att = $("attention"), keys = [];
  s.attn.forEach((layer, l) => layer.forEach((m, h) => {
    keys.push(`a${l}.${h}`);
    heatmap(canvasIn(att, `a${l}.${h}`), m, { rows: inputs, cols: inputs, color: BLUE,
      mask: (r, c) => c > r, title: `layer ${l} head ${h}`, width: 230 });
  }));
  keepCanvases(att, keys);
  absent(att, !s.attn.length && NO_ATTENTION);
  const columns = probColumns(voc.length, s);
  heatmap($("probs"), s.probs.map((p) => columns.map((j) => p[j])), {
    rows: inputs.map((t, i) => `${t} → ${s.tokens[i + 1]}`), cols: columns.map((j) => voc[j]),
    // the report's square-root colour scale (PowerNorm 0.5): a small probability still shows
    color: (v) => BLUE(Math.sqrt(v)), box: (r, c) => columns[c] === s.targets[r], maxCell: 48,
    title: columns.length < voc.length ? `${columns.length} of ${voc.length} tokens` : "" });
  drawEmbedding(s, voc);
  drawResidual(s.residual, sc);
  const heads = $("heads"), mlp = $("mlp"), hk = [], mk = [];
  s.head_out.forEach((layer, l) => {
    const rows = layer[0].map((_, t) => layer.flatMap((head) => head[t]));
    hk.push(`h${l}`);
    heatmap(canvasIn(heads, `h${l}`), rows, { rows: inputs, color: (v) => DIVERGING(v / sc.head_out),
      split: layer[0][0].length, title: `layer ${l}: heads side by side (±${fmt(sc.head_out)})` });
  });
  s.mlp.forEach((m, l) => {
    mk.push(`m${l}`);
    heatmap(canvasIn(mlp, `m${l}`), m, { rows: inputs,
      color: activation() === "ReLU" ? (v) => ORANGE(v / sc.mlp) : (v) => DIVERGING(v / sc.mlp),
      title: `layer ${l}: after ${activation()} (${activation() === "ReLU" ? "0" : `-${fmt(sc.mlp)}`} to ${fmt(sc.mlp)})` });
  });
  keepCanvases(heads, hk); keepCanvases(mlp, mk);
  absent(heads, !s.head_out.length && NO_ATTENTION);
  absent(mlp, !s.mlp.length && NO_MLP);
  drawGradFlow(s.grad_norm, sc.grad);
  drawPositionLoss(s);
  drawHists(s);
}

function activation() {
  const a = run.header && run.header.config.activation;
  return a && a !== "relu" ? a : "ReLU";
}

// a panel whose part this run switched off says so instead of staying blank
function absent(container, message) {
  let note = container.querySelector(":scope > p.absent");
  if (!message) { if (note) note.remove(); return; }
  if (!note) { note = document.createElement("p"); note.className = "absent note"; container.appendChild(note); }
  note.textContent = message;
}

function positionLabels(s) { // renderers/panels/charts.py position_labels
  const voc = vocab();
  return s.targets.map((t, i) => `${s.tokens[i]} → ${voc[t] ?? s.tokens[i + 1]}`);
}

function positionLoss(s) { return s.probs.map((p, i) => -Math.log(Math.max(p[s.targets[i]], 1e-300))); }

// renderers/panels/charts.py position_loss_figure: -ln p(target) at each position, this
// snapshot bold, the first snapshot of the same text dashed
function drawPositionLoss(s) {
  const same = run.snapshots.filter((r) => r.text === s.text && r.step <= s.step);
  const first = same[0], xs = s.targets.map((_, i) => i), V = vocab().length;
  const series = [];
  if (first && first !== s) series.push({ xs, ys: positionLoss(first), color: "#969696", width: 1.2, dash: "4 3", dots: true, label: `step ${first.step}` });
  series.push({ xs, ys: positionLoss(s), color: "#08519c", width: 2, dots: true, label: `step ${s.step}` });
  const labels = positionLabels(s);
  lineChart($("position-loss"), series, { xMin: -0.3, xMax: xs.length - 0.7, yMin: 0,
    yMax: Math.max(Math.log(V || 1), ...series.flatMap((r) => r.ys)) * 1.08,
    xTicks: labels.map((l, i) => [i, l]), xLabel: "input → target · -ln p(target)",
    hline: { y: Math.log(V || 1), label: `uniform guess: ln(${V}) = ${Math.log(V || 1).toFixed(2)}`, legend: true } });
}

// renderers/panels/charts.py histogram_figure, for this snapshot only: one small chart
// per parameter group, its bins from the group's min to its max
function drawHists(s) {
  for (const kind of ["weights", "grads"]) {
    const box = $(kind === "weights" ? "weight-hist" : "grad-hist");
    if (!s.hist) {
      box.replaceChildren();
      absent(box, "this log has no histograms (a log before version 3)");
      continue;
    }
    const groups = Object.entries(s.hist[kind]);
    box.replaceChildren(...groups.map(([name, h], i) => {
      const svg = document.createElementNS(SVGNS, "svg");
      svg.setAttribute("class", "hist");
      svg.dataset.group = name;
      const w = 200, ht = 96, m = { l: 4, r: 4, t: 14, b: 16 };
      svg.setAttribute("viewBox", `0 0 ${w} ${ht}`);
      el("text", { x: w / 2, y: 10, "text-anchor": "middle", class: "title" }, svg, name);
      const top = Math.max(1, ...h.counts), n = h.counts.length, bw = (w - m.l - m.r) / n;
      if (h.lo === h.hi) {
        el("text", { x: w / 2, y: ht / 2 + 4, "text-anchor": "middle", class: "note" }, svg,
          `all ${h.counts.reduce((a, b) => a + b, 0)} values ${fmt(h.lo)}` + (kind === "grads" && h.lo === 0 ? " (no gradient)" : ""));
        return svg;
      }
      h.counts.forEach((c, j) => {
        const bh = c / top * (ht - m.t - m.b);
        el("rect", { x: m.l + j * bw, y: ht - m.b - bh, width: Math.max(0.5, bw - 0.5), height: bh,
          fill: PALETTE[i % 10] }, svg);
      });
      el("text", { x: m.l, y: ht - 3, class: "tick" }, svg, fmt(h.lo));
      el("text", { x: w - m.r, y: ht - 3, "text-anchor": "end", class: "tick" }, svg, fmt(h.hi));
      return svg;
    }));
  }
  const step = `at step ${s.step}`;
  $("weight-hist-caption").textContent = `Weight histograms per group ${step}`;
  $("grad-hist-caption").textContent = `Gradient histograms per group ${step} (the training step's gradient)`;
}

// renderers/panels/frames.py embedding_panel: the view's coordinates, one unit as long
// on both axes, the axes' range the same at every snapshot
function drawEmbedding(s, voc) {
  const svg = $("embedding"), [w, h] = svgSize(svg), e = embeddingOf(s.step);
  const m = { l: 8, r: 8, t: 8, b: 36 }, pw = w - m.l - m.r, ph = h - m.t - m.b;
  const span = [e.high[0] - e.low[0], e.high[1] - e.low[1]];
  const k = Math.min(pw / span[0], ph / span[1]);
  const ox = m.l + (pw - span[0] * k) / 2, oy = m.t + (ph - span[1] * k) / 2;
  const X = (x) => ox + (x - e.low[0]) * k, Y = (y) => oy + (e.high[1] - y) * k;
  el("rect", { x: ox, y: oy, width: span[0] * k, height: span[1] * k, fill: "none", class: "grid" }, svg);
  if (e.low[1] < 0 && e.high[1] > 0) el("line", { x1: ox, x2: X(e.high[0]), y1: Y(0), y2: Y(0), class: "grid" }, svg);
  if (e.low[0] < 0 && e.high[0] > 0) el("line", { x1: X(0), x2: X(0), y1: oy, y2: Y(e.low[1]), class: "grid" }, svg);
  const shown = new Set(voc.length <= MAX_COLUMNS ? voc.keys() : [...s.targets, voc.length - 1]);
  const leaders = el("g", { class: "leaders" }, svg), labels = [];
  e.coords.forEach((p, i) => {
    const inText = s.targets.includes(i);
    el("circle", { cx: X(p[0]), cy: Y(p[1]), r: 3, fill: inText ? "#d95f02" : "#7570b3" }, svg);
    if (shown.has(i)) labels.push({ i, text: el("text", { class: "label" }, svg, voc[i]) });
  });
  const boxes = labels.map(({ i, text }) => {
    const width = text.getComputedTextLength() || 7, height = 12;
    return { x: X(e.coords[i][0]) + 3, y: Y(e.coords[i][1]) - 3 - height, w: width, h: height };
  });
  spreadLabels(boxes, [ox, oy, ox + span[0] * k, oy + span[1] * k]);
  labels.forEach(({ i, text }, n) => {
    const b = boxes[n], px = X(e.coords[i][0]), py = Y(e.coords[i][1]);
    text.setAttribute("x", b.x); text.setAttribute("y", b.y + b.h - 2);
    const cx = Math.max(b.x, Math.min(px, b.x + b.w)), cy = Math.max(b.y, Math.min(py, b.y + b.h));
    if (Math.hypot(cx - px, cy - py) > 12) el("line", { x1: px, y1: py, x2: cx, y2: cy }, leaders);
  });
  const held = (100 * (e.explained[0] + e.explained[1])).toFixed(0);
  const last = run.steps[run.steps.length - 1], done = last && last.step >= totalSteps();
  el("text", { x: m.l, y: h - 20, class: "note embedding-axes" }, svg, `axes: the PCs of step ${e.basisStep}, ` +
    (done ? "the last snapshot, as in the report" : "the newest snapshot (re-based as new ones land)"));
  el("text", { x: m.l, y: h - 6, class: "note embedding-variance" }, svg, `these two directions hold ${held}% of this step's variance`);
}

// renderers/panels/data.py spread_labels, in the page's pixels: each label box starts
// up and right of its point; each round, every overlapping pair moves apart along the
// axis where they overlap least, half each way; boxes stay inside the frame
function spreadLabels(boxes, [x0, y0, x1, y1], rounds = 400) {
  for (let round = 0; round < rounds; round++) {
    let moved = false;
    boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b) => {
      const dx = b.x + b.w / 2 - (a.x + a.w / 2), dy = b.y + b.h / 2 - (a.y + a.h / 2);
      const gx = Math.abs(dx) - (a.w + b.w) / 2, gy = Math.abs(dy) - (a.h + b.h) / 2;
      if (gx >= 0 || gy >= 0) return;
      moved = true;
      const axis = gx > gy ? "x" : "y", gap = Math.max(gx, gy), sign = Math.sign(axis === "x" ? dx : dy) || 1;
      a[axis] -= sign * (0.5 - gap / 2); b[axis] += sign * (0.5 - gap / 2);
    }));
    for (const b of boxes) {
      b.x = Math.max(x0, Math.min(b.x, x1 - b.w)); b.y = Math.max(y0, Math.min(b.y, y1 - b.h));
    }
    if (!moved) break;
  }
}

function residualSummary(res) { // renderers/panels/data.py residual_summary
  const column = (rows, j) => rows.map((row) => row[j]);
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { stages: res.stages,
    norm_mean: res.stages.map((_, j) => mean(column(res.norm, j))),
    norm_min: res.stages.map((_, j) => Math.min(...column(res.norm, j))),
    norm_max: res.stages.map((_, j) => Math.max(...column(res.norm, j))),
    cosine_mean: res.stages.slice(1).map((_, j) => mean(column(res.cosine, j))) };
}

// renderers/panels/frames.py residual_panel: the norm's mean, min and max per stage on the
// run's axis (0 to 1.1 times the largest norm), the mean cosine between stages
function drawResidual(res, sc) {
  const r = residualSummary(res), stages = r.stages, k = stages.length;
  const xs = stages.map((_, j) => j);
  const frame = {};
  const one = k === 1; // no block adds to the stream: a single stage has points, no line
  lineChart($("residual"), [ // the mean last, so its dot is on top when min = max
    { xs, ys: r.norm_max, color: "#969696", width: 1, dash: "4 3", dots: one },
    { xs, ys: r.norm_min, color: "#969696", width: 1, dash: "4 3", dots: one },
    { xs, ys: r.norm_mean, color: "#08519c", width: 2.5, dots: true, r: one ? 4 : 2.5 },
  ], { yMin: 0, yMax: sc.residual * 1.1, xMin: one ? -1 : -0.3, xMax: one ? 1 : k - 0.7,
    xTicks: stages.map((s, j) => [j, s]), frame, top: one ? 26 : undefined,
    xLabel: one ? "stage (dot: mean over positions; grey: min and max)"
      : "stage (solid: mean over positions; dashed: min and max)" });
  const svg = $("residual");
  if (one) {
    el("text", { x: frame.X(0), y: 14, "text-anchor": "middle", class: "note residual-note" }, svg,
      `only ${stages[0]}: no attention or MLP block adds to it, so no line`);
  }
  r.cosine_mean.forEach((c, j) => {
    el("text", { x: frame.X(j + 0.5), y: 24, "text-anchor": "middle", class: "note cosine" }, svg, `cos ${c.toFixed(2)}`);
  });
}

// renderers/panels/frames.py grad_panel: the norms on the run's log axis ([lo, hi]: the
// smallest positive and the largest norm of all snapshots)
function drawGradFlow(norms, [lo, hi]) {
  const svg = $("gradflow"), [w, h] = svgSize(svg), names = Object.keys(norms);
  const left = 110, row = Math.min(22, (h - 30) / Math.max(1, names.length));
  const l0 = Math.floor(Math.log10(lo)), l1 = Math.max(l0 + 1, Math.ceil(Math.log10(hi)));
  const X = (v) => left + (Math.log10(Math.max(v, Math.pow(10, l0))) - l0) / (l1 - l0) * (w - left - 16);
  for (let e = l0; e <= l1; e++) {
    el("line", { x1: X(10 ** e), x2: X(10 ** e), y1: 4, y2: h - 22, class: "grid" }, svg);
    el("text", { x: X(10 ** e), y: h - 8, "text-anchor": "middle", class: "tick" }, svg, fmt(10 ** e));
  }
  names.forEach((name, i) => {
    const y = 6 + i * row;
    el("rect", { x: left, y, width: Math.max(1, X(norms[name]) - left), height: row - 4, fill: PALETTE[i % 10] }, svg);
    el("text", { x: left - 6, y: y + row / 2, "text-anchor": "end", class: "tick" }, svg, name);
    if (!norms[name]) el("text", { x: left + 6, y: y + row / 2, class: "note" }, svg, "0 (no gradient reaches it)");
  });
}

// ---- the page -----------------------------------------------------------------------

let pending = false;
function schedule() {
  if (pending) return;
  pending = true;
  setTimeout(() => { pending = false; draw(); }, 150);
}

function draw() {
  const last = run.steps[run.steps.length - 1];
  $("step").textContent = last ? `step ${last.step} / ${totalSteps()} · loss ${last.loss.toFixed(4)}`
    : run.header ? `step 0 / ${totalSteps()}` : "waiting for the log…";
  if (run.header) {
    const c = run.header.config;
    $("facts").textContent = `${run.status.log || ""} · ${c.n_layer} layer(s), ${c.n_embd} wide, ` +
      `${c.n_head} heads, block ${c.block_size}, vocabulary ${c.vocab_size} · lr ${run.header.train_config.lr}, ` +
      `seed ${run.header.train_config.seed}`;
  }
  drawState();
  drawRun();
  const slider = $("snapshot"), count = run.snapshots.length;
  slider.disabled = count < 2;
  slider.max = Math.max(0, count - 1);
  if ($("follow").checked) slider.value = slider.max;
  const shown = run.snapshots[Math.min(Number(slider.value), count - 1)];
  if (shown && embeddingOf(shown.step)) drawSnapshot(shown); // else the view is on its way
}

function drawState() {
  const st = run.status, last = run.steps[run.steps.length - 1];
  const done = last && last.step >= totalSteps();
  let text = {
    training: "training", pausing: "pausing after this step…", stopping: "stopping like Ctrl-C…",
    paused: `paused after step ${st.step}`, finished: "run finished", stopped: "run stopped (checkpoint written)",
    failed: "run failed", "server stopped": "server stopped",
    following: done ? "run finished" : "following the log",
  }[st.state] || "";
  if (run.ended) text += " · the server has closed; this page keeps what it received";
  else if (run.lost) text += " · lost the server: retrying (this page keeps what it received)";
  $("state").textContent = text;
  $("state").className = `state ${run.lost || run.ended ? "gone" : st.state || ""}`;
  const live = st.controls && !run.ended && !run.lost && !["finished", "stopped", "failed"].includes(st.state);
  $("controls").hidden = !live;
  $("pause").textContent = st.state === "paused" || st.state === "pausing" ? "Resume" : "Pause";
  $("explore").hidden = st.state !== "paused";
  if (st.state !== "paused") $("explorer").hidden = true;
}

async function control(action) {
  // the new state arrives on the event stream (a reply could overtake it and go stale)
  const r = await fetch(`/${action}`, { method: "POST", headers: { "X-Microgpt-Trace": "live" } });
  if (!r.ok) $("state").textContent = await r.text();
}

async function explore() {
  $("explorer").hidden = false;
  $("explore-open").hidden = true;
  $("explore-view").replaceChildren();
  $("explore-note").textContent = "tracing the snapshot text and laying out every view " +
    "(for a name of 5 letters, about half a minute)…";
  const r = await fetch("/explore");
  if (!r.ok) { $("explore-note").textContent = await r.text(); return; }
  const url = URL.createObjectURL(await r.blob());
  const frame = Object.assign(document.createElement("iframe"), { src: url, title: "explorer" });
  $("explore-view").replaceChildren(frame);
  Object.assign($("explore-open"), { href: url, hidden: false });
  $("explore-note").textContent = `the snapshot text at the weights after step ${run.status.step}: ` +
    "values and the grads of its loss, blocks down to ops (what `microgpt-trace explore` draws)";
}

$("pause").addEventListener("click", () => control($("pause").textContent === "Pause" ? "pause" : "resume"));
$("stop").addEventListener("click", () => control("stop"));
$("explore").addEventListener("click", explore);
$("snapshot").addEventListener("input", () => { $("follow").checked = Number($("snapshot").value) === run.snapshots.length - 1; draw(); });
$("follow").addEventListener("change", draw);
window.addEventListener("resize", schedule);

// the sticky bar and snapshot slider: their real heights (the bar wraps on a narrow
// window) place the slider under the bar and keep a panel scrolled into view below both
function stickyHeights() {
  const root = document.documentElement.style;
  root.setProperty("--bar-h", `${document.querySelector("header.bar").offsetHeight}px`);
  root.setProperty("--slider-h", `${document.querySelector(".slider").offsetHeight}px`);
}
stickyHeights();
if (window.ResizeObserver) {
  const watch = new ResizeObserver(stickyHeights);
  watch.observe(document.querySelector("header.bar"));
  watch.observe(document.querySelector(".slider"));
}

const source = new EventSource("/events");
source.addEventListener("record", (e) => {
  let record;
  try { record = JSON.parse(e.data); } catch (err) { return; } // a damaged line: the report skips it too
  add(record); schedule();
});
source.addEventListener("view", (e) => { run.view = JSON.parse(e.data); schedule(); });
source.addEventListener("reset", () => { clear(); schedule(); });
source.addEventListener("status", (e) => { run.status = JSON.parse(e.data); run.lost = false; schedule(); });
source.addEventListener("end", (e) => { run.status = JSON.parse(e.data); run.ended = true; source.close(); schedule(); });
source.addEventListener("error", () => { if (!run.ended) { run.lost = true; schedule(); } });
source.addEventListener("open", () => { run.lost = false; schedule(); });
