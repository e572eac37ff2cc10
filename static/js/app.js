// Behaviour shared by every page. Loaded with "defer"; no inline scripts (Content-Security-Policy).
(function () {
  "use strict";

  // After a failed submission, move focus to the error summary so that screen readers read it and
  // keyboard users start from the list of links to the fields.
  function focusErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
    }
  }

  // A link in the error summary focuses the field itself (not only scrolls to it).
  function linkErrorSummary() {
    document.addEventListener("click", function (event) {
      var link = event.target.closest("[data-error-summary] a[href^='#']");
      if (!link) {
        return;
      }
      var target = document.getElementById(link.getAttribute("href").slice(1));
      if (target) {
        event.preventDefault();
        target.scrollIntoView({ block: "center" });
        target.focus();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrorSummary();
    linkErrorSummary();
  });
})();
