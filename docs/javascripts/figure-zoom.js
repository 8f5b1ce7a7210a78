// Figures open full screen on a tap or a click, at their own size (1 CSS px per drawn px), in
// a box that scrolls both ways. On a phone a wide diagram is shrunk to the 358 px text column
// (its labels 4-7 px); opened, its labels are as drawn (14 px and up) and a finger pans it.
// A native <dialog>: Esc and the close button close it, focus goes back to the figure.
// The site's build gives each figure a light and a dark twin (site_tools/figures.py); the
// one shown is the one opened.
(function () {
  "use strict";

  var TEXT = {
    ja: { open: "図を拡大して見る: ", close: "閉じる", hint: "拡大" },
    en: { open: "Enlarge the figure: ", close: "Close", hint: "Enlarge" }
  };
  var FIGURE = 'article img[src*="assets/figures/"]';
  var dialog = null, shown = null, opener = null;

  function text() {
    return TEXT[(document.documentElement.lang || "ja").slice(0, 2)] || TEXT.en;
  }

  function visible(button) {
    var imgs = button.querySelectorAll("img");
    for (var i = 0; i < imgs.length; i++) if (imgs[i].offsetWidth > 0) return imgs[i];
    return imgs[0];
  }

  function build() {
    var t = text();
    dialog = document.createElement("dialog");
    dialog.className = "figure-zoom__dialog";
    var close = document.createElement("button");
    close.type = "button";
    close.className = "figure-zoom__close";
    close.textContent = "×";
    close.setAttribute("aria-label", t.close);
    close.addEventListener("click", function () { dialog.close(); });
    var scroll = document.createElement("div");
    scroll.className = "figure-zoom__scroll";
    shown = document.createElement("img");
    shown.className = "figure-zoom__image";
    scroll.appendChild(shown);
    dialog.appendChild(close);
    dialog.appendChild(scroll);
    // a click on the empty space around the figure closes it, as on the close button
    scroll.addEventListener("click", function (e) { if (e.target === scroll) dialog.close(); });
    dialog.addEventListener("close", function () {
      shown.removeAttribute("src");
      if (opener) opener.focus();
    });
    document.body.appendChild(dialog);
  }

  function open(button) {
    if (!dialog) build();
    var img = visible(button);
    opener = button;
    shown.alt = img.alt;
    // its own size: the width and height the build wrote from the file (an SVG's own size, a
    // PNG's pixels), never shrunk to the screen
    shown.width = Number(img.getAttribute("width")) || img.naturalWidth;
    shown.height = Number(img.getAttribute("height")) || img.naturalHeight;
    shown.src = (img.currentSrc || img.src).split("#")[0];
    dialog.showModal();
  }

  function wrap(img) {
    if (img.closest(".figure-zoom")) return;
    var t = text();
    var button = document.createElement("button");
    button.type = "button";
    button.className = "figure-zoom";
    button.setAttribute("aria-label", t.open + (img.alt || ""));
    img.parentNode.insertBefore(button, img);
    button.appendChild(img);
    // the dark twin right after it goes into the same button
    var next = button.nextElementSibling;
    if (next && next.matches(FIGURE)) button.appendChild(next);
    var hint = document.createElement("span");
    hint.className = "figure-zoom__hint";
    hint.setAttribute("aria-hidden", "true");
    hint.textContent = t.hint;
    button.appendChild(hint);
    button.addEventListener("click", function () { open(button); });
  }

  // A figure drawn wider than its column, shrunk by more than a fifth, offers to be opened.
  function mark(button) {
    var img = visible(button);
    var drawn = Number(img.getAttribute("width")) || img.naturalWidth;
    button.classList.toggle("figure-zoom--shrunk", img.clientWidth > 0 && drawn > 1.2 * img.clientWidth);
  }

  // A ResizeObserver reports each figure after the browser's own layout (at load, when the window
  // changes, when the palette swaps the twins, and for a figure far down, when the reader nears
  // it), so measuring costs no extra layout of the page.
  var watcher = typeof ResizeObserver === "function"
    ? new ResizeObserver(function (entries) {
      entries.forEach(function (e) { mark(e.target.closest(".figure-zoom")); });
    })
    : null;

  function start() {
    document.querySelectorAll(FIGURE).forEach(wrap);
    document.querySelectorAll(".figure-zoom").forEach(function (button) {
      if (!watcher) return mark(button);
      button.querySelectorAll("img").forEach(function (img) { watcher.observe(img); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  window.medaiFigureZoom = { open: open, start: start };
})();
