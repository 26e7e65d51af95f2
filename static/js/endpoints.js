// Endpoint pages: the snippet tab chosen, one submit per wizard form (the server is the real guard: an
// idempotency key), the Stop confirmation dialog, durations that keep counting, the name's
// character count, and fields that stop being red once fixed. Nothing inline (the CSP forbids
// it); every page works without this file (the server checks and confirms everything).
(function () {
  "use strict";

  // The snippet tab chosen survives a re-render of the call card (the live endpoint page sends it
  // again only when its content changed, e.g. the endpoint became callable again). Selecting, the
  // arrow keys and the roving tabindex are console.js's, for every tab list.
  var chosenTab = null;

  document.addEventListener("click", function (event) {
    var tab = event.target.closest("[data-tabs] [role=tab]");
    if (tab) chosenTab = tab.id;
  });

  document.addEventListener("htmx:afterSwap", function () {
    var tab = chosenTab && document.getElementById(chosenTab);
    if (tab && tab.getAttribute("aria-selected") !== "true" && window.idashSelectTab) window.idashSelectTab(tab);
  });

  // A refused wizard step: focus goes to its error summary (not <body>), which links to each field.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-error-summary]");
    if (summary && document.activeElement !== summary) summary.focus();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("[data-once]")) return;
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    // After the browser has read the submitter: a disabled button would drop out of the data.
    setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });

  // ---------------------------------------------------------------- the confirmation dialog
  // Stop (and any link with hx-target="#confirm-dialog-body") loads its confirmation into the
  // dialog; without JavaScript the same link opens it as a page.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "confirm-dialog-body") return;
    var dialog = target.closest("dialog");
    if (!dialog) return;
    // Named by the heading it now holds (an empty dialog names nothing).
    var title = target.querySelector("h1[id], h2[id]");
    if (title) dialog.setAttribute("aria-labelledby", title.id);
    if (!dialog.open) dialog.showModal();
  });

  document.addEventListener("click", function (event) {
    var dialog = event.target.closest("dialog");
    if (!dialog) return;
    // Cancel is a link back to the endpoint (for the page of its own): here it only closes.
    if (event.target === dialog || event.target.closest("[data-dialog-close]")) {
      event.preventDefault();
      dialog.close();
    }
  });

  // ---------------------------------------------------------------- durations that tick
  // "3 min 20 s so far": the server renders the duration and its seconds (data-tick); from then
  // on it counts on here, in the server's formats (#duration-formats, as endpoints/timeline.py
  // words them) and sentence (data-tick-template, "{d}" standing for the duration). A re-render
  // of the element starts again from the server's figure.
  function duration(seconds) {
    var formats = document.getElementById("duration-formats");
    if (!formats) return null;
    var s = Math.floor(seconds);
    if (s < 60) return formats.dataset.s.replace("%(s)d", s);
    if (s < 3600) {
      return formats.dataset.ms.replace("%(m)d", Math.floor(s / 60)).replace("%(s)d", s % 60);
    }
    return formats.dataset.hm.replace("%(h)d", Math.floor(s / 3600))
      .replace("%(m)d", Math.floor((s % 3600) / 60));
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-tick]").forEach(function (el) {
      if (el.tickStart === undefined) {
        el.tickStart = now;
        el.tickBase = parseFloat(el.getAttribute("data-tick")) || 0;
      }
      var text = duration(el.tickBase + (now - el.tickStart) / 1000);
      if (text === null) return;
      var sentence = (el.getAttribute("data-tick-template") || "{d}").replace("{d}", text);
      if (el.textContent !== sentence) el.textContent = sentence;
    });
  }
  window.setInterval(tick, 1000);

  // ---------------------------------------------------------------- the name's length
  // No hard maxlength (the browser would cut a pasted name silently): the count says how many
  // characters there are, and how many too many; the inline check says the rule.
  function count(input) {
    var max = parseInt(input.getAttribute("data-max-chars"), 10);
    var counter = document.querySelector("[data-count-for='" + input.id + "']");
    if (!counter || !max) return;
    var n = input.value.length;
    var text = n + " / " + max;
    if (n > max) text += " · " + counter.getAttribute("data-over-text").replace("{n}", n - max);
    counter.textContent = text;
    counter.hidden = false;
    counter.classList.toggle("is-over", n > max);
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-max-chars]")) count(event.target);
  });
  document.querySelectorAll("[data-max-chars]").forEach(count);

  // ---------------------------------------------------------------- fields that were red
  // An inline check replaces a field's error (#err-<name>), and out of band those of the other
  // filled fields: a field is marked invalid exactly while its error says something.
  function syncInvalid() {
    document.querySelectorAll(".error[id^='err-']").forEach(function (error) {
      var name = error.id.slice(4);
      var invalid = error.textContent.trim() !== "";
      var field = error.closest(".field, .cards-field");
      if (field) field.classList.toggle("has-error", invalid);
      document.querySelectorAll("[name='" + name + "']").forEach(function (input) {
        if (invalid) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
      });
    });
  }
  document.addEventListener("htmx:afterSwap", syncInvalid);
  document.addEventListener("htmx:oobAfterSwap", syncInvalid);
})();
