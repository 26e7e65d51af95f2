// Endpoint pages: snippet tabs, one submit per wizard form (the server is the real guard: an
// idempotency key), nothing inline (the CSP forbids it).
(function () {
  "use strict";

  // The snippet tab chosen survives a re-render of the call card (the live endpoint page sends it
  // again only when its content changed, e.g. the endpoint became callable again).
  var chosenTab = null;

  function select(tab) {
    var list = tab.closest("[data-tabs]");
    list.querySelectorAll("[role=tab]").forEach(function (other) {
      var selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      other.tabIndex = selected ? 0 : -1;  // one tab stop for the tab list (arrow keys move)
      var panel = document.getElementById(other.getAttribute("aria-controls"));
      if (panel) panel.hidden = !selected;
    });
  }

  document.addEventListener("click", function (event) {
    var tab = event.target.closest("[data-tabs] [role=tab]");
    if (!tab) return;
    chosenTab = tab.id;
    select(tab);
  });

  document.addEventListener("htmx:afterSwap", function () {
    var tab = chosenTab && document.getElementById(chosenTab);
    if (tab && tab.getAttribute("aria-selected") !== "true") select(tab);
  });

  document.addEventListener("keydown", function (event) {
    var tab = event.target.closest("[data-tabs] [role=tab]");
    if (!tab || ["ArrowRight", "ArrowLeft", "Home", "End"].indexOf(event.key) < 0) return;
    event.preventDefault();
    var tabs = Array.prototype.slice.call(tab.closest("[data-tabs]").querySelectorAll("[role=tab]"));
    var next = event.key === "Home" ? tabs[0] : event.key === "End" ? tabs[tabs.length - 1]
      : tabs[(tabs.indexOf(tab) + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    next.focus();
    next.click();
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
})();
