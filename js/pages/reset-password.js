// The reset page: the new password twice, checked here for length and equality (the API checks
// every rule again), then POST /auth/password/reset with the emailed token.
"use strict";

(function () {
  const page = window.edgeAuthPage;
  const form = document.getElementById("reset");
  const password = document.getElementById("password");
  const confirm = document.getElementById("confirm");
  const submit = document.getElementById("submit");

  if (!page.token) {
    page.showError(page.LINK_SPENT);
    submit.disabled = true;
    return;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    page.clearError();
    const length = [...password.value].length;
    if (length < 8 || length > 128) {
      page.showError("The password must be 8 to 128 characters long.", password);
      return;
    }
    if (password.value !== confirm.value) {
      page.showError("The two passwords are not the same.", confirm);
      return;
    }
    submit.disabled = true;
    try {
      const { response, problem } = await page.post("/auth/password/reset", {
        token: page.token,
        new_password: password.value,
      });
      if (response.status === 204) {
        password.value = confirm.value = "";
        page.showDone(form);
      } else if (problem && problem.code === "validation_failed") {
        const messages = (problem.errors || []).map((e) => e.message).join(" ");
        page.showError(messages || "This password cannot be used.", password);
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
