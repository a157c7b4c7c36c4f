// The live page's only script. A page opened from disk may not fetch, so the run's data comes
// as scripts beside the page: live.js (rnntraceLive.index: every epoch's numbers) is loaded
// again every second until the run has ended; live/epoch-NNNN.js (rnntraceLive.epoch: one
// epoch's look inside the layer) is loaded once, when shown. Text from data is set with
// textContent, never parsed as HTML.
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const POLL_MS = 1000;
  const STALE_MIN_S = 30;  // silence longer than this (and 5 epochs' time) is worth a word
  const COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];

  let index = null;
  let seen = -1;  // epochs in the last index, to notice new ones
  let lastNews = Date.now();
  let follow = true;  // the slider follows the latest epoch while it is at its right end
  const snapshots = {};
  const asked = {};
  const slider = document.getElementById("epoch-slider");

  function byId(id) { return document.getElementById(id); }

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svgEl(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function fmt(v, digits) {
    if (v === null || v === undefined) return "–";
    const d = digits === undefined ? 3 : digits;
    if (v !== 0 && (Math.abs(v) < Math.pow(10, -d) || Math.abs(v) >= 1e5)) return v.toExponential(2);
    return v.toFixed(d);
  }

  function load(src) {
    const s = document.createElement("script");
    s.src = src;
    s.onload = s.onerror = function () { s.remove(); };
    document.head.appendChild(s);
  }

  function epochFile(epoch) {
    return "live/epoch-" + String(epoch).padStart(4, "0") + ".js";
  }

  // ── Charts: plain SVG lines, drawn again whole when the data changes.
  function lineChart(svg, series, opts) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const W = 320, H = 180, L = 48, R = 8, T = 10, B = 26;
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    const points = [];
    series.forEach(function (s) {
      s.points.forEach(function (p) { if (p[1] !== null && isFinite(p[1])) points.push(p); });
    });
    if (points.length === 0) {
      svg.appendChild(svgEl("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no data yet"));
      return;
    }
    let ys = points.map(function (p) { return p[1]; });
    const positive = ys.filter(function (v) { return v > 0; });
    const log = opts.log === true && positive.length === ys.length &&
      Math.max.apply(null, ys) / Math.min.apply(null, ys) > 100;
    const ty = log ? function (v) { return Math.log10(v); } : function (v) { return v; };
    ys = ys.map(ty);
    const xs = points.map(function (p) { return p[0]; });
    let y0 = opts.min !== undefined && !log ? Math.min(opts.min, Math.min.apply(null, ys)) : Math.min.apply(null, ys);
    let y1 = opts.max !== undefined && !log ? Math.max(opts.max, Math.max.apply(null, ys)) : Math.max.apply(null, ys);
    if (y1 - y0 < 1e-12) { y1 += 0.5; y0 -= 0.5; }
    const x0 = Math.min.apply(null, xs), x1 = Math.max(Math.max.apply(null, xs), x0 + 1);
    const sx = function (x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
    const sy = function (y) { return T + (1 - (y - y0) / (y1 - y0)) * (H - T - B); };
    svg.appendChild(svgEl("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#888" }));
    svg.appendChild(svgEl("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#888" }));
    [y0, (y0 + y1) / 2, y1].forEach(function (v) {
      const shown = log ? Math.pow(10, v) : v;
      svg.appendChild(svgEl("text", { x: L - 4, y: sy(v) + 3, "text-anchor": "end" }, fmt(shown, opts.digits)));
    });
    svg.appendChild(svgEl("text", { x: L, y: H - 8, "text-anchor": "start" }, String(x0)));
    svg.appendChild(svgEl("text", { x: W - R, y: H - 8, "text-anchor": "end" }, String(x1)));
    svg.appendChild(svgEl("text", { x: (L + W) / 2, y: H - 8, "text-anchor": "middle" },
      opts.xLabel + (log ? " (log scale)" : "")));
    series.forEach(function (s, i) {
      const d = [];
      s.points.forEach(function (p) {
        if (p[1] === null || !isFinite(p[1]) || (log && p[1] <= 0)) return;
        d.push((d.length ? "L" : "M") + sx(p[0]).toFixed(1) + "," + sy(ty(p[1])).toFixed(1));
      });
      if (d.length === 0) return;
      const color = s.color || COLORS[i % COLORS.length];
      const path = svgEl("path", { d: d.join(" "), fill: "none", stroke: color, "stroke-width": 2 });
      if (s.dashed) path.setAttribute("stroke-dasharray", "5 3");
      path.setAttribute("data-series", s.name);
      svg.appendChild(path);
      if (d.length === 1) {
        const p = s.points.filter(function (q) { return q[1] !== null && isFinite(q[1]); })[0];
        svg.appendChild(svgEl("circle", { cx: sx(p[0]), cy: sy(ty(p[1])), r: 3, fill: color }));
      }
    });
  }

  function drawCurves(rows) {
    const xy = function (key) { return rows.map(function (r) { return [r.epoch, r[key]]; }); };
    lineChart(byId("chart-loss"), [
      { name: "loss", points: xy("loss") },
      { name: "held-out loss", points: xy("val_loss"), dashed: true },
    ], { xLabel: "epoch" });
    lineChart(byId("chart-accuracy"), [
      { name: "accuracy", points: xy("accuracy") },
      { name: "held-out accuracy", points: xy("val_accuracy"), dashed: true },
    ], { xLabel: "epoch", min: 0, max: 1, digits: 2 });
    lineChart(byId("chart-grad"), [{ name: "grad norm", points: xy("grad_norm") }], { xLabel: "epoch" });
    lineChart(byId("chart-lr"), [{ name: "lr", points: xy("lr"), color: "#009E73" }],
      { xLabel: "epoch", digits: 4 });
  }

  function drawTable(rows) {
    const body = byId("epochs-table").querySelector("tbody");
    while (body.firstChild) body.removeChild(body.firstChild);
    rows.forEach(function (r) {
      const tr = el("tr");
      const cells = [String(r.epoch) + (r.phase !== "training" ? " (" + r.phase + ")" : ""),
        fmt(r.loss), fmt(r.accuracy, 2), fmt(r.val_loss), fmt(r.val_accuracy, 2),
        fmt(r.grad_norm), fmt(r.lr, 5), fmt(r.train_seconds, 2)];
      cells.forEach(function (c) { tr.appendChild(el("td", c)); });
      tr.appendChild(el("td", r.observation, "text"));
      body.appendChild(tr);
    });
  }

  // ── Inside the layer, for the epoch the slider names.
  function color(v, top) {
    // Diverging: blue (negative) through white to red (positive), as the report's heatmap.
    const a = Math.max(-1, Math.min(1, v / top));
    const mix = function (c) { return Math.round(255 + (c - 255) * Math.abs(a)); };
    return a >= 0 ? "rgb(" + mix(178) + "," + mix(24) + "," + mix(43) + ")"
      : "rgb(" + mix(33) + "," + mix(102) + "," + mix(172) + ")";
  }

  function drawHeatmap(snap) {
    const svg = byId("heatmap");
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const names = index.unit_names;
    const rows = snap.units.length, cols = snap.steps.length;
    const cw = Math.max(3, Math.min(36, 860 / Math.max(cols, 1)));
    const ch = Math.max(5, Math.min(20, 360 / Math.max(rows, 1)));
    const L = rows <= 32 ? 56 : 8, T = 6, B = 22;
    const W = L + cw * cols + 8, H = T + ch * rows + B;
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.setAttribute("width", W);
    svg.setAttribute("height", H);
    let top = 1;
    snap.hidden.forEach(function (row) {
      row.forEach(function (v) { if (v !== null && Math.abs(v) > top) top = Math.abs(v); });
    });
    const g = svgEl("g", {});
    for (let t = 0; t < cols; t++) {
      for (let u = 0; u < rows; u++) {
        const raw = snap.hidden[t][u];
        const v = raw === null || !isFinite(raw) ? null : raw;
        const rect = svgEl("rect", {
          x: (L + t * cw).toFixed(1), y: (T + u * ch).toFixed(1), width: cw.toFixed(1), height: ch.toFixed(1),
          fill: v === null ? "#ccc" : color(v, top), "data-v": v === null ? "" : String(v),
        });
        rect.appendChild(svgEl("title", {}, (names[snap.units[u]] || "h") + " after step " + snap.steps[t] + ": " + fmt(v)));
        g.appendChild(rect);
      }
    }
    svg.appendChild(g);
    if (rows <= 32) {
      for (let u = 0; u < rows; u++) {
        svg.appendChild(svgEl("text", { x: L - 4, y: T + u * ch + ch / 2 + 3, "text-anchor": "end" }, names[snap.units[u]] || ""));
      }
    }
    const every = Math.max(1, Math.ceil(cols / 20));
    for (let t = 0; t < cols; t += every) {
      svg.appendChild(svgEl("text", { x: L + t * cw + cw / 2, y: H - 8, "text-anchor": "middle" }, String(snap.steps[t])));
    }
    svg.setAttribute("data-epoch", String(snap.epoch));
    const thinned = [];
    if (snap.steps.length < index.sequence.length) thinned.push("every " + (snap.steps[1] - snap.steps[0]) + "th step of " + index.sequence.length);
    if (snap.units.length < names.length) thinned.push("the first " + snap.units.length + " of " + names.length + " units");
    byId("heatmap-caption").textContent = "The top layer's h_t of the traced sequence after each step, after epoch " +
      snap.epoch + ": red positive, blue negative (scale ±" + fmt(top, 2) + ")" +
      (thinned.length ? "; showing " + thinned.join(" and ") : "") + ".";
  }

  function drawInside(snap) {
    byId("epoch-shown").textContent = String(snap.epoch);
    const classes = index.class_names;
    const seq = index.sequence;
    let best = 0;
    snap.probabilities.forEach(function (p, i) { if (p > snap.probabilities[best]) best = i; });
    byId("sequence").textContent = "Sequence " + seq.id + " (" + seq.length + " steps, true class " +
      classes[seq.true_class] + "): after epoch " + snap.epoch + " the model says " + classes[best] +
      " with probability " + fmt(snap.probabilities[best], 2) +
      (best === seq.true_class ? " ✓" : " ✗ (P(" + classes[seq.true_class] + ") = " +
        fmt(snap.probabilities[seq.true_class], 2) + ")") + ".";
    drawHeatmap(snap);
    const steps = snap.grad_norm.length ? snap.grad_norm[0].map(function (_, t) { return t; }) : [];
    const stepOf = function (t) { return snap.series_steps[t]; };
    const dirs = snap.grad_norm.length > 1 ? ["forward", "backward"] : ["‖∂loss/∂h_t‖"];
    lineChart(byId("chart-gradient"), snap.grad_norm.map(function (row, d) {
      return { name: dirs[d], points: steps.map(function (t) { return [stepOf(t), row[t]]; }), dashed: d === 1 };
    }), { xLabel: "step", log: true });
    byId("gradient-caption").textContent = "‖∂loss/∂h_t‖ over " + snap.sequences +
      " held-out sequences after epoch " + snap.epoch + (dirs.length > 1 ? " (dashed: backward direction)" : "") +
      ": how much of the loss reaches each step. Falling towards step 1 is the vanishing gradient.";
    const sat = [{ name: "h", points: snap.saturated.map(function (v, t) { return [stepOf(t), v]; }), color: "#333" }];
    const legend = ["h: " + index.measure + " (grey)"];
    Object.keys(snap.gates).forEach(function (g, i) {
      sat.push({ name: g, points: snap.gates[g].map(function (v, t) { return [stepOf(t), v]; }), color: COLORS[i % COLORS.length] });
      legend.push(g + " (" + (index.gates[g] || g) + ") " + ["blue", "orange", "green", "pink"][i % 4]);
    });
    lineChart(byId("chart-saturation"), sat, { xLabel: "step", min: 0, max: 1, digits: 2 });
    byId("saturation-caption").textContent = "Share of values pinned at their limit per step after epoch " +
      snap.epoch + ": " + legend.join("; ") + (Object.keys(snap.gates).length ? ". A gate pinned near 0 or 1 passes no gradient through it." : ".");
  }

  function show(epoch) {
    if (snapshots[epoch]) { drawInside(snapshots[epoch]); return; }
    if (!asked[epoch]) { asked[epoch] = true; load(epochFile(epoch)); }
  }

  // The slider steps through the epochs that have a snapshot (normally every epoch).
  function shownEpoch() { return index ? index.snapshots[+slider.value] : undefined; }

  slider.addEventListener("input", function () {
    follow = +slider.value === +slider.max;
    show(shownEpoch());
  });

  function checkStale() {
    const note = byId("stale");
    if (!index || index.status !== "training") { note.hidden = true; return; }
    const rows = index.epochs;
    const mean = rows.length ? rows.reduce(function (s, r) { return s + (r.train_seconds || 0); }, 0) / rows.length : 0;
    const quiet = (Date.now() - lastNews) / 1000;
    if (quiet > Math.max(STALE_MIN_S, 5 * mean)) {
      note.hidden = false;
      note.textContent = "No epoch has ended for " + Math.round(quiet) + " s: the training process may have stopped. " +
        "The page shows every epoch that finished.";
    } else {
      note.hidden = true;
    }
  }

  let timer = null;

  window.rnntraceLive = {
    index: function (data) {
      index = data;
      const rows = data.epochs;
      if (rows.length !== seen) { seen = rows.length; lastNews = Date.now(); }
      const last = rows.length ? rows[rows.length - 1] : null;
      const status = byId("status");
      const word = { training: "training", finished: "finished", stopped: "stopped" }[data.status] || data.status;
      status.dataset.epoch = last ? String(last.epoch) : "0";
      status.dataset.status = data.status;
      status.textContent = last
        ? "Epoch " + last.epoch + " of " + data.planned + " · " + word +
          (data.stop_reason ? " (" + data.stop_reason + ")" : "") +
          " · loss " + fmt(last.loss) + (last.val_accuracy !== null ? ", held-out accuracy " + fmt(last.val_accuracy, 2) : "")
        : (data.status === "training" ? "Waiting for the first epoch to end…" : "No epoch ended · " + word);
      byId("observation").textContent = last ? "Epoch " + last.epoch + ": " + last.observation : "";
      drawCurves(rows);
      drawTable(rows);
      const note = byId("inside-note");
      note.hidden = data.snapshots.length >= rows.length;
      note.textContent = "Looked inside after " + data.snapshots.length + " of " + rows.length +
        " epochs: these epochs are so quick that looking after every one would cost more than " +
        Math.round(data.budget * 100) + " % of the training time.";
      if (data.snapshots.length) {
        slider.disabled = false;
        slider.min = "0";
        slider.max = String(data.snapshots.length - 1);
        if (follow) slider.value = slider.max;
        show(shownEpoch());
      }
      if (data.status !== "training") {
        if (timer !== null) { clearInterval(timer); timer = null; }
        if (data.report) {
          const p = byId("report");
          while (p.firstChild) p.removeChild(p.firstChild);
          p.appendChild(document.createTextNode("Training has ended. The whole trace: "));
          const a = el("a", data.report);
          a.href = data.report;
          p.appendChild(a);
          p.hidden = false;
        }
      }
      checkStale();
    },
    epoch: function (snap) {
      snapshots[snap.epoch] = snap;
      if (shownEpoch() === snap.epoch) drawInside(snap);
    },
  };

  function poll() {
    load("live.js?v=" + Date.now());  // a new address each time, so no cached copy is reused
    checkStale();
  }

  poll();
  timer = setInterval(poll, POLL_MS);
})();
