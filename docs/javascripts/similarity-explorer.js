// Similarity-matrix explorer of the self-supervised lesson: 8 held-out digits (rows, the queries
// q_i) against their 8 captions (columns, the keys k_j) in the shipped miniature CLIP. The left
// heat map is the cosine q̂_i·k̂_j; the right one is each row's softmax of s_ij = q̂_i·k̂_j / τ,
// and the readouts give InfoNCE = −(1/N) Σ_i log p_ii (van den Oord et al. 2018, Eq. 4) and CLIP's
// symmetric loss with t = 1/τ (Radford et al. 2021). "Shuffle captions" pairs every image with
// another image's caption, so the diagonal (the targets) no longer holds the matches.
//
// Every <div class="similarity-explorer"> holding <a class="explorer-data" href=".../meta.json">
// becomes a widget. site_tools/explorer_data.py writes the data at build time from the package's
// similarity_example(): the images, the captions and the cosines in float64.
// The browser tests read them through window.medaiSimilarityExplorer.instances[0]:
//   .ready (a Promise)  .set({tau, order})  .shuffle()  .restore()  .state()  .firstFrameAt
(function () {
  "use strict";

  var kit = window.medaiExplorerKit;
  var el = kit.el;
  var SHOWN = 28;   // CSS pixels of one digit image (drawn from 8 x 8)

  var TEXT = {
    ja: {
      title: "類似度行列エクスプローラー(同梱のミニチュア CLIP)",
      cosTitle: "コサイン類似度 q̂ᵢ·k̂ⱼ(τ によらない)",
      probTitle: function (tau) { return "各行のソフトマックス pᵢⱼ(τ = " + tau + ")"; },
      axes: "行は画像(クエリ qᵢ)、列はそのキャプション(キー kⱼ)。枠で囲んだ対角が正解の組です。",
      scale: "t = 1/τ",
      image: function (d) { return "評価用の手書きの " + d + " の画像"; },
      captionPrefix: "a handwritten ",
      tau: "温度 τ",
      tauText: function (tau, t) { return "τ = " + tau + "(t = 1/τ = " + t + ")"; },
      learnt: "(学習された値)",
      infoNce: "InfoNCE(画像 → キャプション)",
      inOrder: "正しい順のときの InfoNCE",
      clip: "CLIP の損失(両方向、t = 1/τ)",
      chance: "偶然の水準 log 8",
      top1: "いちばん確率の高い列が対角にある行",
      top1Value: function (k, n) { return k + " / " + n; },
      shuffle: "キャプションを並べ替える",
      restore: "元の順に戻す",
      goLearnt: function (tau) { return "学習された τ = " + tau + " へ"; },
      status: function (tau, inOrder, loss, chance) {
        return "τ = " + tau + "、" + (inOrder ? "キャプションは正しい順" : "キャプションを並べ替えた状態") +
          ": InfoNCE " + loss + "(偶然の水準 " + chance + ")";
      },
      failed: "エクスプローラーのデータを読み込めませんでした。",
      note: function (m) {
        return "コサイン類似度は同梱のミニチュア CLIP のもの(similarity_example: 数字 0〜7 それぞれで最初の評価用画像と、" +
          "キャプション “a handwritten zero” 〜 “a handwritten seven”)で、サイトを作るときに埋め込みから float64 で計算しています。" +
          "ソフトマックスと損失はブラウザーが float64 で計算します。ブラウザーテストが、いくつかの τ と並べ替えのあとで、" +
          "表示された InfoNCE と CLIP の損失を、同じ埋め込みに対するパッケージの info_nce と clip_loss(float64)と比べ、" +
          "差が " + m.tolerance + " 以下であることを確かめています。表示は小数 4 桁(行列のセルは 2 桁)に丸めています。" +
          "学習された τ は 1/t = 1/" + m.scale + " です。";
      }
    },
    en: {
      title: "Similarity-matrix explorer (the shipped miniature CLIP)",
      cosTitle: "Cosine q̂ᵢ·k̂ⱼ (does not depend on τ)",
      probTitle: function (tau) { return "Softmax of each row pᵢⱼ (τ = " + tau + ")"; },
      axes: "Rows are the images (queries qᵢ), columns their captions (keys kⱼ). The framed diagonal holds the pairs that belong together.",
      scale: "t = 1/τ",
      image: function (d) { return "Held-out image of a handwritten " + d; },
      captionPrefix: "a handwritten ",
      tau: "Temperature τ",
      tauText: function (tau, t) { return "τ = " + tau + " (t = 1/τ = " + t + ")"; },
      learnt: " (learnt)",
      infoNce: "InfoNCE (image → caption)",
      inOrder: "InfoNCE with the captions in order",
      clip: "CLIP loss (both directions, t = 1/τ)",
      chance: "Chance level log 8",
      top1: "Rows whose most likely column is on the diagonal",
      top1Value: function (k, n) { return k + " of " + n; },
      shuffle: "Shuffle captions",
      restore: "Restore order",
      goLearnt: function (tau) { return "Go to the learnt τ = " + tau; },
      status: function (tau, inOrder, loss, chance) {
        return "τ = " + tau + ", " + (inOrder ? "captions in order" : "captions shuffled") +
          ": InfoNCE " + loss + " (chance level " + chance + ")";
      },
      failed: "The explorer's data could not be loaded.",
      note: function (m) {
        return "The cosines are the shipped miniature CLIP's (similarity_example: the first held-out image of each digit " +
          "0–7 and the captions “a handwritten zero” to “a handwritten seven”), computed in float64 from its embeddings " +
          "when the site is built. Your browser computes the softmax and the losses in float64. A browser test compares " +
          "the InfoNCE and CLIP loss shown, at several τ and after a shuffle, with the package's info_nce and clip_loss " +
          "run in float64 on the same embeddings: they agree within " + m.tolerance + ". Readouts are rounded to 4 decimals " +
          "(the matrix cells to 2). The learnt τ is 1/t = 1/" + m.scale + ".";
      }
    }
  };

  /** |shown − package (float64)| stays below this (stated in the note; checked by the browser test) */
  var TOLERANCE = "1e-9";

  function tauText(tau) { return tau >= 0.1 ? String(+tau.toFixed(3)) : String(+tau.toFixed(4)); }

  /** A small seeded generator (mulberry32), so a shuffle can be repeated and tested. */
  function random(seed) {
    var a = seed >>> 0;
    return function () {
      a = (a + 0x6D2B79F5) >>> 0;
      var t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** A permutation of 0..n-1 that moves every caption (a derangement), from `seed`. */
  function derangement(n, seed) {
    var rand = random(seed);
    for (;;) {
      var p = [];
      for (var i = 0; i < n; i++) p.push(i);
      for (var j = n - 1; j > 0; j--) {
        var k = Math.floor(rand() * (j + 1)), tmp = p[j];
        p[j] = p[k];
        p[k] = tmp;
      }
      if (p.every(function (v, i) { return v !== i; })) return p;
    }
  }

  /** Row-wise softmax of logits[i][j]; returns {p, logp}. logsumexp with the row maximum subtracted. */
  function softmaxRows(logits) {
    var p = [], logp = [];
    logits.forEach(function (row) {
      var m = Math.max.apply(null, row), sum = 0;
      row.forEach(function (v) { sum += Math.exp(v - m); });
      var lse = m + Math.log(sum);
      logp.push(row.map(function (v) { return v - lse; }));
      p.push(row.map(function (v) { return Math.exp(v - lse); }));
    });
    return { p: p, logp: logp };
  }

  /** Mean of −log p_ii over the rows: InfoNCE with the diagonal as targets. */
  function crossEntropy(logits) {
    var logp = softmaxRows(logits).logp, s = 0;
    for (var i = 0; i < logp.length; i++) s -= logp[i][i];
    return s / logp.length;
  }

  function transpose(a) { return a[0].map(function (_, j) { return a.map(function (row) { return row[j]; }); }); }

  // ------------------------------------------------------------------ colours

  function hexRgb(hex, fallback) {
    var h = (hex || "").trim();
    if (!/^#[0-9a-f]{6}$/i.test(h)) return fallback;
    return [0, 2, 4].map(function (j) { return parseInt(h.slice(1 + j, 3 + j), 16); });
  }
  function mix(a, b, w) { return a.map(function (v, i) { return Math.round(v + (b[i] - v) * w); }); }
  function luminance(rgb) {
    var c = rgb.map(function (v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  /** Black or white, whichever contrasts more with the cell (at least 4.58:1 for any colour). */
  function inkOn(rgb) {
    var L = luminance(rgb);
    return (L + 0.05) / 0.05 >= 1.05 / (L + 0.05) ? "#000000" : "#ffffff";
  }
  function css(rgb) { return "rgb(" + rgb.join(",") + ")"; }

  // ------------------------------------------------------------------ the widget

  function Explorer(root) {
    var self = this;
    this.root = root;
    this.lang = kit.lang(root);
    this.text = TEXT[this.lang];
    this.id = kit.uid("smx");
    this.firstDrawAt = null;
    this.firstFrameAt = null;
    this.presses = 0;
    var url = kit.dataUrl(root, "explorer-data");
    kit.load(this, {
      name: "similarity explorer",
      fetches: [kit.fetchData(url, "json")],
      onData: function (got) {
        self._load(got[0]);
        self._build();
        self.draw();
      }
    });
  }

  Explorer.prototype._load = function (meta) {
    this.meta = meta;
    this.n = meta.labels.length;
    this.cosine = meta.cosine;
    this.temperatures = meta.temperatures;
    this.tauIndex = this.temperatures.indexOf(meta.learnt_temperature);
    if (this.tauIndex < 0) this.tauIndex = 0;
    this.order = meta.labels.map(function (_, j) { return j; });   // column j shows caption order[j]
  };

  // ------------------------------------------------------------------ the numbers (test hook)

  Explorer.prototype._checkTau = function (tau) {
    var i = this.temperatures.indexOf(Number(tau));
    if (i < 0) throw new RangeError("`tau` must be one of " + this.temperatures.join(", ") + ", got " + tau + ".");
    return i;
  };

  Explorer.prototype._checkOrder = function (order) {
    var n = this.n;
    var ok = Array.isArray(order) && order.length === n &&
      order.slice().sort(function (a, b) { return a - b; }).every(function (v, i) { return v === i; });
    if (!ok) throw new RangeError("`order` must be a permutation of 0.." + (n - 1) + ", got " + JSON.stringify(order) + ".");
    return order.slice();
  };

  /** The logits s_ij = cos(image i, caption order[j]) / τ. */
  Explorer.prototype.logits = function () {
    var tau = this.temperatures[this.tauIndex], cos = this.cosine, order = this.order;
    return cos.map(function (row) { return order.map(function (c) { return row[c] / tau; }); });
  };

  Explorer.prototype.state = function () {
    var tau = this.temperatures[this.tauIndex], logits = this.logits(), sm = softmaxRows(logits);
    var self = this, inOrderLogits = this.cosine.map(function (row) { return row.map(function (v) { return v / tau; }); });
    var top1 = sm.p.filter(function (row, i) { return row.indexOf(Math.max.apply(null, row)) === i; }).length;
    return {
      tau: tau, logitScale: 1 / tau, learntTau: this.meta.learnt_temperature, order: this.order.slice(),
      inOrder: this.order.every(function (v, i) { return v === i; }),
      infoNce: crossEntropy(logits),
      infoNceInOrder: crossEntropy(inOrderLogits),
      clipLoss: (crossEntropy(logits) + crossEntropy(transpose(logits))) / 2,
      chance: Math.log(this.n),
      top1: top1,
      probabilities: sm.p,
      shown: self.out ? {
        infoNce: self.out.infoNce.textContent, inOrder: self.out.inOrder.textContent,
        clipLoss: self.out.clip.textContent, chance: self.out.chance.textContent, top1: self.out.top1.textContent,
        status: self.status.textContent
      } : null
    };
  };

  // ------------------------------------------------------------------ building

  Explorer.prototype._digitCanvas = function (i) {
    var size = this.meta.image_size, px = this.meta.pixels[i];
    var cv = el("canvas", { width: String(size[1]), height: String(size[0]), role: "img",
      "class": "similarity-explorer__digit", "aria-label": this.text.image(this.meta.labels[i]) });
    var ctx = cv.getContext("2d"), img = ctx.createImageData(size[1], size[0]);
    for (var k = 0; k < px.length; k++) {
      img.data[4 * k] = img.data[4 * k + 1] = img.data[4 * k + 2] = px[k];
      img.data[4 * k + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    return cv;
  };

  /** One heat map: a <table> with the images as row headers and the captions as column headers. */
  Explorer.prototype._table = function (cls, titleId) {
    var self = this, t = this.text, n = this.n;
    var caption = el("caption", { id: titleId, "class": "similarity-explorer__caption" });
    var headRow = el("tr", {}, [el("td", { "class": "similarity-explorer__corner" })]);
    var colHeads = [];
    for (var j = 0; j < n; j++) {
      var word = el("span", { "class": "similarity-explorer__word" });
      var th = el("th", { scope: "col", "class": "similarity-explorer__col" }, [
        el("span", { "class": "similarity-explorer__hidden", text: t.captionPrefix }), word]);
      colHeads.push(word);
      headRow.appendChild(th);
    }
    var body = el("tbody"), cells = [];
    for (var i = 0; i < n; i++) {
      var tr = el("tr", {}, [el("th", { scope: "row", "class": "similarity-explorer__row" }, [self._digitCanvas(i)])]);
      var row = [];
      for (var c = 0; c < n; c++) {
        var td = el("td", { "class": "similarity-explorer__cell" + (i === c ? " similarity-explorer__cell--target" : "") });
        row.push(td);
        tr.appendChild(td);
      }
      cells.push(row);
      body.appendChild(tr);
    }
    var table = el("table", { "class": "similarity-explorer__table " + cls }, [caption, el("thead", {}, [headRow]), body]);
    return { table: table, caption: caption, words: colHeads, cells: cells };
  };

  Explorer.prototype._build = function () {
    var self = this, t = this.text, id = this.id, root = this.root, m = this.meta;
    root.textContent = "";
    root.classList.add("similarity-explorer--ready");
    root.setAttribute("role", "group");
    root.setAttribute("aria-labelledby", id + "-title");
    var title = el("p", { "class": "explorer__title", id: id + "-title", text: t.title });
    var formula = el("p", { "class": "explorer__formula" });
    kit.renderTex(formula,
      "\\begin{gathered} s_{ij} = \\frac{\\hat q_i \\cdot \\hat k_j}{\\tau},\\quad " +
      "p_{ij} = \\frac{e^{s_{ij}}}{\\sum_{j'} e^{s_{ij'}}} \\\\ " +
      "\\mathcal{L}_\\text{InfoNCE} = -\\frac{1}{N}\\sum_{i=1}^{N} \\log p_{ii} \\end{gathered}",
      "s_ij = q̂_i·k̂_j / τ,  p_ij = exp(s_ij) / Σ_j' exp(s_ij'),  L = −(1/N) Σ_i log p_ii", true);

    this.cos = this._table("similarity-explorer__cosine", id + "-cos");
    this.prob = this._table("similarity-explorer__softmax", id + "-prob");
    this.cos.caption.textContent = t.cosTitle;
    var axes = el("p", { "class": "similarity-explorer__axes", text: t.axes });
    var maps = el("div", { "class": "similarity-explorer__maps" }, [
      el("div", { "class": "similarity-explorer__scroll" }, [this.cos.table]),
      el("div", { "class": "similarity-explorer__scroll" }, [this.prob.table])
    ]);

    function readout(cls, label) {
      var dd = el("dd", { "class": "similarity-explorer__" + cls });
      return { dd: dd, nodes: [el("dt", { text: label }), dd] };
    }
    var rows = [readout("infonce", t.infoNce), readout("in-order", t.inOrder), readout("clip", t.clip),
      readout("chance", t.chance), readout("top1", t.top1), readout("scale", t.scale)];
    this.out = { infoNce: rows[0].dd, inOrder: rows[1].dd, clip: rows[2].dd, chance: rows[3].dd, top1: rows[4].dd,
      scale: rows[5].dd };
    var dl = el("dl", { "class": "similarity-explorer__readouts" },
      [].concat.apply([], rows.map(function (r) { return r.nodes; })));

    this.slider = kit.slider({
      id: id + "-tau", label: t.tau, min: 0, max: this.temperatures.length - 1, step: 1, value: this.tauIndex,
      bigStep: 3, classPrefix: "explorer",
      onInput: function (v) { self.set({ tau: self.temperatures[v] }); }
    });
    this.shuffleBtn = kit.button("explorer__button similarity-explorer__shuffle", t.shuffle, function () { self.shuffle(); });
    this.restoreBtn = kit.button("explorer__button similarity-explorer__restore", t.restore, function () { self.restore(); });
    this.learntBtn = kit.button("explorer__button similarity-explorer__go-learnt", t.goLearnt(tauText(m.learnt_temperature)),
      function () { self.set({ tau: m.learnt_temperature }); });
    var controls = el("div", { "class": "explorer__controls" }, [this.slider.row,
      el("div", { "class": "explorer__buttons" }, [this.shuffleBtn, this.restoreBtn, this.learntBtn])]);
    this.status = el("p", { "class": "explorer__status", role: "status", "aria-live": "polite" });
    var note = kit.checkNote(root, t.note({ tolerance: TOLERANCE, scale: m.logit_scale.toFixed(4) }));
    [title, formula, axes, maps, dl, this.status, controls, note].forEach(function (nd) { root.appendChild(nd); });
  };

  // ------------------------------------------------------------------ controls

  Explorer.prototype.set = function (opts) {
    opts = opts || {};
    if (opts.tau !== undefined) this.tauIndex = this._checkTau(opts.tau);
    if (opts.order !== undefined) this.order = this._checkOrder(opts.order);
    this.draw();
    return this;
  };

  /** Pair every image with another image's caption (a new seeded derangement on each press). */
  Explorer.prototype.shuffle = function () {
    var order = derangement(this.n, this.meta.shuffle_seed + this.presses);
    this.presses += 1;
    return this.set({ order: order });
  };

  Explorer.prototype.restore = function () {
    return this.set({ order: this.meta.labels.map(function (_, j) { return j; }) });
  };

  Explorer.prototype.destroy = function () {};

  // ------------------------------------------------------------------ drawing

  Explorer.prototype._colours = function () {
    var cs = getComputedStyle(this.root);
    return {
      neg: hexRgb(cs.getPropertyValue("--smx-neg"), [33, 102, 172]),
      mid: hexRgb(cs.getPropertyValue("--smx-mid"), [255, 255, 255]),
      pos: hexRgb(cs.getPropertyValue("--smx-pos"), [178, 24, 43]),
      prob: hexRgb(cs.getPropertyValue("--smx-prob"), [0, 77, 64])
    };
  };

  Explorer.prototype.draw = function () {
    if (!this.cosine || !this.slider) return;
    var self = this, t = this.text, st = this.state(), col = this._colours(), n = this.n;
    var words = this.meta.prompts.map(function (p) { return p.replace(/^a handwritten /, ""); });
    var tau = tauText(st.tau);
    function paint(td, rgb, label) {
      td.style.backgroundColor = css(rgb);
      td.style.color = inkOn(rgb);
      td.textContent = label;
    }
    for (var j = 0; j < n; j++) {
      var w = words[this.order[j]];
      this.cos.words[j].textContent = w;
      this.prob.words[j].textContent = w;
    }
    for (var i = 0; i < n; i++) {
      for (j = 0; j < n; j++) {
        var c = this.cosine[i][this.order[j]];
        paint(this.cos.cells[i][j], c >= 0 ? mix(col.mid, col.pos, c) : mix(col.mid, col.neg, -c), c.toFixed(2));
        var p = st.probabilities[i][j];
        paint(this.prob.cells[i][j], mix(col.mid, col.prob, p), p.toFixed(2));
      }
    }
    this.prob.caption.textContent = t.probTitle(tau);
    var learnt = st.tau === st.learntTau ? t.learnt : "";
    this.slider.set(this.tauIndex, tau);   // the output shows τ; the screen reader hears t as well
    this.slider.input.setAttribute("aria-valuetext", t.tauText(tau, (1 / st.tau).toFixed(2)) + learnt);
    this.out.scale.textContent = (1 / st.tau).toFixed(2) + learnt;
    this.out.infoNce.textContent = st.infoNce.toFixed(4);
    this.out.inOrder.textContent = st.infoNceInOrder.toFixed(4);
    this.out.clip.textContent = st.clipLoss.toFixed(4);
    this.out.chance.textContent = st.chance.toFixed(4);
    this.out.top1.textContent = t.top1Value(st.top1, n);
    this.status.textContent = t.status(tau, st.inOrder, st.infoNce.toFixed(4), st.chance.toFixed(4));
    this.root.setAttribute("data-tau", String(st.tau));
    this.root.setAttribute("data-order", this.order.join(","));
    kit.firstFrame(this, "similarity-explorer-first-frame");
  };

  var api = kit.register({ api: "medaiSimilarityExplorer", selector: ".similarity-explorer", create: Explorer });
  api.Explorer = Explorer;
  api.derangement = derangement;
})();
