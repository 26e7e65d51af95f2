// Console behaviour that needs no framework: toasts, copy buttons, the language switch, the
// mobile sidebar. Loaded as a file (the CSP forbids inline script).
(function () {
  "use strict";

  function dismissLater(toast) {
    if (toast.dataset.timer) return;
    toast.dataset.timer = "1";
    setTimeout(function () { toast.remove(); }, 6000);
  }

  function wire(root) {
    root.querySelectorAll("[data-toast]").forEach(dismissLater);
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    var dismiss = target.closest("[data-dismiss]");
    if (dismiss) { dismiss.closest("[data-toast]").remove(); return; }

    var copy = target.closest("[data-copy]");
    if (copy) {
      event.preventDefault();
      var text = copy.getAttribute("data-copy");
      var done = function () {
        copy.classList.add("copied");
        copy.setAttribute("data-copied", "true");
        var label = copy.querySelector("[data-copy-label]");
        var before = label ? label.textContent : null;
        if (label) label.textContent = copy.getAttribute("data-copied-text") || "Copied";
        setTimeout(function () {
          copy.classList.remove("copied");
          if (label) label.textContent = before;
        }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, done);
      } else {
        var area = document.createElement("textarea");
        area.value = text; document.body.appendChild(area); area.select();
        try { document.execCommand("copy"); } catch (e) { /* nothing else to try */ }
        area.remove(); done();
      }
      return;
    }

    var toggle = target.closest("[data-toggle-sidebar]");
    if (toggle) {
      var sidebar = document.getElementById("sidebar");
      var open = sidebar.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-autosubmit]")) event.target.form.submit();
  });

  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  document.addEventListener("htmx:afterSettle", function (event) { wire(event.target.ownerDocument || document); });
})();
