// A "Copy" button for a value shown once (an API token, a signing secret,
// recovery codes): <button type="button" data-copy="ID" hidden>. The button is
// hidden until this script runs, so without it nobody sees a button that does
// nothing; the value stays selectable by hand.
"use strict";
(function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    const source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    const status = document.createElement("span");
    status.className = "copy-status";
    status.setAttribute("role", "status");
    button.insertAdjacentElement("afterend", status);
    button.hidden = false;

    function said(text) {
      status.textContent = text;
    }

    function byHand() {
      // Older browsers, or no clipboard permission: select it for Ctrl+C.
      if (source.select) {
        source.focus();
        source.select();
      } else {
        const range = document.createRange();
        range.selectNodeContents(source);
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
      }
      said("Selected: press Ctrl+C (⌘C on a Mac) to copy.");
    }

    button.addEventListener("click", function () {
      const text = "value" in source ? source.value : source.innerText.trim();
      if (!navigator.clipboard || !window.isSecureContext) {
        byHand();
        return;
      }
      navigator.clipboard.writeText(text).then(function () { said("Copied."); }, byHand);
    });
  });
})();
