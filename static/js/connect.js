// Violet Connect: a little progressive enhancement. Everything works without it.
(function () {
  "use strict";

  // Drop the BigCommerce .txt anywhere on the credentials form.
  document.querySelectorAll("form[data-dropzone]").forEach(function (form) {
    var fileInput = form.querySelector("input[type=file][name=credentials_file]");
    if (!fileInput) return;
    ["dragenter", "dragover"].forEach(function (type) {
      form.addEventListener(type, function (event) {
        event.preventDefault();
        form.classList.add("dropping");
      });
    });
    ["dragleave", "drop"].forEach(function (type) {
      form.addEventListener(type, function () { form.classList.remove("dropping"); });
    });
    form.addEventListener("drop", function (event) {
      event.preventDefault();
      if (!event.dataTransfer || !event.dataTransfer.files.length) return;
      fileInput.files = event.dataTransfer.files;
      var status = form.querySelector(".drop-status");
      if (!status) {
        status = document.createElement("p");
        status.className = "drop-status";
        status.setAttribute("role", "status");
        fileInput.parentNode.appendChild(status);
      }
      status.textContent = "Ready: " + event.dataTransfer.files[0].name + ". Press Next.";
    });
  });

  // After a failed attempt, take the keyboard and the screen reader to what went wrong.
  var problems = document.getElementById("problems") || document.querySelector("[aria-invalid=true]");
  if (problems) problems.focus();

  // Remember the scope checklist while the merchant clicks in BigCommerce.
  document.querySelectorAll(".checklist input[type=checkbox]").forEach(function (box) {
    var key = "violet-scope-" + box.value;
    try { box.checked = window.sessionStorage.getItem(key) === "1"; } catch (e) { /* private mode */ }
    box.addEventListener("change", function () {
      try { window.sessionStorage.setItem(key, box.checked ? "1" : "0"); } catch (e) { /* ignore */ }
    });
  });
})();
