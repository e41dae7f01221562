// The console's periodic task page (django-celery-beat's change form): the
// crontab's help text says in words what the chosen schedule means. This was
// an inline script in django-celery-beat's template, which the CSP refuses.
"use strict";
(function () {
  const data = document.getElementById("readable-crontabs");
  const help = document.querySelector(".field-crontab .help");
  const select = document.getElementById("id_crontab");
  const translation = document.querySelector(".field-crontab_translation");
  if (translation) translation.hidden = true;
  if (!data || !help || !select) return;
  const readable = JSON.parse(data.textContent);
  const original = help.textContent;
  select.addEventListener("change", function () {
    help.textContent = original;
    const words = readable[select.value];
    if (words) {
      help.appendChild(document.createElement("br"));
      help.appendChild(document.createTextNode("Translation: " + words));
    }
  });
})();
