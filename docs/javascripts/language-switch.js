// The language switcher keeps the reader's section.
// Each heading carries the id of its twin heading in the other language (data-twin, written
// when the site is built: site_tools/languages.py). When a language in the header's menu is
// chosen, its link gets the twin of the section being read: the one named in the address
// (#anchor), or else the last heading that has scrolled past the top of the screen. At the
// top of the page (the title, h1) the other language opens at its top too.
(function () {
  "use strict";

  function currentHeading() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var named = id && document.getElementById(id);
    if (named && named.hasAttribute("data-twin") && named.tagName !== "H1") return named;
    var header = document.querySelector(".md-header");
    var top = (header ? header.getBoundingClientRect().bottom : 0) + 8;
    var current = null;
    document.querySelectorAll("article [data-twin]:not(h1)").forEach(function (h) {
      if (h.getBoundingClientRect().top <= top) current = h;
    });
    return current;
  }

  // Capture phase: the link's address is set before the browser (or Material) follows it.
  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element && event.target.closest("a.md-select__link[hreflang]");
    if (!link) return;
    var heading = currentHeading();
    link.hash = heading ? heading.getAttribute("data-twin") : "";
  }, true);
})();
