// Reverse-process scrubber of the DDPM lesson: 16 digits made by the pretrained model from one
// seeded x_T, with DDPM-1000 and DDIM-50 side by side; at each step x_t next to the model's
// current guess x0_hat = (x_t - sqrt(1 - abar_t) eps_theta) / sqrt(abar_t) (Ho et al. 2020, Eq. (15)).
//
// Every <div class="reverse-explorer"> holding <a class="explorer-data" href=".../meta.json">
// becomes a widget. site_tools/explorer_data.py makes the frames with the package at build time and
// stores them as one 8-bit grey PNG sprite (layout, seeds and rounding error in meta.json).
// The browser tests read them through window.medaiReverseExplorer.instances[0]:
//   .ready (a Promise)  .set({frame})  .state()  .pixels(sampler, frame, kind)  .firstFrameAt
(function () {
  "use strict";

  var kit = window.medaiExplorerKit;
  var el = kit.el, fmt = kit.fmt;
  var FRAMES_PER_SECOND = 4;
  var GRID = 4;    // 16 samples in a 4 x 4 grid
  var GAP = 1;     // pixels between tiles

  var TEXT = {
    ja: {
      title: "復元過程スクラバー(学習済みモデル、16 枚)",
      frame: "復元の進み具合",
      play: "再生",
      pause: "一時停止",
      runToEnd: "最後へ",
      result: "完成",
      ddpm: "DDPM(1000 回の呼び出し)",
      ddim: "DDIM(50 回の呼び出し)",
      x_t: "いまの画像 xₜ",
      x0_hat: "モデルの推測 x̂₀",
      rms: function (a, b) { return "完成画像との RMS 差: xₜ " + a + " · x̂₀ " + b; },
      aria: function (what, sampler, step) { return sampler + "、" + step + " での" + what + "(16 枚の数字)"; },
      step: function (t) { return t < 0 ? "完成" : "t = " + t; },
      status: function (i, n, step) { return "コマ " + (i + 1) + " / " + n + "(" + step + ")"; },
      failed: "エクスプローラーのデータを読み込めませんでした。",
      precision: function (e) {
        return "精度: xₜ と x̂₀ は [−1, 1](数字の画素の範囲)に切り詰め、256 階調で配信しています。" +
          "各画素は、切り詰めたパッケージの値と " + e + " 以内で一致します。RMS 差は切り詰める前の値で計算しています。";
      }
    },
    en: {
      title: "Reverse-process scrubber (trained model, 16 samples)",
      frame: "Progress of the reverse process",
      play: "Play",
      pause: "Pause",
      runToEnd: "Go to the end",
      result: "result",
      ddpm: "DDPM (1000 calls)",
      ddim: "DDIM (50 calls)",
      x_t: "current image xₜ",
      x0_hat: "the model's guess x̂₀",
      rms: function (a, b) { return "RMS difference to the result: xₜ " + a + " · x̂₀ " + b; },
      aria: function (what, sampler, step) { return what + " of " + sampler + " at " + step + " (16 digits)"; },
      step: function (t) { return t < 0 ? "the result" : "t = " + t; },
      status: function (i, n, step) { return "Frame " + (i + 1) + " of " + n + " (" + step + ")"; },
      failed: "The explorer's data could not be loaded.",
      precision: function (e) {
        return "Precision: xₜ and x̂₀ are clipped to [−1, 1] (the digits' pixel range) and shipped in 256 grey " +
          "levels, so each pixel is within " + e + " of the package's clipped value. The RMS differences use " +
          "the values before clipping.";
      }
    }
  };

  function Explorer(root) {
    var self = this;
    this.root = root;
    this.lang = kit.lang(root);
    this.text = TEXT[this.lang];
    this.id = kit.uid("rvx");
    this.frame = 0;
    this.firstDrawAt = null;
    this.firstFrameAt = null;
    var url = kit.dataUrl(root, "explorer-data");
    kit.load(this, {
      name: "reverse explorer",
      fetches: [kit.fetchData(url, "json"), kit.fetchData(new URL("frames.png", url).href, "image")],
      onData: function (got) {
        self._load(got[0], got[1]);
        self._build();
        self.draw();
      }
    });
  }

  Explorer.prototype._load = function (meta, img) {
    var L = meta.layout;
    this.levels = kit.sprite(img, L.width, L.height);
    this.meta = meta;
    this.samplers = L.samplers;
    this.kinds = L.kinds;
    this.steps = meta.frame_steps;
  };

  /** The grey level (0-255) of sample `i`, row `r`, column `c` of (sampler, frame, kind). */
  Explorer.prototype._level = function (s, f, k, i, r, c) {
    var tile = this.meta.tile, W = this.meta.layout.width;
    var row = ((s * this.steps.length + f) * 2 + k) * tile + r;
    return this.levels[row * W + i * tile + c];
  };

  /** Decoded values (level / 127.5 - 1) in the package's order (sample, row, column). */
  Explorer.prototype.pixels = function (sampler, frame, kind) {
    var s = this.samplers.indexOf(sampler), k = this.kinds.indexOf(kind), f = Number(frame);
    if (s < 0) throw new RangeError("`sampler` must be one of " + this.samplers.join(", ") + ", got " + sampler + ".");
    if (k < 0) throw new RangeError("`kind` must be one of " + this.kinds.join(", ") + ", got " + kind + ".");
    if (!(f >= 0 && f < this.steps.length) || Math.floor(f) !== f) {
      throw new RangeError("`frame` must be an integer in [0, " + (this.steps.length - 1) + "], got " + frame + ".");
    }
    var tile = this.meta.tile, out = [];
    for (var i = 0; i < this.meta.num_samples; i++) {
      for (var r = 0; r < tile; r++) {
        for (var c = 0; c < tile; c++) out.push(this._level(s, f, k, i, r, c) / 127.5 - 1);
      }
    }
    return out;
  };

  Explorer.prototype._build = function () {
    var self = this, t = this.text, id = this.id, root = this.root;
    var tile = this.meta.tile, side = GRID * tile + (GRID + 1) * GAP;
    root.textContent = "";
    root.classList.add("reverse-explorer--ready");
    root.setAttribute("role", "group");
    root.setAttribute("aria-labelledby", id + "-title");
    var title = el("p", { "class": "explorer__title", id: id + "-title", text: t.title });
    var formula = el("p", { "class": "explorer__formula" });
    kit.renderTex(formula,
      "\\hat x_0 = \\frac{x_t - \\sqrt{1-\\bar\\alpha_t}\\,\\varepsilon_\\theta(x_t, t)}{\\sqrt{\\bar\\alpha_t}}",
      "x̂₀ = (x_t − √(1−ᾱ_t) ε_θ(x_t, t)) / √ᾱ_t", true);

    this.views = {};
    var columns = this.samplers.map(function (name) {
      var canvases = {};
      var figs = self.kinds.map(function (kind) {
        var cv = el("canvas", { width: String(side), height: String(side), role: "img",
          "class": "reverse-explorer__grid reverse-explorer__grid--" + kind.replace("_", "-") });
        canvases[kind] = { canvas: cv, ctx: cv.getContext("2d"), image: cv.getContext("2d").createImageData(side, side) };
        return el("figure", { "class": "reverse-explorer__figure" }, [cv, el("figcaption", { text: t[kind] })]);
      });
      var rms = el("p", { "class": "reverse-explorer__rms" });
      self.views[name] = { canvases: canvases, rms: rms };
      return el("section", { "class": "reverse-explorer__sampler", "aria-label": t[name] }, [
        el("p", { "class": "reverse-explorer__name", text: t[name] }),
        el("div", { "class": "reverse-explorer__pair" }, figs), rms
      ]);
    });
    var panel = el("div", { "class": "reverse-explorer__panel" }, columns);

    this.slider = kit.slider({
      id: id + "-frame", label: t.frame, min: 0, max: this.steps.length - 1, step: 1, value: 0, bigStep: 5,
      classPrefix: "explorer",
      onInput: function (v) { self.pause(); self.set({ frame: v }, true); }  // the reader took over
    });
    this.slider.out.classList.add("reverse-explorer__step");
    this.playBtn = kit.button("explorer__button reverse-explorer__play", t.play, function () {});
    this.player = new kit.Player({
      onStop: function () { self.draw(); },  // the status line, silent while playing, catches up
      button: this.playBtn,
      labels: { play: t.play, pause: t.pause, runToEnd: t.runToEnd },
      perSecond: FRAMES_PER_SECOND,
      advance: function () { self.set({ frame: self.frame + 1 }, true); },
      done: function () { return self.frame >= self.steps.length - 1; },
      restart: function () { self.set({ frame: 0 }, true); },
      isConnected: function () { return self.root.isConnected; }
    });
    var controls = el("div", { "class": "explorer__controls" }, [this.slider.row,
      el("div", { "class": "explorer__buttons" }, [this.playBtn])]);
    this.status = el("p", { "class": "explorer__status", role: "status", "aria-live": "polite" });
    var precision = kit.checkNote(root, t.precision(fmt(this.meta.code.max_error, 4)));
    [title, formula, panel, this.status, controls, precision].forEach(function (n) { root.appendChild(n); });
  };

  Explorer.prototype.state = function () {
    var f = this.frame, stats = this.meta.stats, out = { frame: f, t: this.steps[f], frames: this.steps.length };
    this.samplers.forEach(function (name) { out[name] = stats[name][f]; });
    return out;
  };

  Explorer.prototype.set = function (opts, fromControl) {
    opts = opts || {};
    if (opts.frame !== undefined) {
      var f = Number(opts.frame);
      if (!(f >= 0 && f < this.steps.length) || Math.floor(f) !== f) {
        throw new RangeError("`frame` must be an integer in [0, " + (this.steps.length - 1) + "], got " + opts.frame + ".");
      }
      this.frame = f;
    }
    if (!fromControl) this.pause();
    this.draw();
    return this;
  };

  kit.playable(Explorer.prototype);

  Explorer.prototype.draw = function () {
    if (!this.levels || !this.slider) return;
    var self = this, t = this.text, f = this.frame, tile = this.meta.tile;
    var stepText = t.step(this.steps[f]);
    this.samplers.forEach(function (name, s) {
      var view = self.views[name];
      self.kinds.forEach(function (kind, k) {
        var c = view.canvases[kind], px = c.image.data, side = c.canvas.width;
        for (var j = 0; j < px.length; j += 4) { px[j] = px[j + 1] = px[j + 2] = 128; px[j + 3] = 255; }
        for (var i = 0; i < self.meta.num_samples; i++) {
          var gx = GAP + (i % GRID) * (tile + GAP), gy = GAP + Math.floor(i / GRID) * (tile + GAP);
          for (var r = 0; r < tile; r++) {
            for (var cc = 0; cc < tile; cc++) {
              var v = self._level(s, f, k, i, r, cc), p = 4 * ((gy + r) * side + gx + cc);
              px[p] = px[p + 1] = px[p + 2] = v;
            }
          }
        }
        c.ctx.putImageData(c.image, 0, 0);
        c.canvas.setAttribute("aria-label", t.aria(t[kind], t[name], stepText));
      });
      var st = self.meta.stats[name][f];
      view.rms.textContent = t.rms(fmt(st.x_t_rms_to_result, 3), fmt(st.x0_hat_rms_to_result, 3));
    });
    this.slider.set(f, stepText);
    if (!this.player.playing) this.status.textContent = t.status(f, this.steps.length, stepText);
    this.root.setAttribute("data-frame", String(f));
    kit.firstFrame(this, "reverse-explorer-first-frame");
  };

  var api = kit.register({ api: "medaiReverseExplorer", selector: ".reverse-explorer", create: Explorer });
  api.Explorer = Explorer;
})();
