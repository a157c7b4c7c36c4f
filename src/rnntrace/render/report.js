// The report's only script: the quiz's feedback and the step-through explainer.
// Text from data is set with textContent, never parsed as HTML.
(function () {
  "use strict";

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function fmt(v) {
    return v === null || v === undefined ? "–" : v.toFixed(3);
  }

  // ── Quiz: clicking an option marks it in words as well as colour and shows the solution.
  document.querySelectorAll(".question").forEach(function (question) {
    const options = question.querySelectorAll(".option");
    const feedback = question.querySelector(".feedback");
    options.forEach(function (option) {
      option.addEventListener("click", function () {
        options.forEach(function (o) {
          o.classList.remove("correct", "wrong");
          o.querySelector(".verdict").textContent = "";
          o.setAttribute("aria-pressed", "false");
        });
        const right = option.dataset.correct === "yes";
        option.setAttribute("aria-pressed", "true");
        options.forEach(function (o) {
          if (o.dataset.correct === "yes") {
            o.classList.add("correct");
            o.querySelector(".verdict").textContent = "✓ correct answer";
          }
        });
        if (!right) {
          option.classList.add("wrong");
          option.querySelector(".verdict").textContent = "✗ your answer";
        }
        feedback.textContent = right
          ? "✓ Correct."
          : "✗ Not quite: the correct answer is marked. Read the solution below.";
        feedback.className = "feedback " + (right ? "good" : "bad");
        const solution = question.querySelector(".solution");
        if (solution) solution.open = true;
      });
    });
  });

  // ── Long epoch tables: each folded run shows one line that opens it (without JavaScript
  // every row stays in view and the lines stay hidden).
  document.querySelectorAll("tr.fold-line").forEach(function (line) {
    const fold = line.dataset.fold;
    const rows = document.querySelectorAll('tr.folded[data-fold="' + fold + '"]');
    const button = line.querySelector("button");
    const text = button.textContent.slice(2);
    const set = function (open) {
      rows.forEach(function (r) { r.hidden = !open; });
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.textContent = (open ? "▾ " : "▸ ") + text;
    };
    button.addEventListener("click", function () {
      set(button.getAttribute("aria-expanded") !== "true");
    });
    line.hidden = false;
    set(false);
  });

  // ── Quiz, one question at a time (all of them without JavaScript, or on "show all").
  const questions = Array.from(document.querySelectorAll(".question"));
  const quizNav = document.getElementById("quiz-nav");
  if (quizNav && questions.length > 1) {
    let at = 0;
    let all = false;
    const allButton = document.getElementById("quiz-all");
    const showQuestion = function (i) {
      at = Math.max(0, Math.min(questions.length - 1, i));
      questions.forEach(function (q, k) { q.hidden = !all && k !== at; });
      document.getElementById("quiz-at").textContent = all
        ? "All " + questions.length + " questions"
        : "Question " + (at + 1) + " of " + questions.length;
      allButton.setAttribute("aria-pressed", all ? "true" : "false");
      allButton.textContent = all ? "one at a time" : "show all " + questions.length;
    };
    document.getElementById("quiz-prev").addEventListener("click", function () {
      all = false;
      showQuestion(at - 1);
    });
    document.getElementById("quiz-next").addEventListener("click", function () {
      all = false;
      showQuestion(at + 1);
    });
    allButton.addEventListener("click", function () {
      all = !all;
      showQuestion(at);
    });
    quizNav.hidden = false;
    showQuestion(0);
  }

  // ── The faded step: each blank is checked against the step record's value, in the page.
  document.querySelectorAll(".blank").forEach(function (blank) {
    const input = blank.querySelector("input");
    const feedback = blank.querySelector(".feedback");
    function check() {
      const typed = Number(input.value.trim().replace("\u2212", "-"));
      const value = Number(blank.dataset.value);
      if (input.value.trim() === "" || Number.isNaN(typed)) {
        feedback.textContent = "Type a number, e.g. 0.42.";
        feedback.className = "feedback bad";
        return;
      }
      const right = Math.abs(typed - value) <= Number(blank.dataset.tolerance);
      feedback.textContent = (right ? "\u2713 Right: " : "\u2717 Not quite: it is ") +
        value.toFixed(4);
      feedback.className = "feedback " + (right ? "good" : "bad");
    }
    blank.querySelector(".check-blank").addEventListener("click", check);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") check();
    });
  });

  // ── Step-through explainer
  const island = document.getElementById("trace-data");
  const slider = document.getElementById("step-slider");
  if (!island || !slider) return;
  const data = JSON.parse(island.textContent);
  const T = data.hidden.length;
  if (T === 0) return;
  const width = data.hidden[0].length;
  const half = data.bidirectional ? width / 2 : width;
  let top = 1;
  data.hidden.forEach(function (row) {
    row.forEach(function (v) { if (v !== null) top = Math.max(top, Math.abs(v)); });
  });

  function cells(target, values, names) {
    target.replaceChildren();
    values.forEach(function (v, i) {
      const c = el("span", "cell");
      const share = v === null ? 0 : Math.max(-1, Math.min(1, v / top));
      // red for positive, blue for negative, as in the heatmap; the number is always printed
      c.style.background = share >= 0
        ? "rgba(214, 39, 40, " + (0.85 * share).toFixed(3) + ")"
        : "rgba(31, 119, 180, " + (-0.85 * share).toFixed(3) + ")";
      if (Math.abs(share) > 0.6) c.style.color = "#fff";
      c.appendChild(el("span", "unit", names ? names[i] : "#" + (i + 1)));
      c.appendChild(el("span", "val", fmt(v)));
      c.dataset.value = v === null ? "" : String(v);
      c.title = (names ? names[i] : "#" + (i + 1)) + " = " + fmt(v);
      target.appendChild(c);
    });
  }

  function previous(t) {
    // Forward units read h_(t−1) (zeros before step 1); backward units read h_(t+1) (zeros
    // after step T), because the backward direction reads the sequence from its end.
    const zeros = new Array(half).fill(0);
    const fwd = t > 1 ? data.hidden[t - 2].slice(0, half) : zeros;
    if (!data.bidirectional) return fwd;
    const bwd = t < T ? data.hidden[t].slice(half) : zeros;
    return fwd.concat(bwd);
  }

  function inputTable(t) {
    const table = document.getElementById("step-x");
    table.replaceChildren();
    if (data.tokens && data.tokens.length) {
      // Text: step t reads one token; the layer sees that id's embedding vector (x_t below).
      const row = el("tr");
      const th = el("th", "text", "token read at step " + t);
      th.scope = "row";
      row.appendChild(th);
      row.appendChild(el("td", "text", data.tokens[t - 1]));
      row.appendChild(el("td", "", "id " + data.inputs[t - 1][0]));
      const body = el("tbody");
      body.appendChild(row);
      table.appendChild(body);
      return;
    }
    const head = el("tr");
    ["feature", "raw", "standardised"].forEach(function (h) {
      const th = el("th", h === "feature" ? "text" : "", h);
      th.scope = "col";
      head.appendChild(th);
    });
    const thead = el("thead");
    thead.appendChild(head);
    table.appendChild(thead);
    const body = el("tbody");
    data.feature_names.forEach(function (name, i) {
      const raw = data.inputs[t - 1][i];
      const mean = data.feature_mean[i];
      const std = data.feature_std[i];
      const z = raw === null || mean === undefined || std === undefined || mean === null || std === null
        ? null : (raw - mean) / (std > 0 ? std : 1);
      const tr = el("tr");
      const th = el("th", "text", name);
      th.scope = "row";
      tr.appendChild(th);
      tr.appendChild(el("td", "", fmt(raw)));
      tr.appendChild(el("td", "", fmt(z)));
      body.appendChild(tr);
    });
    table.appendChild(body);
  }

  function equation(t) {
    const box = document.getElementById("step-eq");
    box.replaceChildren();
    const steps = data.steps.filter(function (s) { return s.t === t; });
    if (steps.length === 0) {
      box.appendChild(el("p", "", "This run's trace has no per-step recomputation; the equation " +
        "above applies, with x_t and h_(t−1) as shown here."));
      return;
    }
    steps.forEach(function (s) {
      // Name the layer whenever the hidden state shown below may belong to another one.
      if (steps.length > 1 || data.num_layers > 1 || data.bidirectional) {
        box.appendChild(el("h4", "", "layer " + s.layer + ", " + s.direction));
      }
      // One block per line: a line too long for the panel wraps under its own start.
      const pre = el("pre", "equation lines");
      s.equation.forEach(function (line) { pre.appendChild(el("span", "eqline", line)); });
      box.appendChild(pre);
      const gates = el("div", "gates");
      Object.keys(s.gates).forEach(function (name) {
        gates.appendChild(el("h4", "", "gate " + name));
        const row = el("div", "cells");
        cells(row, s.gates[name], null);
        gates.appendChild(row);
      });
      if (s.c_prev && s.c) {
        [["cell state c_(t−1)", s.c_prev], ["cell state c_t", s.c]].forEach(function (pair) {
          gates.appendChild(el("h4", "", pair[0]));
          const row = el("div", "cells");
          cells(row, pair[1], null);
          gates.appendChild(row);
        });
      }
      if (gates.childElementCount) box.appendChild(gates);
    });
  }

  function show(t) {
    t = Math.max(1, Math.min(T, t));
    slider.value = String(t);
    document.getElementById("step-t").textContent = "t = " + t + " of " + T +
      (data.tokens && data.tokens.length ? ", reading “" + data.tokens[t - 1] + "”" : "");
    inputTable(t);
    cells(document.getElementById("step-hprev"), previous(t), data.units);
    document.getElementById("step-hprev-h").textContent = data.bidirectional
      ? "Previous hidden states: h_(t−1) forward, h_(t+1) backward"
      : "Previous hidden state h_(t−1)" + (t === 1 ? " = h_0, all zeros" : "");
    equation(t);
    cells(document.getElementById("step-h"), data.hidden[t - 1], data.units);
    document.querySelectorAll(".plot-heatmap .hm-col").forEach(function (col) {
      col.classList.toggle("on", col.dataset.t === String(t));
    });
  }

  slider.addEventListener("input", function () { show(Number(slider.value)); });
  // The explain section's heatmap cells move the step-through (explain.js sends this).
  document.addEventListener("rnntrace:step", function (event) { show(Number(event.detail)); });
  document.getElementById("step-prev").addEventListener("click", function () {
    show(Number(slider.value) - 1);
  });
  document.getElementById("step-next").addEventListener("click", function () {
    show(Number(slider.value) + 1);
  });
  document.addEventListener("keydown", function (event) {
    // The slider moves itself on arrow keys; elsewhere the arrows step through too.
    if (event.target === slider || event.altKey || event.ctrlKey || event.metaKey) return;
    const tag = event.target && event.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    if (event.key === "ArrowRight") { show(Number(slider.value) + 1); event.preventDefault(); }
    if (event.key === "ArrowLeft") { show(Number(slider.value) - 1); event.preventDefault(); }
  });
  show(1);
})();
