// Guidance explorer of the Stable Diffusion lesson: pick a prompt (a digit) and a guidance scale s
// of classifier-free guidance, eps_hat = eps_u + s (eps_c - eps_u) (Ho & Salimans 2022, Eq. (6)),
// and see the shipped miniature's samples for it, the faithfulness and variety measured at that s,
// and where s sits on the trade-off curve.
//
// Every <div class="guidance-explorer"> holding <a class="explorer-data" href=".../meta.json">
// becomes a widget. site_tools/explorer_data.py writes the data at build time: the digits 0-9 at
// seeds 0 and 1 for every s, drawn by the package's sample_digits (the guidance-grid figure's own
// draw), as one 8-bit grey PNG sprite; and the numbers, copied from benchmarks/results/minisd.json.
// The browser tests read them through window.medaiGuidanceExplorer.instances[0]:
//   .ready (a Promise)  .set({digit, scale})  .state()  .pixels(digit, scale, seed)  .firstFrameAt
(function () {
  "use strict";

  var kit = window.medaiExplorerKit;
  var el = kit.el, svg = kit.svg;
  var SCALES_PER_SECOND = 1.5;
  var SHOWN = 112;   // CSS pixels of one sample (drawn from 32 x 32)

  var TEXT = {
    ja: {
      title: "ガイダンス・エクスプローラー(学習済みミニチュア)",
      prompt: "プロンプト",
      promptOption: function (d, p) { return d + "(“" + p + "”)"; },
      scale: "ガイダンススケール s",
      play: "s を順に上げる",
      pause: "一時停止",
      runToEnd: "s = 15 へ",
      recommended: function (s) { return "おすすめの s = " + s + " へ"; },
      seed: function (k) { return "seed " + k; },
      sample: function (d, s, k) { return "s = " + s + "、seed " + k + " で「" + d + "」を指定して生成した画像"; },
      strip: function (d) { return "同じ seed 0 で s だけを変えた「" + d + "」"; },
      stripAria: function (d, s) { return "seed 0 の「" + d + "」を s = 1, 2, 3, 5, 8, 15 で並べた列。いまの s = " + s + " を枠で示す"; },
      faithfulness: "忠実度(指定どおりの数字と読まれた割合)",
      variety: "多様性(同じプロンプトの 2 枚の平均距離)",
      real: "本物の手書き数字の多様性",
      recommendedLabel: "おすすめの s",
      plotTitle: "忠実度と多様性のトレードオフ",
      plotDesc: function (s, f, v) { return "横軸が多様性、縦軸が忠実度。s = 1, 2, 3, 5, 8, 15 の 6 点。いまの s = " + s + " は忠実度 " + f + "、多様性 " + v + "。"; },
      axisX: "多様性 →",
      axisY: "忠実度",
      realLine: "本物",
      status: function (s, f, v) { return "s = " + s + ": 忠実度 " + f + "、多様性 " + v; },
      failed: "エクスプローラーのデータを読み込めませんでした。",
      note: function (m) {
        return "数値は benchmarks/results/minisd.json(スケールごとに 10 数字 × 8 seed = 80 枚)から。画像は上の図と同じ生成で、" +
          "プロンプトは英語のテンプレート “" + m.template + "”、DDIM 25 ステップ、seed " + m.seeds.join(" と ") +
          "。チャンネル 0 を 256 階調で配信しており、各画素はパッケージの sample_digits の出力と " + m.error + " 以内で一致します。";
      }
    },
    en: {
      title: "Guidance explorer (the trained miniature)",
      prompt: "Prompt",
      promptOption: function (d, p) { return "“" + p + "”"; },
      scale: "Guidance scale s",
      play: "Step through s",
      pause: "Pause",
      runToEnd: "Go to s = 15",
      recommended: function (s) { return "Go to the recommended s = " + s; },
      seed: function (k) { return "seed " + k; },
      sample: function (d, s, k) { return "Image drawn for the digit " + d + " at s = " + s + ", seed " + k; },
      strip: function (d) { return "The same seed 0 for the digit " + d + ", only s changes"; },
      stripAria: function (d, s) { return "The digit " + d + " at seed 0 for s = 1, 2, 3, 5, 8, 15; the current s = " + s + " is framed"; },
      faithfulness: "Faithfulness (share read as the prompted digit)",
      variety: "Variety (mean distance between two images of one prompt)",
      real: "Variety of real handwritten digits",
      recommendedLabel: "Recommended s",
      plotTitle: "The trade-off between faithfulness and variety",
      plotDesc: function (s, f, v) { return "Variety across, faithfulness up; six points for s = 1, 2, 3, 5, 8, 15. The current s = " + s + " has faithfulness " + f + " and variety " + v + "."; },
      axisX: "variety →",
      axisY: "faithfulness",
      realLine: "real",
      status: function (s, f, v) { return "s = " + s + ": faithfulness " + f + ", variety " + v; },
      failed: "The explorer's data could not be loaded.",
      note: function (m) {
        return "Numbers from benchmarks/results/minisd.json (10 digits × 8 seeds = 80 images per scale). The images are the " +
          "figure's own draw above: prompt template “" + m.template + "”, DDIM 25 steps, seeds " + m.seeds.join(" and ") +
          ". Channel 0 is shipped in 256 grey levels, so each pixel is within " + m.error +
          " of the package's sample_digits output.";
      }
    }
  };

  function percent(x) { return (100 * x).toFixed(1) + " %"; }
  function varietyText(x) { return x.toFixed(2); }
  function key(s) { return String(s); }   // 3 -> "3", as meta.json's keys

  function Explorer(root) {
    var self = this;
    this.root = root;
    this.lang = kit.lang(root);
    this.text = TEXT[this.lang];
    this.id = kit.uid("gdx");
    this.digit = 7;
    this.scaleIndex = 0;
    this.firstDrawAt = null;
    this.firstFrameAt = null;
    var url = kit.dataUrl(root, "explorer-data");
    kit.load(this, {
      name: "guidance explorer",
      fetches: [kit.fetchData(url, "json"), kit.fetchData(new URL("frames.png", url).href, "image")],
      onData: function (got) {
        self._load(got[0], got[1]);
        self._build();
        self.draw();
      }
    });
  }

  kit.playable(Explorer.prototype);

  Explorer.prototype._load = function (meta, img) {
    this.levels = kit.sprite(img, meta.layout.width, meta.layout.height);
    this.meta = meta;
    this.scales = meta.guidance_scales;
    this.seeds = meta.seeds;
    this.numbers = meta.numbers;
    var rec = this.scales.indexOf(this.numbers.recommended_guidance_scale);
    this.scaleIndex = rec >= 0 ? rec : 0;   // start at the recommended s
  };

  // ------------------------------------------------------------------ the numbers (test hook)

  Explorer.prototype._checkDigit = function (d) {
    var n = Number(d);
    if (!(n >= 0 && n <= 9) || Math.floor(n) !== n) throw new RangeError("`digit` must be an integer in [0, 9], got " + d + ".");
    return n;
  };

  Explorer.prototype._checkScale = function (s) {
    var i = this.scales.indexOf(Number(s));
    if (i < 0) throw new RangeError("`scale` must be one of " + this.scales.join(", ") + ", got " + s + ".");
    return i;
  };

  Explorer.prototype._checkSeed = function (k) {
    var i = this.seeds.indexOf(Number(k));
    if (i < 0) throw new RangeError("`seed` must be one of " + this.seeds.join(", ") + ", got " + k + ".");
    return i;
  };

  /** The grey level (0-255) at row r, column c of the sample (scale index i, digit d, seed index k). */
  Explorer.prototype._level = function (i, d, k, r, c) {
    var tile = this.meta.tile, W = this.meta.layout.width;
    return this.levels[(i * tile + r) * W + (d * this.seeds.length + k) * tile + c];
  };

  /** Decoded values (level / 127.5 - 1) of one sample, row-major (32 x 32). */
  Explorer.prototype.pixels = function (digit, scale, seed) {
    var d = this._checkDigit(digit), i = this._checkScale(scale), k = this._checkSeed(seed);
    var tile = this.meta.tile, out = [];
    for (var r = 0; r < tile; r++) for (var c = 0; c < tile; c++) out.push(this._level(i, d, k, r, c) / 127.5 - 1);
    return out;
  };

  Explorer.prototype.state = function () {
    var s = this.scales[this.scaleIndex], n = this.numbers;
    return {
      digit: this.digit, prompt: this.meta.prompts[this.digit], scale: s,
      faithfulness: n.faithfulness[key(s)], variety: n.variety[key(s)],
      varietyRealDigits: n.variety_real_digits, recommendedScale: n.recommended_guidance_scale,
      shown: {
        faithfulness: this.out ? this.out.faithfulness.textContent : null,
        variety: this.out ? this.out.variety.textContent : null,
        real: this.out ? this.out.real.textContent : null,
        recommended: this.out ? this.out.recommended.textContent : null
      }
    };
  };

  // ------------------------------------------------------------------ building

  Explorer.prototype._build = function () {
    var self = this, t = this.text, id = this.id, root = this.root, tile = this.meta.tile;
    root.textContent = "";
    root.classList.add("guidance-explorer--ready");
    root.setAttribute("role", "group");
    root.setAttribute("aria-labelledby", id + "-title");
    var title = el("p", { "class": "explorer__title", id: id + "-title", text: t.title });
    var formula = el("p", { "class": "explorer__formula" });
    kit.renderTex(formula, "\\hat\\epsilon = \\epsilon_u + s\\,(\\epsilon_c - \\epsilon_u)", "ε̂ = ε_u + s (ε_c − ε_u)", true);

    // the samples of the chosen (prompt, s), one per seed
    this.samples = this.seeds.map(function (k) {
      var cv = el("canvas", { width: String(tile), height: String(tile), role: "img",
        "class": "guidance-explorer__sample" });
      var ctx = cv.getContext("2d");
      var fig = el("figure", { "class": "guidance-explorer__figure" }, [cv, el("figcaption", { text: t.seed(k) })]);
      return { seed: k, canvas: cv, ctx: ctx, image: ctx.createImageData(tile, tile), figure: fig };
    });
    var pair = el("div", { "class": "guidance-explorer__pair" }, this.samples.map(function (v) { return v.figure; }));

    // the same seed at every s, the current one framed
    var gap = 2;
    var stripW = this.scales.length * (tile + gap) + gap, stripH = tile + 2 * gap;
    this.strip = el("canvas", { width: String(stripW), height: String(stripH), role: "img",
      "class": "guidance-explorer__strip" });
    this.stripCtx = this.strip.getContext("2d");
    this.stripImage = this.stripCtx.createImageData(stripW, stripH);
    this.stripCaption = el("figcaption");
    var labels = el("div", { "class": "guidance-explorer__strip-labels", "aria-hidden": "true" },
      this.scales.map(function (s) { return el("span", { text: "s=" + s }); }));
    var strip = el("figure", { "class": "guidance-explorer__strip-figure" }, [this.strip, labels, this.stripCaption]);
    var images = el("div", { "class": "guidance-explorer__images" }, [pair, strip]);

    // readouts
    function readout(cls, label) {
      var dd = el("dd", { "class": "guidance-explorer__" + cls });
      return { dd: dd, nodes: [el("dt", { text: label }), dd] };
    }
    var rows = [readout("faithfulness", t.faithfulness), readout("variety", t.variety), readout("real", t.real),
      readout("recommended", t.recommendedLabel)];
    this.out = { faithfulness: rows[0].dd, variety: rows[1].dd, real: rows[2].dd, recommended: rows[3].dd };
    var dl = el("dl", { "class": "guidance-explorer__readouts" }, [].concat.apply([], rows.map(function (r) { return r.nodes; })));
    this.plot = this._buildPlot();
    var numbers = el("div", { "class": "guidance-explorer__numbers" }, [dl, this.plot.svg]);
    var panel = el("div", { "class": "guidance-explorer__panel" }, [images, numbers]);

    // controls: the prompt, the scale, play, the recommended s
    var selectId = id + "-prompt";
    this.select = el("select", { id: selectId, "class": "guidance-explorer__prompt" });
    this.meta.prompts.forEach(function (p, d) {
      self.select.appendChild(el("option", { value: String(d), text: t.promptOption(d, p) }));
    });
    this.select.addEventListener("change", function () { self.set({ digit: Number(self.select.value) }, true); });
    var promptRow = el("div", { "class": "explorer__slider guidance-explorer__prompt-row" }, [
      el("label", { "for": selectId, text: t.prompt }), this.select
    ]);
    this.slider = kit.slider({
      id: id + "-s", label: t.scale, min: 0, max: this.scales.length - 1, step: 1, value: this.scaleIndex,
      bigStep: 2, classPrefix: "explorer",
      onInput: function (v) { self.pause(); self.set({ scale: self.scales[v] }, true); }  // the reader took over
    });
    this.playBtn = kit.button("explorer__button guidance-explorer__play", t.play, function () {});
    this.player = new kit.Player({
      onStop: function () { self.draw(); },  // the status line, silent while playing, catches up
      button: this.playBtn,
      labels: { play: t.play, pause: t.pause, runToEnd: t.runToEnd },
      perSecond: SCALES_PER_SECOND,
      advance: function () { self.set({ scale: self.scales[self.scaleIndex + 1] }, true); },
      done: function () { return self.scaleIndex >= self.scales.length - 1; },
      restart: function () { self.set({ scale: self.scales[0] }, true); },
      isConnected: function () { return self.root.isConnected; }
    });
    var rec = this.numbers.recommended_guidance_scale;
    this.recBtn = kit.button("explorer__button guidance-explorer__go-recommended", t.recommended(rec),
      function () { self.set({ scale: rec }); });
    var controls = el("div", { "class": "explorer__controls" }, [promptRow, this.slider.row,
      el("div", { "class": "explorer__buttons" }, [this.playBtn, this.recBtn])]);
    this.status = el("p", { "class": "explorer__status", role: "status", "aria-live": "polite" });
    var note = kit.checkNote(root, t.note({
      template: this.meta.prompt_template, seeds: this.seeds, error: this.meta.code.max_error.toFixed(4)
    }));
    [title, formula, panel, this.status, controls, note].forEach(function (n) { root.appendChild(n); });
  };

  /** Faithfulness (up) against variety (across) for every s; the current s is drawn larger. */
  Explorer.prototype._buildPlot = function () {
    var self = this, n = this.numbers, t = this.text;
    var W = 300, H = 196, pad = { l: 44, r: 14, t: 22, b: 34 };
    var vs = this.scales.map(function (s) { return n.variety[key(s)]; });
    var fs = this.scales.map(function (s) { return n.faithfulness[key(s)]; });
    var xLo = Math.floor((Math.min.apply(null, vs) - 0.1) * 10) / 10;
    var xHi = Math.ceil((Math.max(Math.max.apply(null, vs), n.variety_real_digits) + 0.1) * 10) / 10;
    var yLo = Math.min(0.8, Math.floor(Math.min.apply(null, fs) * 10) / 10), yHi = 1;
    var sx = function (v) { return pad.l + (v - xLo) / (xHi - xLo) * (W - pad.l - pad.r); };
    var sy = function (f) { return H - pad.b - (f - yLo) / (yHi - yLo) * (H - pad.t - pad.b); };
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, "class": "guidance-explorer__plot", role: "img",
      focusable: "false", "aria-labelledby": this.id + "-plot-title " + this.id + "-plot-desc" });
    var title = svg("title", { id: this.id + "-plot-title" });
    title.textContent = t.plotTitle;
    var desc = svg("desc", { id: this.id + "-plot-desc" });
    root.appendChild(title);
    root.appendChild(desc);
    var axis = svg("g", { "class": "guidance-explorer__axis" });
    axis.appendChild(svg("line", { x1: pad.l, x2: W - pad.r, y1: H - pad.b, y2: H - pad.b }));
    axis.appendChild(svg("line", { x1: pad.l, x2: pad.l, y1: pad.t, y2: H - pad.b }));
    function text(x, y, s, anchor, cls) {
      var node = svg("text", { x: x.toFixed(1), y: y.toFixed(1), "text-anchor": anchor || "middle" });
      if (cls) node.setAttribute("class", cls);
      node.textContent = s;
      return node;
    }
    for (var v = Math.ceil(xLo * 2) / 2; v <= xHi + 1e-9; v += 0.5) {
      axis.appendChild(svg("line", { x1: sx(v), x2: sx(v), y1: H - pad.b, y2: H - pad.b + 4 }));
      axis.appendChild(text(sx(v), H - pad.b + 15, v.toFixed(1)));
    }
    var yStep = yHi - yLo > 0.3 ? 0.2 : 0.05;
    for (var f = yLo; f <= yHi + 1e-9; f += yStep) {
      axis.appendChild(svg("line", { x1: pad.l - 4, x2: pad.l, y1: sy(f), y2: sy(f) }));
      axis.appendChild(text(pad.l - 6, sy(f) + 4, Math.round(100 * f) + "%", "end"));
    }
    axis.appendChild(text((pad.l + W - pad.r) / 2, H - 4, t.axisX));
    var yLab = text(12, (pad.t + H - pad.b) / 2, t.axisY);
    yLab.setAttribute("transform", "rotate(-90 12 " + ((pad.t + H - pad.b) / 2).toFixed(1) + ")");
    axis.appendChild(yLab);
    root.appendChild(axis);
    var rx = sx(n.variety_real_digits);
    root.appendChild(svg("line", { x1: rx, x2: rx, y1: pad.t, y2: H - pad.b, "class": "guidance-explorer__real" }));
    root.appendChild(text(rx + 4, H - pad.b - 6, t.realLine + " " + n.variety_real_digits.toFixed(2), "start",
      "guidance-explorer__real-label"));
    var d = this.scales.map(function (s, i) { return (i ? "L" : "M") + sx(vs[i]).toFixed(1) + "," + sy(fs[i]).toFixed(1); });
    root.appendChild(svg("path", { d: d.join(" "), "class": "guidance-explorer__curve" }));
    var points = this.scales.map(function (s, i) {
      var g = svg("g", { "class": "guidance-explorer__point" });
      g.appendChild(svg("circle", { cx: sx(vs[i]).toFixed(1), cy: sy(fs[i]).toFixed(1), r: 3.5 }));
      // labels alternate above and below: the strong-guidance points crowd together
      var below = i % 2 === 1 && fs[i] >= yHi - 1e-9;
      g.appendChild(text(sx(vs[i]), sy(fs[i]) + (below ? 15 : -7), String(s)));
      root.appendChild(g);
      return g;
    });
    return { svg: root, desc: desc, points: points };
  };

  // ------------------------------------------------------------------ controls

  Explorer.prototype.set = function (opts, fromControl) {
    opts = opts || {};
    if (opts.digit !== undefined) this.digit = this._checkDigit(opts.digit);
    if (opts.scale !== undefined) this.scaleIndex = this._checkScale(opts.scale);
    if (!fromControl) this.pause();
    this.draw();
    return this;
  };

  // ------------------------------------------------------------------ drawing

  Explorer.prototype._paint = function (image, width, x0, y0, i, d, k) {
    var tile = this.meta.tile, px = image.data;
    for (var r = 0; r < tile; r++) {
      for (var c = 0; c < tile; c++) {
        var v = this._level(i, d, k, r, c), p = 4 * ((y0 + r) * width + x0 + c);
        px[p] = px[p + 1] = px[p + 2] = v;
        px[p + 3] = 255;
      }
    }
  };

  Explorer.prototype.draw = function () {
    if (!this.levels || !this.slider) return;
    var self = this, t = this.text, i = this.scaleIndex, d = this.digit, s = this.scales[i];
    var tile = this.meta.tile;
    this.samples.forEach(function (v, k) {
      self._paint(v.image, tile, 0, 0, i, d, k);
      v.ctx.putImageData(v.image, 0, 0);
      v.canvas.setAttribute("aria-label", t.sample(d, s, v.seed));
    });
    // strip: seed 0 at every s; the current tile framed in the accent colour
    var gap = 2, W = this.strip.width, px = this.stripImage.data, k0 = this.seeds.indexOf(0);
    var frame = getComputedStyle(this.root).getPropertyValue("--xp-button-bg").trim();
    var rgb = /^#([0-9a-f]{6})$/i.test(frame) ? [0, 2, 4].map(function (j) { return parseInt(frame.slice(1 + j, 3 + j), 16); }) : [0, 105, 92];
    for (var j = 0; j < px.length; j += 4) { px[j + 3] = 0; }
    this.scales.forEach(function (_, si) {
      var x0 = gap + si * (tile + gap);
      if (si === i) {
        for (var y = 0; y < tile + 2 * gap; y++) {
          for (var x = x0 - gap; x < x0 + tile + gap; x++) {
            var p = 4 * (y * W + x);
            px[p] = rgb[0]; px[p + 1] = rgb[1]; px[p + 2] = rgb[2]; px[p + 3] = 255;
          }
        }
      }
      self._paint(self.stripImage, W, x0, gap, si, d, Math.max(0, k0));
    });
    this.stripCtx.putImageData(this.stripImage, 0, 0);
    this.strip.setAttribute("aria-label", t.stripAria(d, s));
    this.stripCaption.textContent = t.strip(d);

    var st = this.state(), f = percent(st.faithfulness), v = varietyText(st.variety);
    this.out.faithfulness.textContent = f;
    this.out.variety.textContent = v;
    this.out.real.textContent = varietyText(st.varietyRealDigits);
    this.out.recommended.textContent = "s = " + st.recommendedScale;
    this.plot.points.forEach(function (g, si) {
      g.setAttribute("class", "guidance-explorer__point" + (si === i ? " guidance-explorer__point--current" : ""));
      g.firstChild.setAttribute("r", si === i ? "6" : "3.5");
    });
    this.plot.desc.textContent = t.plotDesc(s, f, v);
    this.select.value = String(d);
    this.slider.set(i, "s = " + s);
    if (!this.player.playing) this.status.textContent = t.status(s, f, v);
    this.root.setAttribute("data-scale", String(s));
    this.root.setAttribute("data-digit", String(d));
    kit.firstFrame(this, "guidance-explorer-first-frame");
  };

  var api = kit.register({ api: "medaiGuidanceExplorer", selector: ".guidance-explorer", create: Explorer });
  api.Explorer = Explorer;
})();
