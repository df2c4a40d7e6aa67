/* Shared enhancements for the curator pages. Everything works without it; it only
   saves clicks and reloads. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  /* POST a JSON body with the CSRF token; resolve to {status, body}. */
  function postJSON(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": csrfToken(),
      },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (data) {
        return { status: response.status, body: data };
      });
    });
  }

  function getJSON(url) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { "Accept": "application/json" },
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    /* A form that came back with errors: bring its first error into view and put
       the cursor in the field it names (everything typed is kept by the server). */
    var failed = document.querySelector("form.has-errors");
    if (failed) {
      var error = failed.querySelector(".field-error");
      (error || failed).scrollIntoView({ block: "center" });
      var field = failed.querySelector('[aria-invalid="true"] input, input:not([type="hidden"]), select, textarea');
      if (field) { field.focus({ preventScroll: true }); }
    }
    /* Filters apply as soon as a select changes. */
    document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      form.addEventListener("change", function () { form.submit(); });
    });
    /* Buttons that ask before doing something that cannot be undone. */
    document.querySelectorAll("[data-confirm]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
    /* A form that queues work says so and cannot be sent twice. */
    document.querySelectorAll("form[data-busy-label]").forEach(function (form) {
      form.addEventListener("submit", function () {
        var button = form.querySelector('button[type="submit"]');
        if (button) {
          button.disabled = true;
          button.textContent = form.getAttribute("data-busy-label");
        }
      });
    });
  });

  window.Curate = { postJSON: postJSON, getJSON: getJSON, csrfToken: csrfToken };
})();
