// Learning-rate explorer of lesson 1: gradient descent on f(theta) = a * theta^2.
//
// Our own code, no libraries (KaTeX is used for the formula when the page has it). The parts
// every explorer shares (labels in the page's language, sliders, play/pause with reduced
// motion, first-frame timing, start-up) come from explorer-kit.js, loaded before this file.
// Every <div class="lr-explorer" data-a="0.35"></div> becomes a widget with
//   * sliders for the learning rate alpha (0.01 to 3.0) and the start theta_0 (-6 to 6),
//   * step / play-pause / reset buttons and four presets,
//   * an inline SVG of the loss curve, the current point (red), the minimum (green),
//     the path so far, a step counter, and the regime predicted by the theory.
//
// The update and the regime are the same arithmetic as
// medai_lessons.gradient_descent.descend_quadratic and quadratic_regime, so the
// positions equal the Python trajectory (both are IEEE doubles). The browser tests
// check this through window.medaiLrExplorer.instances[i]:
//   .set({alpha, start})  .step(n)  .trajectory()  .regime()  .reset()  .firstFrameAt
(function () {
  "use strict";

  var MAX_ABS = 1e150;      // descend_quadratic stops here too
  var PLAY_MAX_STEPS = 1000; // play stops after this many steps ...
  var SETTLED = 1e-3;        // ... or when |theta| is this close to the minimum ...
  var OFF_CHART = 1e6;       // ... or when it has run this far away
  var STEPS_PER_SECOND = 6;

  var TEXT = {
    ja: {
      title: "学習率エクスプローラー",
      loss: "損失",
      update: "更新則",
      alpha: "学習率 η",
      start: "開始位置 θ₀",
      step: "1ステップ",
      play: "再生",
      pause: "一時停止",
      runToEnd: "最後まで実行",
      reset: "リセット",
      presets: "プリセット",
      presetSlow: "遅い収束 (η = 0.01)",
      presetGood: "ちょうどよい (η = 0.5)",
      presetOsc: "振動 (η = 2.5)",
      presetDiv: "発散 (η = 3.0)",
      stepCount: "ステップ",
      thresholds: "しきい値",
      converges: "収束(行き過ぎなし)",
      oscillates: "振動(毎回ゼロを飛び越える)",
      diverges: "発散",
      current: "現在の点",
      minimum: "最小点 θ = 0",
      path: "これまでの経路",
      offChart: "グラフの外",
      blewUp: "|θ| が 1e150 を超えたので止めました",
      chart: function (s) {
        return "損失曲線 f(θ) のグラフ。ステップ " + s.k + "、θ = " + s.theta + "、f(θ) = " + s.loss + "。";
      },
      axisTheta: "θ",
      axisLoss: "f(θ)"
    },
    en: {
      title: "Learning-rate explorer",
      loss: "Loss",
      update: "Update",
      alpha: "Learning rate η",
      start: "Start θ₀",
      step: "Step",
      play: "Play",
      pause: "Pause",
      runToEnd: "Run to the end",
      reset: "Reset",
      presets: "Presets",
      presetSlow: "Slow convergence (η = 0.01)",
      presetGood: "Good (η = 0.5)",
      presetOsc: "Oscillating (η = 2.5)",
      presetDiv: "Diverging (η = 3.0)",
      stepCount: "Step",
      thresholds: "Thresholds",
      converges: "converges (no overshoot)",
      oscillates: "oscillates (jumps over zero every step)",
      diverges: "diverges",
      current: "current point",
      minimum: "minimum θ = 0",
      path: "path so far",
      offChart: "off the chart",
      blewUp: "stopped: |θ| passed 1e150",
      chart: function (s) {
        return "Plot of the loss curve f(θ). Step " + s.k + ", θ = " + s.theta + ", f(θ) = " + s.loss + ".";
      },
      axisTheta: "θ",
      axisLoss: "f(θ)"
    }
  };

  var PRESETS = [
    { key: "presetSlow", alpha: 0.01 },
    { key: "presetGood", alpha: 0.5 },
    { key: "presetOsc", alpha: 2.5 },
    { key: "presetDiv", alpha: 3.0 }
  ];

  // ------------------------------------------------------------------ the mathematics

  // Same expression as quadratic_regime(a, learning_rate) in Python.
  function regimeOf(a, alpha) {
    var r = 1.0 - 2.0 * a * alpha; // the factor one step multiplies theta by
    if (r >= 0.0) return "converges";
    if (r >= -1.0) return "oscillates";
    return "diverges";
  }

  // One step of theta <- theta - alpha * f'(theta), f'(theta) = 2 a theta.
  function update(a, alpha, theta) {
    return theta - alpha * (2.0 * a * theta);
  }

  // ------------------------------------------------------------------ shared helpers

  var kit = window.medaiExplorerKit;
  var el = kit.el, svg = kit.svg, fmt = kit.fmt, renderTex = kit.renderTex;

  // ------------------------------------------------------------------ one widget

  function Explorer(root) {
    var self = this;
    var a = parseFloat(root.getAttribute("data-a") || "0.35");
    if (!(a > 0)) a = 0.35;
    var lang = kit.lang(root);
    var t = TEXT[lang];
    var id = kit.uid("lrx");

    this.root = root;
    this.a = a;
    this.lang = lang;
    this.alpha = 0.5;
    this.start = 5.0;
    this.path = [this.start];
    this.blownUp = false;
    this.firstDrawAt = null;
    this.firstFrameAt = null;

    root.textContent = "";
    root.classList.add("lr-explorer--ready");
    root.setAttribute("role", "group");
    root.setAttribute("aria-labelledby", id + "-title");

    // --- heading and formulas
    var title = el("p", { "class": "lr-explorer__title", id: id + "-title", text: t.title });
    var lossTex = el("span", { "class": "lr-explorer__tex" });
    var aTex = String(a);
    renderTex(lossTex, "f(\\theta) = " + aTex + "\\,\\theta^2", "f(θ) = " + aTex + " θ²");
    var updTex = el("span", { "class": "lr-explorer__tex" });
    renderTex(updTex, "\\theta_{k+1} = \\theta_k - \\eta \\cdot 2a\\,\\theta_k",
      "θₖ₊₁ = θₖ − η · 2a θₖ");
    var formulas = el("p", { "class": "lr-explorer__formulas" }, [
      el("span", { text: t.loss + ": " }), lossTex,
      el("span", { text: " \u2003" + t.update + ": " }), updTex
    ]);

    // --- sliders
    function slider(name, label, min, max, step, value, key) {
      return kit.slider({
        id: id + "-" + name, label: label, min: min, max: max, step: step, value: value,
        classPrefix: "lr-explorer",
        onInput: function (v) { var o = {}; o[key] = v; self.set(o, true); }
      });
    }
    this.alphaCtl = slider("alpha", t.alpha, 0.01, 3.0, 0.01, this.alpha, "alpha");
    this.startCtl = slider("start", t.start, -6, 6, 0.1, this.start, "start");

    // --- buttons
    function button(cls, label, onClick) {
      return kit.button("lr-explorer__button " + cls, label, onClick);
    }
    this.stepBtn = button("lr-explorer__step", t.step, function () { self.pause(); self.step(1); });
    this.playBtn = button("lr-explorer__play", t.play, function () { /* wired by the player */ });
    this.player = new kit.Player({
      button: this.playBtn,
      labels: { play: t.play, pause: t.pause, runToEnd: t.runToEnd },
      perSecond: STEPS_PER_SECOND,
      advance: function () { self.step(1); },
      done: function () { return self._done(); },
      restart: function () { self.reset(); },
      isConnected: function () { return self.root.isConnected; }
    });
    this.resetBtn = button("lr-explorer__reset", t.reset, function () { self.pause(); self.reset(); });
    var controls = el("div", { "class": "lr-explorer__buttons" }, [this.stepBtn, this.playBtn, this.resetBtn]);

    var presetBtns = PRESETS.map(function (p) {
      var b = button("lr-explorer__preset", t[p.key], function () {
        self.pause();
        self.set({ alpha: p.alpha });
      });
      b.setAttribute("data-alpha", String(p.alpha));
      return b;
    });
    var presets = el("div", { "class": "lr-explorer__presets", role: "group", "aria-label": t.presets },
      [el("span", { "class": "lr-explorer__presets-label", "aria-hidden": "true", text: t.presets + ":" })]
        .concat(presetBtns));

    // --- status line (read out politely when it changes by a user action)
    this.counter = el("span", { "class": "lr-explorer__counter" });
    this.regimeOut = el("span", { "class": "lr-explorer__regime" });
    this.status = el("p", { "class": "lr-explorer__status", role: "status", "aria-live": "polite" },
      [this.counter, el("span", { text: " · " }), this.regimeOut]);
    var lo = 1 / (2 * a), hi = 1 / a;
    this.thresholds = el("p", {
      "class": "lr-explorer__thresholds",
      text: t.thresholds + ": 1/(2a) = " + fmt(lo, 4) + ", 1/a = " + fmt(hi, 4) + " · r = 1 − 2aη"
    });

    // --- the chart
    this.chart = this._buildChart(id);

    var legend = el("p", { "class": "lr-explorer__legend", "aria-hidden": "true" }, [
      el("span", { "class": "lr-explorer__key lr-explorer__key--current", text: t.current }),
      el("span", { "class": "lr-explorer__key lr-explorer__key--minimum", text: t.minimum }),
      el("span", { "class": "lr-explorer__key lr-explorer__key--path", text: t.path })
    ]);

    [title, formulas, this.chart.svg, legend, this.status, this.alphaCtl.row, this.startCtl.row,
      controls, presets, this.thresholds].forEach(function (n) { root.appendChild(n); });

    this._sync();
    this.draw();
  }

  Explorer.prototype._buildChart = function (id) {
    var W = 640, H = 300, pad = { l: 44, r: 16, t: 14, b: 34 };
    var xMax = 7.0, yMax = this.a * xMax * xMax;
    var t = TEXT[this.lang];
    var sx = function (x) { return pad.l + (x + xMax) / (2 * xMax) * (W - pad.l - pad.r); };
    var sy = function (y) { return H - pad.b - y / yMax * (H - pad.t - pad.b); };
    var root = svg("svg", {
      viewBox: "0 0 " + W + " " + H, "class": "lr-explorer__chart", role: "img",
      "aria-labelledby": id + "-chart-title", focusable: "false"
    });
    var titleNode = svg("title", { id: id + "-chart-title" });
    root.appendChild(titleNode);

    // axes and ticks
    var axes = svg("g", { "class": "lr-explorer__axes" });
    axes.appendChild(svg("line", { x1: pad.l, y1: sy(0), x2: W - pad.r, y2: sy(0) }));
    axes.appendChild(svg("line", { x1: sx(0), y1: pad.t, x2: sx(0), y2: sy(0), "class": "lr-explorer__zero" }));
    for (var k = -6; k <= 6; k += 2) {
      axes.appendChild(svg("line", { x1: sx(k), y1: sy(0), x2: sx(k), y2: sy(0) + 5 }));
      var lab = svg("text", { x: sx(k), y: sy(0) + 6, dy: "0.95em", "text-anchor": "middle" });
      lab.textContent = String(k);
      axes.appendChild(lab);
    }
    var xl = svg("text", { x: W - pad.r, y: sy(0) - 6, "text-anchor": "end", "class": "lr-explorer__axis-label" });
    xl.textContent = t.axisTheta;
    axes.appendChild(xl);
    var yl = svg("text", { x: 4, y: pad.t, dy: "0.8em", "class": "lr-explorer__axis-label" });
    yl.textContent = t.axisLoss;
    axes.appendChild(yl);
    root.appendChild(axes);

    // the loss curve
    var d = [];
    for (var i = 0; i <= 140; i++) {
      var x = -xMax + 2 * xMax * i / 140;
      d.push((i ? "L" : "M") + sx(x).toFixed(2) + "," + sy(this.a * x * x).toFixed(2));
    }
    root.appendChild(svg("path", { d: d.join(" "), "class": "lr-explorer__curve" }));

    var trail = svg("polyline", { "class": "lr-explorer__trail", points: "" });
    var dots = svg("g", { "class": "lr-explorer__dots" });
    root.appendChild(trail);
    root.appendChild(dots);
    root.appendChild(svg("circle", { cx: sx(0), cy: sy(0), r: 6, "class": "lr-explorer__minimum" }));
    var current = svg("circle", { r: 7, "class": "lr-explorer__current" });
    root.appendChild(current);
    var off = svg("text", { "class": "lr-explorer__off", y: pad.t, dy: "1.6em" });
    root.appendChild(off);
    return {
      svg: root, title: titleNode, trail: trail, dots: dots, current: current, off: off,
      sx: sx, sy: sy, xMax: xMax, yMax: yMax, W: W, pad: pad
    };
  };

  // ------------------------------------------------------------------ public API

  /** Change alpha and/or start; the path starts again from the (new) start. */
  Explorer.prototype.set = function (opts, fromSlider) {
    opts = opts || {};
    if (opts.alpha !== undefined) {
      var al = Number(opts.alpha);
      if (!(al > 0) || !isFinite(al)) throw new RangeError("`alpha` must be > 0, got " + opts.alpha + ".");
      this.alpha = al;
    }
    if (opts.start !== undefined) {
      var st = Number(opts.start);
      if (!isFinite(st)) throw new RangeError("`start` must be a finite number, got " + opts.start + ".");
      this.start = st;
    }
    if (!fromSlider) this.pause();
    this.path = [this.start];
    this.blownUp = false;
    this._sync(fromSlider);
    this.draw();
    return this;
  };

  /** Take n (default 1) steps of gradient descent; returns the new theta. */
  Explorer.prototype.step = function (n) {
    n = n === undefined ? 1 : Math.floor(Number(n));
    var theta = this.path[this.path.length - 1];
    for (var i = 0; i < n; i++) {
      var next = update(this.a, this.alpha, theta);
      if (!(Math.abs(next) < MAX_ABS)) { this.blownUp = true; break; }
      theta = next;
      this.path.push(theta);
    }
    this.draw();
    return theta;
  };

  Explorer.prototype.reset = function () {
    this.path = [this.start];
    this.blownUp = false;
    this.draw();
    return this;
  };

  /** theta_0, theta_1, ... (a copy). */
  Explorer.prototype.trajectory = function () { return this.path.slice(); };

  /** "converges" | "oscillates" | "diverges", from r = 1 - 2 a alpha. */
  Explorer.prototype.regime = function () { return regimeOf(this.a, this.alpha); };

  Explorer.prototype._done = function () {
    var theta = this.path[this.path.length - 1];
    var k = this.path.length - 1;
    return this.blownUp || k >= PLAY_MAX_STEPS || Math.abs(theta) < SETTLED || Math.abs(theta) > OFF_CHART;
  };

  kit.playable(Explorer.prototype);  // play, pause, togglePlay, destroy

  // ------------------------------------------------------------------ drawing

  Explorer.prototype._sync = function (fromSlider) {
    if (!fromSlider) {
      this.alphaCtl.input.value = String(this.alpha);
      this.startCtl.input.value = String(this.start);
    }
    this.alphaCtl.out.textContent = fmt(this.alpha, 2);
    this.startCtl.out.textContent = fmt(this.start, 1);
    var t = TEXT[this.lang];
    var r = 1.0 - 2.0 * this.a * this.alpha;
    var regime = this.regime();
    this.regimeOut.textContent = "r = " + fmt(r, 3) + " → " + t[regime];
    this.root.setAttribute("data-regime", regime);
  };

  Explorer.prototype.draw = function () {
    var t = TEXT[this.lang];
    var c = this.chart;
    var a = this.a;
    var clamp = function (x) { return Math.max(-c.xMax, Math.min(c.xMax, x)); };
    var pts = [];
    var shown = this.path.slice(-200); // the trail shows the last 200 positions
    while (c.dots.firstChild) c.dots.removeChild(c.dots.firstChild);
    for (var i = 0; i < shown.length; i++) {
      var x = clamp(shown[i]);
      var y = Math.min(a * x * x, c.yMax);
      pts.push(c.sx(x).toFixed(2) + "," + c.sy(y).toFixed(2));
      if (i < shown.length - 1 && shown.length <= 60) {
        c.dots.appendChild(svg("circle", { cx: c.sx(x), cy: c.sy(y), r: 3 }));
      }
    }
    c.trail.setAttribute("points", pts.join(" "));
    var theta = this.path[this.path.length - 1];
    var xc = clamp(theta);
    c.current.setAttribute("cx", c.sx(xc));
    c.current.setAttribute("cy", c.sy(Math.min(a * xc * xc, c.yMax)));
    var outside = Math.abs(theta) > c.xMax;
    c.off.textContent = outside ? (theta > 0 ? t.offChart + " →" : "← " + t.offChart) : "";
    c.off.setAttribute("x", theta > 0 ? c.W - c.pad.r - 4 : c.pad.l + 4);
    c.off.setAttribute("text-anchor", theta > 0 ? "end" : "start");
    var k = this.path.length - 1;
    var loss = a * theta * theta;
    this.counter.textContent = t.stepCount + " k = " + k + " · θ = " + fmt(theta) + " · f(θ) = " +
      fmt(loss) + (this.blownUp ? " · " + t.blewUp : "");
    c.title.textContent = t.chart({ k: k, theta: fmt(theta), loss: fmt(loss) });
    // firstDrawAt: the chart's DOM is complete; firstFrameAt: the next animation frame,
    // i.e. the first frame that can show it (both ms after navigation start).
    kit.firstFrame(this, "lr-explorer-first-frame");
  };

  // ------------------------------------------------------------------ wiring

  var api = kit.register({ api: "medaiLrExplorer", selector: ".lr-explorer", create: Explorer });
  api.regimeOf = regimeOf;
  api.Explorer = Explorer;
})();
