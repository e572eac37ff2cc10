// The police form (issue 16 § 1). Loaded with "defer"; no inline scripts (Content-Security-Policy).
// Where the browser has no date/time picker (the field falls back to plain text), the field asks for
// German dates ("21.11.2026 23:40") and shows the prefilled time that way; the server accepts both.
(function () {
  "use strict";

  function germanFallback(input) {
    var isDateTime = input.getAttribute("type") === "datetime-local";
    // A browser that knows the type keeps it; one that does not reports "text".
    if (input.type === "datetime-local" || input.type === "date") {
      return;
    }
    input.setAttribute("placeholder", isDateTime ? "TT.MM.JJJJ hh:mm" : "TT.MM.JJJJ");
    input.setAttribute("inputmode", "numeric");
    var match = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(input.value);
    if (match) {
      input.value = match[3] + "." + match[2] + "." + match[1] + (match[4] ? " " + match[4] + ":" + match[5] : "");
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("referral-form");
    if (!form) {
      return;
    }
    form.querySelectorAll("input[type=datetime-local], input[type=date]").forEach(germanFallback);
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
