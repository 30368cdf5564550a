// The verify page: POST /auth/email/verify with the emailed token. It waits for a click instead
// of verifying on load, so that mail scanners which open links do not confirm for the user.
"use strict";

(function () {
  const page = window.edgeAuthPage;
  const form = document.getElementById("verify");
  const submit = document.getElementById("submit");

  if (!page.token) {
    page.showError(page.LINK_SPENT);
    submit.disabled = true;
    return;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    page.clearError();
    submit.disabled = true;
    try {
      const { response, problem } = await page.post("/auth/email/verify", { token: page.token });
      if (response.status === 200) {
        const user = await response.json();
        document.getElementById("done-text").textContent =
          user.email + " is confirmed. You can close this page.";
        page.showDone(form);
      } else {
        page.showError(page.explain(response, problem));
      }
    } catch (_) {
      page.showError(page.UNREACHABLE);
    } finally {
      submit.disabled = false;
    }
  });
})();
