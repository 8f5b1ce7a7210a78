// Accessibility fixes, found by axe-core in the browser tests (tests/browser/).
// 1. Material renders the search box as <div class="md-search" role="dialog"> without an
//    accessible name (axe rule aria-dialog-name, "serious"); it is given the name of its
//    own search field, which Material already translates ("検索" / "Search").
// 2. A display formula wider than the text column scrolls sideways (extra.css); a
//    keyboard user can only scroll it if it can take focus (axe rule
//    scrollable-region-focusable, "serious"). Only formulas that actually overflow get
//    tabindex="0", so short formulas add no tab stops. KaTeX typesets the formulas when
//    the site is built (site_tools/katex.py), so the width is known once the page has loaded.
(function () {
  "use strict";

  // The check runs in a ResizeObserver: the browser reports each formula after its own layout
  // (and again when the window or the formula's width changes), so reading the widths costs no
  // extra layout of the page. Formulas far below the screen are reported when the reader nears
  // them (extra.css lays out a lesson's blocks near the screen only).
  function markWide(el) {
    var wide = el.scrollWidth > el.clientWidth + 1;
    if (wide && !el.hasAttribute("tabindex")) {
      el.setAttribute("tabindex", "0");
      el.setAttribute("data-a11y-scroll", "1");
    } else if (!wide && el.getAttribute("data-a11y-scroll") === "1") {
      el.removeAttribute("tabindex");
      el.removeAttribute("data-a11y-scroll");
    }
  }

  var watcher = typeof ResizeObserver === "function"
    ? new ResizeObserver(function (entries) {
      entries.forEach(function (e) { markWide(e.target.closest("div.arithmatex")); });
    })
    : null;

  function focusableWideMaths() {
    document.querySelectorAll("div.arithmatex").forEach(function (el) {
      if (!watcher) return markWide(el);
      watcher.observe(el);
      // its formula may wait to be laid out until the reader nears it (extra.css): its own
      // size change then tells the box to look again
      var formula = el.querySelector(".katex-display");
      if (formula) watcher.observe(formula);
    });
  }

  function fix() {
    focusableWideMaths();
    document.querySelectorAll('.md-search[role="dialog"]:not([aria-label]):not([aria-labelledby])')
      .forEach(function (dialog) {
        var input = dialog.querySelector(".md-search__input");
        var name = input && (input.getAttribute("aria-label") || input.getAttribute("placeholder"));
        dialog.setAttribute("aria-label", name || (document.documentElement.lang === "ja" ? "検索" : "Search"));
      });
  }

  if (typeof document$ !== "undefined" && document$ && typeof document$.subscribe === "function") {
    document$.subscribe(fix);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fix);
  } else {
    fix();
  }
})();
