// A key's edit page: typing a number of days chooses "New expiry", and choosing to keep the
// expiry or to have none clears the days. Without JavaScript the server refuses the mismatch in
// words (gateway.forms.KeyForm.clean), and nothing is changed.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var days = document.getElementById("id_expires_in_days");
    var renew = document.querySelector('input[name="expiry"][value="days"]');
    if (!days || !renew) return;
    days.addEventListener("input", function () {
      if (days.value !== "") renew.checked = true;
    });
    document.querySelectorAll('input[name="expiry"]').forEach(function (radio) {
      radio.addEventListener("change", function () {
        if (radio.checked && radio !== renew) days.value = "";
      });
    });
  });
})();
