// German dates where the browser has no date/time picker (issue 16 § 1), for every field marked
// data-german-date (the police form, the casework forms, the inbox filters): such a browser shows the
// field as plain text, so the field asks for "21.11.2026 23:40" (or "21.11.2026") and shows a
// prefilled value that way; the server accepts both that and the picker's ISO format
// (referrals/forms.py DATE_INPUT_FORMATS, GERMAN_DATE). Loaded with "defer"; no inline scripts
// (Content-Security-Policy).
(function () {
  "use strict";

  function germanFallback(input) {
    var isDateTime = input.getAttribute("type") === "datetime-local";
    // A browser that knows the type keeps it (and its picker); one that does not reports "text".
    if (input.type === "datetime-local" || input.type === "date") {
      return;
    }
    input.setAttribute("type", "text");
    input.setAttribute("placeholder", isDateTime ? "TT.MM.JJJJ hh:mm" : "TT.MM.JJJJ");
    input.setAttribute("inputmode", "numeric");
    ["min", "max", "step"].forEach(function (name) { input.removeAttribute(name); });
    var match = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(input.value);
    if (match) {
      input.value = match[3] + "." + match[2] + "." + match[1] + (match[4] ? " " + match[4] + ":" + match[5] : "");
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-german-date]").forEach(germanFallback);
  });
})();
