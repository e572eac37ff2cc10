// Session timeout in the page (config.middleware.SessionTimeoutMiddleware ends idle sessions on the
// server). <body data-session-remaining="<seconds>"> says how long this session has left; two minutes
// before the end a banner (role="alert") offers to stay logged in. Typing counts as activity: while a
// person fills in a long form (a police referral) the session is kept alive, at most once a minute, so
// that no input is lost. Loaded with "defer"; no inline scripts (Content-Security-Policy).
(function () {
  "use strict";

  var WARN_BEFORE = 120; // seconds
  var ACTIVITY_EVERY = 60; // seconds between keep-alives caused by typing

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var body = document.body;
    var remaining = parseInt(body.getAttribute("data-session-remaining") || "", 10);
    var url = body.getAttribute("data-session-keepalive");
    if (!url || !(remaining > 0)) {
      return;
    }
    var warnTimer = null;
    var endTimer = null;
    var lastKeepalive = Date.now();
    var banner = null;

    function hideBanner() {
      if (banner) {
        banner.remove();
        banner = null;
      }
    }

    function showBanner() {
      if (banner) {
        return;
      }
      banner = document.createElement("div");
      banner.className = "banner session-warning";
      banner.setAttribute("role", "alert");
      banner.setAttribute("data-session-banner", "");
      var text = document.createElement("p");
      text.textContent = body.getAttribute("data-session-warning");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button button--primary";
      button.textContent = body.getAttribute("data-session-stay");
      button.addEventListener("click", function () {
        keepalive();
      });
      var actions = document.createElement("p");
      actions.appendChild(button);
      banner.appendChild(text);
      banner.appendChild(actions);
      var main = document.getElementById("main") || body;
      main.insertBefore(banner, main.firstChild);
    }

    function schedule(seconds) {
      clearTimeout(warnTimer);
      clearTimeout(endTimer);
      hideBanner();
      warnTimer = setTimeout(showBanner, Math.max(0, seconds - WARN_BEFORE) * 1000);
      // At the end the server has logged the session out: reloading shows the login page with its message.
      endTimer = setTimeout(function () {
        window.location.reload();
      }, seconds * 1000);
    }

    function keepalive() {
      lastKeepalive = Date.now();
      return fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      })
        .then(function (response) {
          if (response.status === 401) {
            window.location.reload();
            return null;
          }
          return response.ok ? response.json() : null;
        })
        .then(function (data) {
          if (data && data.remaining > 0) {
            schedule(data.remaining);
          }
        })
        .catch(function () {
          // Offline for a moment: the next activity tries again.
          lastKeepalive = 0;
        });
    }

    function onActivity() {
      if (Date.now() - lastKeepalive >= ACTIVITY_EVERY * 1000) {
        keepalive();
      }
    }

    document.addEventListener("input", onActivity, true);
    document.addEventListener("change", onActivity, true);
    schedule(remaining);
  });
})();
