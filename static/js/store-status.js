// A store page (the merchant's, or the staff console's) while a check runs: ask the store's status (a small JSON
// at the page's data-poll URL) every two seconds; when the check has ended,
// reload the page so it shows the result. Stops after five minutes.
"use strict";
(function () {
  const progress = document.getElementById("check-progress");
  if (!progress || !progress.dataset.poll) return;
  const url = progress.dataset.poll;
  const started = Date.now();
  const every = 2000;
  const giveUpAfter = 5 * 60 * 1000;

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (state && !state.checking) {
          progress.textContent = "The check has ended. Loading its result…";
          window.location.reload();
        } else if (Date.now() - started < giveUpAfter) {
          window.setTimeout(poll, every);
        } else {
          progress.textContent = "The check is taking long. Refresh this page later to see its result.";
        }
      })
      .catch(function () {
        if (Date.now() - started < giveUpAfter) window.setTimeout(poll, every);
      });
  }
  window.setTimeout(poll, every);
})();
