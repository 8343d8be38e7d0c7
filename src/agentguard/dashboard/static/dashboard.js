// agentguard dashboard: sign-in, the Authorization header on every request, errors,
// pausing refreshes while someone is typing, and deadline countdowns. No inline script.
(function () {
  "use strict";
  var STORE = "agentguard.key";
  var signin = document.getElementById("signin");
  var app = document.getElementById("app");
  var toast = document.getElementById("toast");

  function key() { return sessionStorage.getItem(STORE); }

  function say(text) {
    toast.textContent = text;
    toast.hidden = !text;
  }

  function showSignin(message) {
    sessionStorage.removeItem(STORE);
    app.replaceChildren();
    signin.hidden = false;
    say(message || "");
    document.getElementById("key").focus();
  }

  function open() {
    signin.hidden = true;
    htmx.ajax("GET", "/ui/f/home", { target: "#app", swap: "innerHTML" });
  }

  document.getElementById("signin-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var field = document.getElementById("key");
    var value = field.value.trim();
    field.value = "";
    if (!value) return;
    sessionStorage.setItem(STORE, value);
    say("");
    open();
  });

  document.body.addEventListener("click", function (event) {
    if (event.target && event.target.id === "signout") showSignin("Signed out.");
    var tab = event.target && event.target.closest ? event.target.closest("[data-tab]") : null;
    if (tab) {
      document.querySelectorAll("[data-tab]").forEach(function (t) { t.classList.remove("current"); });
      tab.classList.add("current");
    }
  });

  // the key travels only as a header, and only to this gateway
  document.body.addEventListener("htmx:configRequest", function (event) {
    var k = key();
    if (k) event.detail.headers["Authorization"] = "Bearer " + k;
  });

  // a refresh must not wipe out what someone is typing into the part it would replace
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt.hasAttribute("data-poll")) return;
    var active = document.activeElement;
    var busy = active && elt.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName);
    var typed = Array.prototype.some.call(elt.querySelectorAll("input, textarea"), function (f) {
      return f.type !== "hidden" && f.value !== "";
    });
    var open = elt.querySelector("details[open]");
    if (busy || typed || open) event.preventDefault();
  });

  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful && !event.detail.elt.hasAttribute("data-poll")) say("");
  });

  // errors are the gateway's JSON: {"error": {"code", "message"}}
  document.body.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var text = "The gateway answered " + xhr.status + ".";
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && body.error) text = body.error.code + ": " + body.error.message;
    } catch (ignored) { /* not JSON: keep the status */ }
    if (xhr.status === 401) showSignin(text);
    else say(text);
  });
  document.body.addEventListener("htmx:sendError", function () {
    say("The gateway cannot be reached.");
  });

  // deadlines: seconds left as the server counted them, counted down here
  var started = Date.now();
  document.body.addEventListener("htmx:afterSwap", function () { started = Date.now(); tick(); });
  function format(seconds) {
    if (seconds <= 0) return "deadline passed";
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + "h " : "") + (h || m ? m + "m " : "") + s + "s left";
  }
  function tick() {
    var gone = Math.floor((Date.now() - started) / 1000);
    document.querySelectorAll(".countdown[data-remaining]").forEach(function (el) {
      var left = parseInt(el.getAttribute("data-remaining"), 10) - gone;
      el.textContent = format(left);
      el.classList.toggle("late", left <= 300);
    });
  }
  setInterval(tick, 1000);

  if (key()) open(); else showSignin("");
})();
