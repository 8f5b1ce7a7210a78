// Accessibility fixes for Material's markup, found by axe-core in the browser tests.
// Material renders the search box as <div class="md-search" role="dialog"> without an
// accessible name (axe rule aria-dialog-name, impact "serious"); it is given the name
// of its own search field, which Material already translates ("検索" / "Search").
(function () {
  "use strict";

  function fix() {
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
