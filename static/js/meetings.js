// Behaviour of the cooperation pages. Loaded with "defer"; no inline scripts (Content-Security-Policy).
// Every page works without it: this only hides what does not apply and adds conveniences.
(function () {
  "use strict";

  // Series form: the free RRULE field only for "other cadence"; invitees only of the chosen agencies.
  function setupSeriesForm(form) {
    var cadence = form.querySelector("select[name=cadence]");
    var rrule = form.querySelector("[data-coop-rrule]");
    if (cadence && rrule) {
      var toggleRrule = function () {
        rrule.hidden = cadence.value !== "custom";
      };
      cadence.addEventListener("change", toggleRrule);
      toggleRrule();
    }

    var agencies = form.querySelectorAll("[data-coop-agencies] input[type=checkbox]");
    var groups = form.querySelectorAll("[data-coop-invitee-group]");
    var empty = form.querySelector("[data-coop-invitees-empty]");
    var chosen = function () {
      var ids = {};
      Array.prototype.forEach.call(agencies, function (box) {
        if (box.checked) {
          ids[box.value] = true;
        }
      });
      return ids;
    };
    var filterGroups = function () {
      var ids = chosen();
      var shown = 0;
      Array.prototype.forEach.call(groups, function (group) {
        var visible = Boolean(ids[group.getAttribute("data-coop-invitee-group")]);
        group.hidden = !visible;
        // A hidden group's boxes are disabled, so that they are not sent (the server would refuse them).
        Array.prototype.forEach.call(group.querySelectorAll("input"), function (input) {
          input.disabled = !visible;
        });
        if (visible) {
          shown += 1;
        }
      });
      if (empty) {
        empty.hidden = shown > 0;
      }
    };
    Array.prototype.forEach.call(agencies, function (box) {
      box.addEventListener("change", filterGroups);
    });
    if (groups.length) {
      filterGroups();
    }

    // A person of two agencies appears in both groups: keep their boxes in step.
    form.addEventListener("change", function (event) {
      var box = event.target;
      if (box.name !== "invitees") {
        return;
      }
      Array.prototype.forEach.call(form.querySelectorAll("input[name=invitees]"), function (other) {
        if (other !== box && other.value === box.value) {
          other.checked = box.checked;
        }
      });
    });
  }

  // Subscription page: copy the address to the clipboard.
  function setupCopy(button) {
    var input = document.getElementById(button.getAttribute("data-coop-copy"));
    var status = document.querySelector("[data-coop-copy-status]");
    if (!input || !navigator.clipboard) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(function () {
        if (status) {
          status.textContent = button.getAttribute("data-copied") || "✓";
        }
      });
    });
  }

  // Attendance list: print.
  function setupPrint(button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-coop-series-form]"), setupSeriesForm);
    Array.prototype.forEach.call(document.querySelectorAll("[data-coop-copy]"), setupCopy);
    Array.prototype.forEach.call(document.querySelectorAll("[data-coop-print]"), setupPrint);
  });
})();
