// Credential form: the client ID belongs to service accounts only, so hide it for an API key.
// Without JavaScript the field stays visible with its help text saying so.
(function () {
  "use strict";

  function sync(form) {
    var checked = form.querySelector('input[name="kind"]:checked');
    if (!checked) return;
    var apiKey = checked.value === "api_key";
    form.querySelectorAll("[data-service-account-only]").forEach(function (el) {
      el.hidden = apiKey;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-credential-form]").forEach(function (form) {
      sync(form);
      form.addEventListener("change", function (event) {
        if (event.target.name === "kind") sync(form);
      });
    });
  });
})();
