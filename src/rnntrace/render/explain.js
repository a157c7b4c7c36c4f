// The explain section: pick a sequence (traced or a hard case), choose a cell of its hidden-state
// grid, see that unit's equation term by term. Text from data is set with textContent only.
(function () {
  "use strict";
  const island = document.getElementById("trace-data");
  const grid = document.getElementById("unit-grid");
  if (!island || !grid) return;
  const data = JSON.parse(island.textContent).explain;
  if (!data || data.cases.length === 0) return;
  const panel = document.getElementById("unit-terms");
  let current = 0;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function fmt(v, digits) {
    return v === null || v === undefined ? "–" : v.toFixed(digits === undefined ? 4 : digits);
  }

  function shade(node, v, top) {
    const share = v === null ? 0 : Math.max(-1, Math.min(1, v / top));
    node.style.background = share >= 0
      ? "rgba(214, 39, 40, " + (0.85 * share).toFixed(3) + ")"
      : "rgba(31, 119, 180, " + (-0.85 * share).toFixed(3) + ")";
    if (Math.abs(share) > 0.6) node.style.color = "#fff";
  }

  function buildGrid() {
    const c = data.cases[current];
    grid.replaceChildren();
    let top = 1;
    c.hidden.forEach(function (row) {
      row.forEach(function (v) { if (v !== null) top = Math.max(top, Math.abs(v)); });
    });
    const head = el("tr");
    head.appendChild(el("th", "", "unit \\ step"));
    c.hidden.forEach(function (_, t) {
      const th = el("th", "", String(t + 1));
      th.scope = "col";
      head.appendChild(th);
    });
    const thead = el("thead");
    thead.appendChild(head);
    grid.appendChild(thead);
    const body = el("tbody");
    data.units.forEach(function (name, u) {
      const tr = el("tr");
      const th = el("th", "", name);
      th.scope = "row";
      tr.appendChild(th);
      c.hidden.forEach(function (row, t) {
        const v = row[u];
        const td = el("td", "unit-cell", fmt(v, 2));
        td.tabIndex = 0;
        td.setAttribute("role", "button");
        td.setAttribute("aria-label", name + " at step " + (t + 1) + ": " + fmt(v, 3));
        td.dataset.unit = String(u);
        td.dataset.t = String(t + 1);
        shade(td, v, top);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    grid.appendChild(body);
  }

  function row(table, cells, header) {
    const tr = el("tr");
    cells.forEach(function (text, i) {
      const cell = el(header ? "th" : (i === 0 ? "th" : "td"), i === 0 ? "text" : "", text);
      if (header) cell.scope = "col";
      else if (i === 0) cell.scope = "row";
      tr.appendChild(cell);
    });
    table.appendChild(tr);
    return tr;
  }

  function showTerms(u, t) {
    const c = data.cases[current];
    const name = data.units[u];
    panel.replaceChildren();
    panel.appendChild(el("h4", "", name + " at step " + t + " of sequence " + c.id));
    const step = c.terms[t - 1];
    if (!step) {
      panel.appendChild(el("p", "", "h_t = " + fmt(c.hidden[t - 1][u]) + ". This page leaves " +
        "out this sequence's per-unit terms to stay small; explain.json in the run holds them."));
      return;
    }
    const table = el("table", "numbers terms");
    row(table, ["gate", "from x_t", "from h_(t−1)", "bias", "pre-activation", "value"], true);
    Object.keys(step.gates).forEach(function (gate) {
      const g = step.gates[gate];
      const tr = row(table, [gate, fmt(g.from_x[u]), fmt(g.from_h[u]), fmt(g.bias[u]),
        fmt(g.pre[u]), fmt(g.value[u])], false);
      tr.dataset.gate = gate;
    });
    panel.appendChild(table);
    const h = el("p", "unit-h", "h_t = " + fmt(step.h[u]));
    h.dataset.value = String(step.h[u]);
    panel.appendChild(h);
    const half = data.units.length / (data.grad_norm.length || 1);
    const direction = Math.floor(u / half);
    const norms = data.grad_norm[direction];
    if (c.traced && norms && norms[t - 1] !== undefined && norms[t - 1] !== null) {
      panel.appendChild(el("p", "unit-grad", "Gradient reaching step " + t + ": ‖∂loss/∂h_t‖ = " +
        norms[t - 1].toExponential(2) + " (mean over held-out sequences" +
        (data.grad_norm.length > 1 ? (direction ? ", backward" : ", forward") : "") + ")"));
    }
  }

  function choose(cell) {
    grid.querySelectorAll(".unit-cell.on").forEach(function (on) {
      on.classList.remove("on");
      on.setAttribute("aria-pressed", "false");
    });
    cell.classList.add("on");
    cell.setAttribute("aria-pressed", "true");
    const u = Number(cell.dataset.unit);
    const t = Number(cell.dataset.t);
    if (data.cases[current].traced) {
      document.dispatchEvent(new CustomEvent("rnntrace:step", { detail: t }));
    }
    showTerms(u, t);
  }

  grid.addEventListener("click", function (event) {
    const cell = event.target.closest(".unit-cell");
    if (cell) choose(cell);
  });
  grid.addEventListener("keydown", function (event) {
    const cell = event.target.closest(".unit-cell");
    if (cell && (event.key === "Enter" || event.key === " ")) {
      choose(cell);
      event.preventDefault();
    }
  });

  document.querySelectorAll(".explain-pick").forEach(function (button) {
    button.addEventListener("click", function () {
      current = Number(button.dataset.case);
      document.querySelectorAll(".explain-pick").forEach(function (b) {
        b.setAttribute("aria-pressed", b === button ? "true" : "false");
      });
      document.querySelectorAll(".explain-case").forEach(function (box) {
        box.hidden = box.dataset.case !== button.dataset.case;
      });
      buildGrid();
      panel.replaceChildren(el("p", "", "No cell chosen yet."));
    });
  });
  buildGrid();
})();
