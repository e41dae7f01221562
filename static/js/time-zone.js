// Sign-up: guess the person's time zone from the browser (an IANA name such
// as "Europe/Paris"). The server checks it and uses UTC for anything else.
"use strict";
(function () {
  let zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* old browser: UTC */ }
  document.querySelectorAll("input[data-guess-time-zone]").forEach(function (input) {
    if (!input.value) input.value = zone;
  });
})();
