// Routing preview in the police form (issue 9 §3): as soon as postcode and city are entered, the form
// shows where the referral will go — the youth office, or the coordination office's triage queue —
// from GET /api/v1/routing/preview/ (the same routing function as the submission), without a page
// reload. Without JavaScript the button "Zuständigkeit prüfen" asks the server the same question.
// Loaded with "defer"; no inline scripts (Content-Security-Policy).
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-routing-preview]");
    var postcode = document.querySelector("input[name=household_postcode]");
    var city = document.querySelector("input[name=household_city]");
    if (!box || !postcode || !city || !window.fetch) {
      return;
    }
    var url = box.getAttribute("data-routing-preview");
    var text = box.querySelector("[data-routing-text]");
    var oncall = document.querySelector("[data-oncall-hint]");
    var oncallPhone = document.querySelector("[data-oncall-hint-phone]");
    var timer = null;
    var asked = "";

    function show(answer) {
      text.textContent = answer.message;
      box.classList.toggle("routing-preview--triage", !answer.office && !!answer.triage_reason);
      box.setAttribute("data-routed", answer.office ? "office" : answer.triage_reason ? "triage" : "");
      if (oncall && oncallPhone) {
        oncallPhone.textContent = answer.oncall_phone || "";
        oncall.hidden = !answer.oncall_phone;
      }
    }

    function ask() {
      var code = postcode.value.trim();
      var place = city.value.trim();
      var key = code + "|" + place;
      if (!/^\d{5}$/.test(code.replace(/\s/g, "")) || !place || key === asked) {
        return;
      }
      asked = key;
      var query = "?postcode=" + encodeURIComponent(code) + "&city=" + encodeURIComponent(place);
      fetch(url + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (answer) {
          if (answer && postcode.value.trim() + "|" + city.value.trim() === key) {
            show(answer);
          }
        })
        .catch(function () {
          asked = ""; // try again on the next change
        });
    }

    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, 300);
    }

    postcode.addEventListener("input", later);
    city.addEventListener("input", later);
    postcode.addEventListener("change", ask);
    city.addEventListener("change", ask);
    ask();
  });
})();
