// Render the TeX that pymdownx.arithmatex (generic mode) leaves in the page.
// KaTeX itself is served from this site (assets/vendor/katex), never from a CDN.
(function () {
  "use strict";

  function stripDelimiters(tex, display) {
    var t = tex.trim();
    if (display && t.startsWith("\\[") && t.endsWith("\\]")) return t.slice(2, -2);
    if (!display && t.startsWith("\\(") && t.endsWith("\\)")) return t.slice(2, -2);
    if (t.startsWith("$$") && t.endsWith("$$")) return t.slice(2, -2);
    return t;
  }

  function renderAll(root) {
    if (typeof katex === "undefined") return;
    root.querySelectorAll(".arithmatex").forEach(function (el) {
      if (el.dataset.rendered === "1") return;
      var display = el.tagName === "DIV";
      var tex = stripDelimiters(el.textContent, display);
      // throwOnError: false draws bad TeX in red with class .katex-error,
      // which the browser tests look for.
      katex.render(tex, el, { displayMode: display, throwOnError: false, output: "htmlAndMathml" });
      el.dataset.rendered = "1";
    });
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(function () { renderAll(document.body); });
  } else {
    document.addEventListener("DOMContentLoaded", function () { renderAll(document.body); });
  }
})();
