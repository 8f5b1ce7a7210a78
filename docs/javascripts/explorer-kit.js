// What every explorer of the site shares (our own code, no libraries):
//
//   kit.lang(root)            "ja" or "en", from data-lang or <html lang>
//   kit.texts(TABLE, root)    the label table of the page's language
//   kit.reducedMotion()       prefers-reduced-motion: reduce
//   kit.el / kit.svg          small DOM builders
//   kit.fmt(x, digits)        numbers for readouts (exponent form when tiny or huge)
//   kit.slider({...})         a labelled <input type=range> with an <output>; PageUp/PageDown
//                             move by `bigStep`, Home/End go to the ends
//   kit.button(cls, label, f) a <button type=button>
//   kit.Player({...})         play / pause on requestAnimationFrame at `perSecond` steps a
//                             second, or, with reduced motion, one jump to where playing stops;
//                             keeps a play button's label and aria-pressed in step
//   kit.playable(proto)       gives an explorer's prototype play() / pause() / togglePlay() /
//                             destroy() over its `this.player` (a kit.Player)
//   kit.firstFrame(inst, name) records inst.firstDrawAt and inst.firstFrameAt (the benchmark)
//   kit.fetchData(url, kind)  fetch JSON ("json"), bytes ("bytes") or an image ("image")
//   kit.load(inst, {...})     inst.ready: fetch the data files side by side, then build; on failure
//                             an alert in the page's language (inst.text.failed) and a console warning
//   kit.sprite(img, w, h)     the grey levels (red channel) of a loaded 8-bit grey PNG sprite
//   kit.register({...})       window[api] = {instances, init}: builds one instance per element
//                             matching `selector` when it comes near the screen (or at once when
//                             `instances` is read or init() called), drops widgets that left the
//                             document and re-runs on Material's document$
//   kit.renderTex(...)        a live formula: plain text first, KaTeX's typesetting once KaTeX's
//                             script has loaded (asked for by the first formula, not by the page)
//
// An explorer is a constructor taking its root element; see lr-explorer.js,
// forward-explorer.js, reverse-explorer.js and guidance-explorer.js.
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var kit = window.medaiExplorerKit = window.medaiExplorerKit || {};
  var uid = 0;

  kit.uid = function (prefix) { return prefix + "-" + (++uid); };

  kit.el = function (tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  };

  kit.svg = function (tag, attrs) {
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  };

  kit.fmt = function (x, digits) {
    if (!isFinite(x)) return String(x);
    var ax = Math.abs(x);
    if (ax !== 0 && (ax >= 1e5 || ax < 1e-3)) return x.toExponential(2);
    return x.toFixed(digits === undefined ? 4 : digits);
  };

  kit.lang = function (root) {
    var lang = ((root && root.getAttribute("data-lang")) || document.documentElement.lang || "en").toLowerCase();
    return lang.indexOf("ja") === 0 ? "ja" : "en";
  };

  kit.texts = function (table, root) { return table[kit.lang(root)]; };

  kit.reducedMotion = function () {
    return !!(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
  };

  // display: a formula on a line of its own, typeset full size (a fraction is not shrunk to
  // inline size, as the scrubber's x̂₀ was).
  // KaTeX's script (270 kB) is loaded by the first live formula, not by the page: a page's own
  // formulas are typeset when the site is built, so only the explorers need it, and only once
  // the reader reaches one. Until it arrives a formula shows its plain-text form.
  var KATEX_URL = document.currentScript
    ? new URL("../assets/vendor/katex/katex.min.js", document.currentScript.src).href : null;
  var waitingTex = new Map();  // node -> [tex, display]: the latest formula asked for each node
  var katexState = null;       // null, "loading", "failed"

  function typeset(node, tex, display) {
    try {
      katex.render(tex, node, { throwOnError: false, output: "htmlAndMathml", displayMode: !!display });
      return true;
    } catch (e) { return false; }
  }

  function loadKatex() {
    if (katexState || !KATEX_URL) return;
    katexState = "loading";
    var script = document.createElement("script");
    script.src = KATEX_URL;
    script.onload = function () {
      waitingTex.forEach(function (job, node) { if (node.isConnected) typeset(node, job[0], job[1]); });
      waitingTex.clear();
    };
    script.onerror = function () { katexState = "failed"; waitingTex.clear(); };
    document.head.appendChild(script);
  }

  kit.renderTex = function (node, tex, fallback, display) {
    if (typeof katex !== "undefined") {
      waitingTex.delete(node);
      if (typeset(node, tex, display)) return;
    }
    node.textContent = fallback;
    if (typeof katex === "undefined" && katexState !== "failed") {
      waitingTex.set(node, [tex, display]);
      loadKatex();
    }
  };

  /**
   * The widget's note on how its numbers are checked, folded away under a summary in the
   * page's language: the reader sees the picture first, the precision details on request.
   */
  kit.checkNote = function (root, text) {
    var summary = kit.lang(root) === "ja" ? "どう確かめているか" : "How this is checked";
    return kit.el("details", { "class": "explorer__check" }, [
      kit.el("summary", { text: summary }),
      kit.el("p", { "class": "explorer__note", text: text })
    ]);
  };

  kit.button = function (cls, label, onClick) {
    var b = kit.el("button", { type: "button", "class": cls, text: label });
    b.addEventListener("click", onClick);
    return b;
  };

  /**
   * A labelled range input. opts: id, label, min, max, step, value, onInput(value),
   * classPrefix ("lr-explorer"), bigStep (PageUp/PageDown; default: a tenth of the range).
   */
  kit.slider = function (opts) {
    var p = opts.classPrefix || "explorer";
    var input = kit.el("input", {
      type: "range", id: opts.id, min: String(opts.min), max: String(opts.max),
      step: String(opts.step), value: String(opts.value), "class": p + "__range"
    });
    var out = kit.el("output", { "for": opts.id, "class": p + "__value" });
    var lab = kit.el("label", { "for": opts.id, text: opts.label });
    var row = kit.el("div", { "class": p + "__slider" }, [lab, input, out]);
    var big = opts.bigStep || (opts.max - opts.min) / 10;
    var fire = function () { if (opts.onInput) opts.onInput(parseFloat(input.value)); };
    input.addEventListener("input", fire);
    input.addEventListener("keydown", function (e) {
      var v = parseFloat(input.value), next = null;
      if (e.key === "PageUp") next = v + big;
      else if (e.key === "PageDown") next = v - big;
      if (next === null) return;
      e.preventDefault();
      next = Math.max(opts.min, Math.min(opts.max, next));
      input.value = String(next);
      fire();
    });
    return {
      row: row, input: input, out: out,
      set: function (value, text) {
        input.value = String(value);
        out.textContent = text === undefined ? String(value) : text;
        if (text !== undefined) input.setAttribute("aria-valuetext", text);
      }
    };
  };

  /**
   * Play / pause. opts: advance() -> false when there is nothing left to do,
   * done() -> true at the end, restart() (called by play() when done()), perSecond,
   * isConnected() (stop when the widget left the page), button, labels {play, pause, runToEnd},
   * onStop().
   */
  function Player(opts) {
    this.opts = opts;
    this.playing = false;
    this._timer = null;
    if (opts.button) {
      var self = this;
      opts.button.setAttribute("aria-pressed", "false");
      opts.button.addEventListener("click", function () { self.toggle(); });
      this._sync();
    }
  }

  Player.prototype._sync = function () {
    var b = this.opts.button, l = this.opts.labels;
    if (!b) return;
    b.textContent = kit.reducedMotion() ? l.runToEnd : (this.playing ? l.pause : l.play);
    b.setAttribute("aria-pressed", this.playing ? "true" : "false");
  };

  Player.prototype.play = function () {
    var self = this, o = this.opts;
    if (o.done()) o.restart();
    if (kit.reducedMotion()) {
      // No animation: jump straight to where playing would have stopped.
      while (!o.done()) { if (o.advance() === false) break; }
      return this;
    }
    if (this.playing) return this;
    this.playing = true;
    this._sync();
    var last = null;
    var tick = function (now) {
      if (!self.playing) return;
      if (o.isConnected && !o.isConnected()) { self.pause(); return; }
      if (last === null || now - last >= 1000 / o.perSecond) {
        last = now;
        if (o.advance() === false || o.done()) { self.pause(); return; }
      }
      self._timer = window.requestAnimationFrame(tick);
    };
    this._timer = window.requestAnimationFrame(tick);
    return this;
  };

  Player.prototype.pause = function () {
    if (this._timer !== null) window.cancelAnimationFrame(this._timer);
    this._timer = null;
    if (this.playing) {
      this.playing = false;
      this._sync();
      if (this.opts.onStop) this.opts.onStop();
    }
    return this;
  };

  Player.prototype.toggle = function () { return this.playing ? this.pause() : this.play(); };

  kit.Player = Player;

  /** play / pause / togglePlay / destroy on `proto`, driving `this.player` (absent before the data came). */
  kit.playable = function (proto) {
    proto.play = function () { if (this.player) this.player.play(); return this; };
    proto.pause = function () { if (this.player) this.player.pause(); return this; };
    proto.togglePlay = function () { if (this.player) this.player.toggle(); return this; };
    proto.destroy = function () { this.pause(); };
    return proto;
  };

  /** firstDrawAt: the widget's DOM is complete; firstFrameAt: the next animation frame. */
  kit.firstFrame = function (inst, markName) {
    if (inst.firstDrawAt !== null && inst.firstDrawAt !== undefined) return;
    inst.firstDrawAt = performance.now();
    window.requestAnimationFrame(function () {
      inst.firstFrameAt = performance.now();
      if (performance.mark) performance.mark(markName);
    });
  };

  kit.fetchData = function (url, kind) {
    if (kind === "image") {
      return new Promise(function (resolve, reject) {
        var img = new Image();
        img.onload = function () { resolve(img); };
        img.onerror = function () { reject(new Error("could not load " + url)); };
        img.src = url;
      });
    }
    return fetch(url).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status + " for " + url);
      return kind === "json" ? r.json() : r.arrayBuffer();
    });
  };

  /**
   * inst.ready = all of opts.fetches (promises, fetched side by side: one round trip, not two),
   * then opts.onData(results) with `this` = inst. On failure: an alert with inst.text.failed at the
   * top of inst.root, a console warning naming opts.name, and opts.onError(err) if given.
   */
  kit.load = function (inst, opts) {
    inst.ready = Promise.all(opts.fetches).then(function (got) {
      opts.onData.call(inst, got);
      return inst;
    }).catch(function (err) {
      if (opts.onError) opts.onError.call(inst, err);
      var msg = kit.el("p", { "class": "explorer__error", role: "alert", text: inst.text.failed });
      inst.root.insertBefore(msg, inst.root.firstChild);
      if (window.console) console.warn(opts.name + ":", err);
      throw err;
    });
    inst.ready.catch(function () { /* reported on the page */ });
    return inst.ready;
  };

  /** The grey levels (0-255, the red channel) of an 8-bit grey PNG sprite, checked against its stated size. */
  kit.sprite = function (img, width, height) {
    if (img.naturalWidth !== width || img.naturalHeight !== height) {
      throw new Error("the sprite is " + img.naturalWidth + "x" + img.naturalHeight + ", meta.json says " +
        width + "x" + height);
    }
    var c = document.createElement("canvas");
    c.width = width;
    c.height = height;
    var ctx = c.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(img, 0, 0);
    var rgba = ctx.getImageData(0, 0, width, height).data;
    var levels = new Uint8Array(width * height);
    for (var i = 0; i < levels.length; i++) levels[i] = rgba[4 * i];
    return levels;
  };

  /** The URL of the first link in `root` whose class is `cls` (written by the page). */
  kit.dataUrl = function (root, cls) {
    var a = root.querySelector("a." + cls) || root.querySelector("a[href]");
    return a ? a.href : null;
  };

  /**
   * window[opts.api] = {instances, init}; every element matching opts.selector gets one
   * `new opts.create(root)`, when it comes within a screen of the visible part of the page: a
   * widget further down costs the page's start nothing (its drawing, its data, KaTeX's script).
   * Reading `instances` or calling init() starts every widget at once (scripts and tests that
   * drive one). Idempotent; instances whose root left the document are destroyed.
   */
  kit.register = function (opts) {
    var api = window[opts.api] = window[opts.api] || {};
    var key = "__" + opts.api;
    var started = api.started || [];
    api.started = started;
    var observer = null;

    function start(root) {
      if (root[key] && started.indexOf(root[key]) >= 0) return;
      if (observer) observer.unobserve(root);
      var startedAt = performance.now();
      root[key] = new opts.create(root);
      root[key].startedAt = startedAt;  // the benchmark's first frame is counted from here
      started.push(root[key]);
    }

    function forgetDetached() {
      for (var i = started.length - 1; i >= 0; i--) {
        if (started[i].root.isConnected) continue;
        if (started[i].destroy) started[i].destroy();
        started.splice(i, 1);
      }
    }

    api.init = function (scope) {
      forgetDetached();
      (scope || document).querySelectorAll(opts.selector).forEach(start);
      return started;
    };

    // the widgets of the page, started when they come near the screen
    function watch(scope) {
      forgetDetached();
      var roots = (scope || document).querySelectorAll(opts.selector);
      if (!("IntersectionObserver" in window)) { roots.forEach(start); return; }
      observer = observer || new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) { if (entry.isIntersecting) start(entry.target); });
      }, { rootMargin: "100% 0px" });
      roots.forEach(function (root) { if (!root[key]) observer.observe(root); });
    }

    Object.defineProperty(api, "instances", {
      configurable: true,
      get: function () { return api.init(document); },
    });

    if (document.body) watch(document);
    if (typeof document$ !== "undefined" && document$ && typeof document$.subscribe === "function") {
      document$.subscribe(function () { watch(document); });
    } else if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", function () { watch(document); });
    }
    return api;
  };
})();
