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

  // A "select all" checkbox (data-select-all="<name>") checks or unchecks every checkbox of that
  // name in its form; it follows their state when they are changed one by one.
  function selectAll() {
    document.querySelectorAll("[data-select-all]").forEach(function (master) {
      var form = master.form;
      var name = master.getAttribute("data-select-all");
      function boxes() {
        return Array.prototype.slice.call(form.querySelectorAll("input[type=checkbox][name='" + name + "']"));
      }
      function sync() {
        var all = boxes();
        var checked = all.filter(function (box) { return box.checked; }).length;
        master.checked = all.length > 0 && checked === all.length;
        master.indeterminate = checked > 0 && checked < all.length;
      }
      master.addEventListener("change", function () {
        boxes().forEach(function (box) { box.checked = master.checked; });
        sync();
      });
      form.addEventListener("change", function (event) {
        if (event.target.name === name) {
          sync();
        }
      });
      sync();
    });
  }

  // "Cancel" on a confirmation page (data-history-back) goes back in the browser's history: the form
  // comes back as the person filled it (the link itself leads to the page without what was typed).
  function historyBack() {
    document.addEventListener("click", function (event) {
      var link = event.target.closest("a[data-history-back]");
      if (!link || window.history.length < 2 || !document.referrer) {
        return;
      }
      if (new URL(document.referrer).origin !== window.location.origin) {
        return;
      }
      event.preventDefault();
      window.history.back();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrorSummary();
    linkErrorSummary();
    selectAll();
    historyBack();
  });
})();
