// The police form (issue 16 § 1). Loaded with "defer"; no inline scripts (Content-Security-Policy).
// German dates where the browser has no picker: static/js/german-dates.js, on every page.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("referral-form");
    if (!form) {
      return;
    }
    // A jump link moves the focus into the section, so that the keyboard continues there.
    document.querySelectorAll(".form-jump a[href^='#']").forEach(function (link) {
      link.addEventListener("click", function () {
        var target = document.getElementById(link.getAttribute("href").slice(1));
        if (target) {
          window.setTimeout(function () { target.focus({ preventScroll: true }); }, 0);
        }
      });
    });
  });
})();
