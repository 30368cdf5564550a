// Shared by both pages: reads the emailed token from the address and removes it from there (and
// so from the history), then offers small helpers to show an error or the success state.
"use strict";

window.edgeAuthPage = (function () {
  const token = new URLSearchParams(window.location.search).get("token") || "";
  if (window.location.search) {
    window.history.replaceState(null, "", window.location.pathname);
  }
  const error = document.getElementById("error");

  function showError(message, field) {
    // role="alert" on #error: screen readers announce the new text at once.
    error.textContent = message;
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-errormessage", "error");
      field.focus();
    }
  }

  function clearError() {
    error.textContent = "";
    for (const el of document.querySelectorAll("[aria-invalid]")) {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-errormessage");
    }
  }

  function showDone(form) {
    form.hidden = true;
    const done = document.getElementById("done");
    done.hidden = false;
    done.focus();
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
    const problem = response.ok ? null : await response.json().catch(() => ({}));
    return { response, problem };
  }

  const LINK_SPENT = "This link is invalid, has expired or was already used. Ask for a new email.";
  const UNREACHABLE = "The service could not be reached. Check your connection and try again.";

  function explain(response, problem) {
    if (problem && problem.code === "invalid_email_token") return LINK_SPENT;
    if (response.status === 429 || response.status === 503) {
      return "The service is busy. Please try again in a minute.";
    }
    return "Something went wrong (" + response.status + "). Please try again later.";
  }

  return { token, showError, clearError, showDone, post, explain, LINK_SPENT, UNREACHABLE };
})();
