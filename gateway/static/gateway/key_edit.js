// The key forms (a key's edit page, the Keys page's New key) keep their choices in step: typing a
// number of days chooses "New expiry", and choosing to keep the expiry or to have none clears the
// days; ticking an endpoint chooses "Only the endpoints ticked", and choosing every endpoint
// unticks them (a new key has no expiry choice: its days alone say it). Without JavaScript the server
// refuses a mismatch in words (gateway.forms.KeyForm.clean), and nothing is changed.
(function () {
  "use strict";

  // A choice (a text box, or boxes to tick) that belongs to one radio of a group.
  function pair(owner, radioName, inputs, isSet, clear) {
    if (!owner || !inputs.length) return;
    inputs.forEach(function (input) {
      input.addEventListener(input.type === "checkbox" ? "change" : "input", function () {
        if (isSet(input)) owner.checked = true;
      });
    });
    document.querySelectorAll('input[name="' + radioName + '"]').forEach(function (radio) {
      radio.addEventListener("change", function () {
        if (radio.checked && radio !== owner) inputs.forEach(clear);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var days = document.getElementById("id_expires_in_days");
    pair(
      document.querySelector('input[name="expiry"][value="days"]'), "expiry", days ? [days] : [],
      function (input) { return input.value !== ""; },
      function (input) { input.value = ""; }
    );
    pair(
      document.querySelector('input[name="scope"][value="only"]'), "scope",
      Array.prototype.slice.call(document.querySelectorAll('input[name="endpoints"]')),
      function (input) { return input.checked; },
      function (input) { input.checked = false; }
    );
  });
})();
