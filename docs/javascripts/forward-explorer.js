// Forward-process explorer of the DDPM lesson: x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps
// (Ho et al. 2020, Eq. (4)) on a real CT slice, computed here in the browser.
//
// Every <div class="forward-explorer"> holding a link <a class="explorer-data" href=".../meta.json">
// becomes a widget. The data are written at build time by site_tools/explorer_data.py: x0 and eps as
// 16-bit codes and abar_t of NoiseSchedule.linear() and .cosine() as float64 (data.bin; the
// offsets, scales and rounding errors are in meta.json). The browser tests read the numbers
// through window.medaiForwardExplorer.instances[0]:
//   .ready (a Promise)  .set({t, schedule})  .state()  .xt(t, schedule)  .alphaBar(t, schedule)
//   .snrOneAt(schedule)  .histogram(values)  .firstFrameAt
(function () {
  "use strict";

  var kit = window.medaiExplorerKit;
  var el = kit.el, svg = kit.svg, fmt = kit.fmt;
  var T_PER_SECOND = 250;   // play runs t from 0 to 999 in about 4 s ...
  var FRAMES_PER_SECOND = 30; // ... in 30 frames a second
  var HIST_LO = -4, HIST_HI = 4, HIST_BINS = 64;

  var TEXT = {
    ja: {
      title: "拡散過程エクスプローラー(CT 画像)",
      t: "時刻 t",
      play: "再生",
      pause: "一時停止",
      runToEnd: "t = 999 へ",
      schedule: "スケジュール",
      linear: "線形",
      cosine: "コサイン",
      signal: "信号",
      noise: "ノイズ",
      share: "分散の内訳",
      snrOne: "SNR = 1 になる t",
      snrOneNote: function (t) { return "t = " + t + " で SNR が 1 を下回る"; },
      hist: "xₜ の画素値のヒストグラム(線は N(0, 1))",
      histAria: function (m, s) { return "xₜ の画素値のヒストグラム。平均 " + m + "、標準偏差 " + s + "。"; },
      meanSd: function (m, s) { return "平均 " + m + " · 標準偏差 " + s; },
      image: function (t, ab) { return "時刻 t = " + t + " の CT 画像 xₜ(ᾱₜ = " + ab + ")"; },
      loading: "データを読み込んでいます…",
      failed: "エクスプローラーのデータを読み込めませんでした。",
      precision: function (m) {
        return "精度: x₀ は 16 ビット(誤差 ≤ " + m.x0 + ")、ε は 1/4096 刻み(誤差 ≤ " + m.eps +
          ")で配信し、ᾱₜ は float64 のまま。したがって xₜ はパッケージの q_sample と " + m.xt +
          " 以内で一致します。表示は −1.5(黒)〜 1.5(白)。";
      }
    },
    en: {
      title: "Forward-process explorer (CT slice)",
      t: "Step t",
      play: "Play",
      pause: "Pause",
      runToEnd: "Go to t = 999",
      schedule: "Schedule",
      linear: "linear",
      cosine: "cosine",
      signal: "signal",
      noise: "noise",
      share: "Variance shares",
      snrOne: "t where SNR = 1",
      snrOneNote: function (t) { return "SNR falls below 1 at t = " + t; },
      hist: "Histogram of the pixel values of xₜ (line: N(0, 1))",
      histAria: function (m, s) { return "Histogram of the pixel values of xₜ. Mean " + m + ", standard deviation " + s + "."; },
      meanSd: function (m, s) { return "mean " + m + " · sd " + s; },
      image: function (t, ab) { return "The CT slice xₜ at step t = " + t + " (ᾱₜ = " + ab + ")"; },
      loading: "Loading the data…",
      failed: "The explorer's data could not be loaded.",
      precision: function (m) {
        return "Precision: x₀ is shipped in 16 bits (error ≤ " + m.x0 + "), ε in steps of 1/4096 (error ≤ " +
          m.eps + "), ᾱₜ as float64, so xₜ equals the package's q_sample within " + m.xt +
          ". Shown from −1.5 (black) to 1.5 (white).";
      }
    }
  };

  // ------------------------------------------------------------------ data

  function decode(buffer, spec, n) {
    var view = new DataView(buffer), out = new Float64Array(n), i;
    if (spec.dtype === "uint16") {
      for (i = 0; i < n; i++) out[i] = spec.zero + spec.scale * view.getUint16(spec.offset + 2 * i, true);
    } else if (spec.dtype === "int16") {
      for (i = 0; i < n; i++) out[i] = spec.zero + spec.scale * view.getInt16(spec.offset + 2 * i, true);
    } else if (spec.dtype === "float64") {
      for (i = 0; i < n; i++) out[i] = view.getFloat64(spec.offset + 8 * i, true);
    } else {
      throw new TypeError("unknown dtype " + spec.dtype);
    }
    return out;
  }

  // ------------------------------------------------------------------ one widget

  function Explorer(root) {
    var self = this;
    this.root = root;
    this.lang = kit.lang(root);
    this.text = TEXT[this.lang];
    this.id = kit.uid("fwx");
    this.t = 0;
    this.schedule = "linear";
    this.firstDrawAt = null;
    this.firstFrameAt = null;
    this.data = null;
    var url = kit.dataUrl(root, "explorer-data");
    root.classList.add("forward-explorer--loading");
    kit.load(this, {
      name: "forward explorer",
      fetches: [kit.fetchData(url, "json"), kit.fetchData(new URL("data.bin", url).href, "bytes")],
      onData: function (got) {
        self._load(got[0], got[1]);
        self._build();
        self.draw();
      },
      onError: function () { root.classList.remove("forward-explorer--loading"); }
    });
  }

  Explorer.prototype._load = function (meta, buf) {
    var h = meta.shape[0], w = meta.shape[1], n = h * w, T = meta.num_train_timesteps;
    this.meta = meta;
    this.height = h;
    this.width = w;
    this.T = T;
    this.x0 = decode(buf, meta.x0, n);
    this.eps = decode(buf, meta.eps, n);
    this.alphasCumprod = {};
    var self = this;
    Object.keys(meta.alphas_cumprod).forEach(function (k) {
      self.alphasCumprod[k] = decode(buf, meta.alphas_cumprod[k], T);
    });
  };

  Explorer.prototype._build = function () {
    var self = this, t = this.text, id = this.id, root = this.root;
    root.textContent = "";
    root.classList.remove("forward-explorer--loading");
    root.classList.add("forward-explorer--ready");
    root.setAttribute("role", "group");
    root.setAttribute("aria-labelledby", id + "-title");

    var title = el("p", { "class": "explorer__title", id: id + "-title", text: t.title });
    var formula = el("p", { "class": "explorer__formula" });
    kit.renderTex(formula, "x_t = \\sqrt{\\bar\\alpha_t}\\,x_0 + \\sqrt{1-\\bar\\alpha_t}\\,\\varepsilon",
      "x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε", true);

    // image
    this.canvas = el("canvas", { width: String(this.width), height: String(this.height),
      "class": "forward-explorer__image", role: "img" });
    this.ctx = this.canvas.getContext("2d");
    this.imageData = this.ctx.createImageData(this.width, this.height);

    // readouts
    function readout(key, tex, plain) {
      var dd = el("dd", { "class": "forward-explorer__" + key });
      var dt = el("dt");
      if (tex) kit.renderTex(dt, tex, plain); else dt.textContent = plain;
      return [dt, dd];
    }
    var rows = [
      readout("abar", "\\bar\\alpha_t", "ᾱₜ"),
      readout("sqrt-abar", "\\sqrt{\\bar\\alpha_t}", "√ᾱₜ"),
      readout("sqrt-one-minus", "\\sqrt{1-\\bar\\alpha_t}", "√(1−ᾱₜ)"),
      readout("snr", "\\mathrm{SNR} = \\bar\\alpha_t / (1-\\bar\\alpha_t)", "SNR = ᾱₜ/(1−ᾱₜ)"),
      readout("snr-one", null, t.snrOne)
    ];
    this.out = {
      abar: rows[0][1], sqrtAbar: rows[1][1], sqrtOneMinus: rows[2][1], snr: rows[3][1], snrOne: rows[4][1]
    };
    var dl = el("dl", { "class": "forward-explorer__readouts" }, [].concat.apply([], rows));

    // signal / noise share bar
    this.signalBar = el("span", { "class": "forward-explorer__signal" });
    this.noiseBar = el("span", { "class": "forward-explorer__noise" });
    this.shareText = el("p", { "class": "forward-explorer__share-text" });
    var bar = el("div", { "class": "forward-explorer__bar", "aria-hidden": "true" }, [this.signalBar, this.noiseBar]);
    var share = el("div", { "class": "forward-explorer__share" }, [
      el("p", { "class": "forward-explorer__share-title", text: t.share }), bar, this.shareText
    ]);

    // histogram
    this.hist = this._buildHistogram();
    this.meanSd = el("p", { "class": "forward-explorer__meansd" });
    var histBox = el("figure", { "class": "forward-explorer__hist" }, [
      this.hist.svg, el("figcaption", { text: t.hist }), this.meanSd
    ]);

    var numbers = el("div", { "class": "forward-explorer__numbers" }, [dl, share]);
    var panel = el("div", { "class": "forward-explorer__panel" }, [this.canvas, numbers, histBox]);

    // controls
    this.slider = kit.slider({
      id: id + "-t", label: t.t, min: 0, max: this.T - 1, step: 1, value: this.t, bigStep: 100,
      classPrefix: "explorer",
      onInput: function (v) { self.pause(); self.set({ t: v }, true); }  // the reader took over
    });
    this.playBtn = kit.button("explorer__button forward-explorer__play", t.play, function () {});
    this.player = new kit.Player({
      onStop: function () { self.draw(); },  // the status line, silent while playing, catches up
      button: this.playBtn,
      labels: { play: t.play, pause: t.pause, runToEnd: t.runToEnd },
      perSecond: FRAMES_PER_SECOND,
      advance: function () {
        self.set({ t: Math.min(self.T - 1, self.t + Math.round(T_PER_SECOND / FRAMES_PER_SECOND)) }, true);
      },
      done: function () { return self.t >= self.T - 1; },
      restart: function () { self.set({ t: 0 }, true); },
      isConnected: function () { return self.root.isConnected; }
    });
    this.radios = {};
    var legend = el("legend", { text: t.schedule });
    var choices = ["linear", "cosine"].map(function (k) {
      var input = el("input", { type: "radio", name: id + "-schedule", id: id + "-" + k, value: k,
        "class": "forward-explorer__schedule" });
      if (k === self.schedule) input.checked = true;
      input.addEventListener("change", function () { if (input.checked) self.set({ schedule: k }, true); });
      self.radios[k] = input;
      return el("span", { "class": "explorer__choice" }, [input, el("label", { "for": id + "-" + k, text: t[k] })]);
    });
    var fieldset = el("fieldset", { "class": "explorer__choices" }, [legend].concat(choices));
    var controls = el("div", { "class": "explorer__controls" }, [this.slider.row,
      el("div", { "class": "explorer__buttons" }, [this.playBtn, fieldset])]);

    this.status = el("p", { "class": "explorer__status", role: "status", "aria-live": "polite" });
    var m = this.meta;
    var precision = kit.checkNote(root, t.precision({
      x0: m.x0.max_error.toExponential(1), eps: m.eps.max_error.toExponential(1),
      xt: m.x_t_max_error.toExponential(1)
    }));

    [title, formula, panel, this.status, controls, precision].forEach(function (n) { root.appendChild(n); });
  };

  Explorer.prototype._buildHistogram = function () {
    var W = 320, H = 120, pad = { l: 8, r: 8, t: 6, b: 22 };
    var sx = function (x) { return pad.l + (x - HIST_LO) / (HIST_HI - HIST_LO) * (W - pad.l - pad.r); };
    var yMax = 0.6; // density axis; N(0,1) peaks at 0.399; the CT's air and bone peaks are cut off
    var sy = function (y) { return H - pad.b - Math.min(y, yMax) / yMax * (H - pad.t - pad.b); };
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, "class": "forward-explorer__hist-chart",
      role: "img", focusable: "false", "aria-labelledby": this.id + "-hist-title" });
    var title = svg("title", { id: this.id + "-hist-title" });
    root.appendChild(title);
    var bars = svg("g", { "class": "forward-explorer__hist-bars" });
    root.appendChild(bars);
    var rects = [];
    var bw = (W - pad.l - pad.r) / HIST_BINS;
    for (var i = 0; i < HIST_BINS; i++) {
      var r = svg("rect", { x: (pad.l + i * bw).toFixed(2), width: (bw - 0.5).toFixed(2), y: sy(0), height: 0 });
      bars.appendChild(r);
      rects.push(r);
    }
    var d = [];
    for (var k = 0; k <= 160; k++) {
      var x = HIST_LO + (HIST_HI - HIST_LO) * k / 160;
      d.push((k ? "L" : "M") + sx(x).toFixed(2) + "," + sy(Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI)).toFixed(2));
    }
    root.appendChild(svg("path", { d: d.join(" "), "class": "forward-explorer__normal" }));
    var axis = svg("g", { "class": "forward-explorer__hist-axis" });
    axis.appendChild(svg("line", { x1: pad.l, x2: W - pad.r, y1: sy(0), y2: sy(0) }));
    for (var v = HIST_LO; v <= HIST_HI; v += 2) {
      var lab = svg("text", { x: sx(v), y: H - 6, "text-anchor": "middle" });
      lab.textContent = String(v);
      axis.appendChild(lab);
    }
    root.appendChild(axis);
    return { svg: root, title: title, rects: rects, sy: sy };
  };

  // ------------------------------------------------------------------ the numbers (test hook)

  Explorer.prototype._checkSchedule = function (schedule) {
    if (!this.alphasCumprod[schedule]) {
      throw new RangeError("`schedule` must be one of " + Object.keys(this.alphasCumprod).join(", ") +
        ", got " + schedule + ".");
    }
    return schedule;
  };

  Explorer.prototype._checkT = function (t) {
    t = Number(t);
    if (!(t >= 0 && t <= this.T - 1) || Math.floor(t) !== t) {
      throw new RangeError("`t` must be an integer in [0, " + (this.T - 1) + "], got " + t + ".");
    }
    return t;
  };

  /** abar_t of the schedule (the package's NoiseSchedule.alphas_cumprod[t], float64). */
  Explorer.prototype.alphaBar = function (t, schedule) {
    return this.alphasCumprod[this._checkSchedule(schedule || this.schedule)][this._checkT(t === undefined ? this.t : t)];
  };

  /** x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, row-major, as a plain array. */
  Explorer.prototype.xt = function (t, schedule) {
    var ab = this.alphaBar(t, schedule), a = Math.sqrt(ab), b = Math.sqrt(1 - ab);
    var n = this.x0.length, out = new Float64Array(n);
    for (var i = 0; i < n; i++) out[i] = a * this.x0[i] + b * this.eps[i];
    return out;
  };

  /** The first t whose SNR = abar / (1 - abar) is below 1 (abar_t < 0.5). */
  Explorer.prototype.snrOneAt = function (schedule) {
    var ac = this.alphasCumprod[this._checkSchedule(schedule || this.schedule)];
    for (var t = 0; t < ac.length; t++) if (ac[t] < 0.5) return t;
    return null;
  };

  /** Counts of `values` in HIST_BINS equal bins over [-4, 4); values outside go to the end bins. */
  Explorer.prototype.histogram = function (values) {
    var counts = new Array(HIST_BINS).fill(0), w = (HIST_HI - HIST_LO) / HIST_BINS;
    for (var i = 0; i < values.length; i++) {
      var k = Math.floor((values[i] - HIST_LO) / w);
      counts[Math.max(0, Math.min(HIST_BINS - 1, k))]++;
    }
    return { lo: HIST_LO, hi: HIST_HI, bins: HIST_BINS, counts: counts };
  };

  Explorer.prototype.state = function () {
    var ab = this.alphaBar(this.t, this.schedule);
    var x = this.current || this.xt(this.t, this.schedule);
    var n = x.length, mean = 0, sq = 0, i;
    for (i = 0; i < n; i++) mean += x[i];
    mean /= n;
    for (i = 0; i < n; i++) sq += (x[i] - mean) * (x[i] - mean);
    return {
      t: this.t, schedule: this.schedule, alphaBar: ab, sqrtAlphaBar: Math.sqrt(ab),
      sqrtOneMinusAlphaBar: Math.sqrt(1 - ab), snr: ab / (1 - ab), snrOneAt: this.snrOneAt(this.schedule),
      mean: mean, std: Math.sqrt(sq / (n - 1)), histogram: this.histogram(x).counts,
      maxError: this.meta.x_t_max_error
    };
  };

  // ------------------------------------------------------------------ controls

  Explorer.prototype.set = function (opts, fromControl) {
    opts = opts || {};
    if (opts.schedule !== undefined) this.schedule = this._checkSchedule(opts.schedule);
    if (opts.t !== undefined) this.t = this._checkT(opts.t);
    if (!fromControl) this.pause();
    this.draw();
    return this;
  };

  kit.playable(Explorer.prototype);

  // ------------------------------------------------------------------ drawing

  Explorer.prototype.draw = function () {
    if (!this.x0 || !this.canvas) return;
    var t = this.text, s = this.state.bind(this);
    this.current = this.xt(this.t, this.schedule);
    var x = this.current, px = this.imageData.data, lo = this.meta.display_range[0], hi = this.meta.display_range[1];
    for (var i = 0; i < x.length; i++) {
      var g = Math.round((x[i] - lo) / (hi - lo) * 255);
      g = g < 0 ? 0 : (g > 255 ? 255 : g);
      px[4 * i] = px[4 * i + 1] = px[4 * i + 2] = g;
      px[4 * i + 3] = 255;
    }
    this.ctx.putImageData(this.imageData, 0, 0);
    var st = s();
    this.slider.set(this.t, String(this.t));
    this.radios[this.schedule].checked = true;
    this.out.abar.textContent = fmt(st.alphaBar, 4);
    this.out.sqrtAbar.textContent = fmt(st.sqrtAlphaBar, 4);
    this.out.sqrtOneMinus.textContent = fmt(st.sqrtOneMinusAlphaBar, 4);
    this.out.snr.textContent = fmt(st.snr, 3);
    this.out.snrOne.textContent = "t ≈ " + st.snrOneAt;
    this.signalBar.style.width = (100 * st.alphaBar).toFixed(2) + "%";
    this.noiseBar.style.width = (100 * (1 - st.alphaBar)).toFixed(2) + "%";
    this.shareText.textContent = t.signal + " ᾱₜ = " + (100 * st.alphaBar).toFixed(1) + " % · " +
      t.noise + " 1−ᾱₜ = " + (100 * (1 - st.alphaBar)).toFixed(1) + " %";
    var w = (HIST_HI - HIST_LO) / HIST_BINS, n = x.length, hs = this.hist;
    st.histogram.forEach(function (c, k) {
      var y = hs.sy(c / (n * w));
      hs.rects[k].setAttribute("y", y.toFixed(2));
      hs.rects[k].setAttribute("height", Math.max(0, hs.sy(0) - y).toFixed(2));
    });
    var m = fmt(st.mean, 3), sd = fmt(st.std, 3);
    hs.title.textContent = t.histAria(m, sd);
    this.meanSd.textContent = t.meanSd(m, sd);
    this.canvas.setAttribute("aria-label", t.image(this.t, fmt(st.alphaBar, 4)));
    if (!this.player.playing) this.status.textContent = "t = " + this.t + " (" + t[this.schedule] + ") · " + t.snrOneNote(st.snrOneAt);
    this.root.setAttribute("data-t", String(this.t));
    kit.firstFrame(this, "forward-explorer-first-frame");
  };

  var api = kit.register({ api: "medaiForwardExplorer", selector: ".forward-explorer", create: Explorer });
  api.Explorer = Explorer;
})();
