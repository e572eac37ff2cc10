// Behaviour of the cooperation pages. Loaded with "defer"; no inline scripts (Content-Security-Policy).
// Every page works without it: this only hides what does not apply and adds conveniences.
(function () {
  "use strict";

  // What decides a series' dates (meetings.forms.CADENCE_INPUTS).
  var CADENCE_INPUTS = ["cadence", "rrule", "first_start", "cadence_every", "cadence_week", "cadence_weekday"];

  // Series form: the free RRULE field only for "other cadence"; invitees only of the chosen agencies.
  function setupSeriesForm(form) {
    var cadence = form.querySelector("select[name=cadence]");
    var rrule = form.querySelector("[data-coop-rrule]");
    var built = form.querySelector("[data-coop-built]");
    if (cadence && rrule) {
      var toggleRrule = function () {
        rrule.hidden = cadence.value !== "custom";
        if (built) {
          built.hidden = cadence.value !== "built"; // rhythm, week and weekday chosen one by one
        }
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

    // The first dates of the cadence, fetched while the coordinator types (without script the
    // "show the first dates" button posts the form and the page shows the same fragment).
    var box = form.querySelector("[data-coop-preview-url]");
    if (box && window.fetch && window.URLSearchParams) {
      var url = box.getAttribute("data-coop-preview-url");
      var timer = null;
      var latest = 0;
      var refresh = function () {
        var params = new URLSearchParams();
        CADENCE_INPUTS.forEach(function (name) {
          var input = form.elements[name];
          if (input) {
            params.append(name, input.value);
          }
        });
        var mine = ++latest;
        fetch(url + "?" + params.toString(), { credentials: "same-origin" })
          .then(function (response) {
            return response.ok ? response.text() : null;
          })
          .then(function (html) {
            var current = box.querySelector("[data-coop-preview]");
            if (html === null || mine !== latest || !current) {
              return;
            }
            var holder = document.createElement("div");
            holder.innerHTML = html;
            var fresh = holder.querySelector("[data-coop-preview]");
            if (fresh) {
              current.innerHTML = fresh.innerHTML; // the live region stays, so its change is announced
            }
          })
          .catch(function () {});
      };
      var schedule = function () {
        window.clearTimeout(timer);
        timer = window.setTimeout(refresh, 250);
      };
      CADENCE_INPUTS.forEach(function (name) {
        var input = form.elements[name];
        if (input) {
          input.addEventListener("change", schedule);
          input.addEventListener("input", schedule);
        }
      });
      var button = box.querySelector("[data-coop-preview-button]");
      if (button) {
        button.addEventListener("click", function (event) {
          event.preventDefault();
          refresh();
        });
      }
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
