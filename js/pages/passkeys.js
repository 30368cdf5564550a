// The passkeys page, and an example of a client of the passkey endpoints:
// - log in with a passkey: POST /auth/passkeys/login/options, navigator.credentials.get with
//   the options as PublicKeyCredential.parseRequestOptionsFromJSON reads them, then
//   POST /auth/passkeys/login {credential: credential.toJSON()} → a token pair;
// - add one (signed in): POST /auth/passkeys/register/options (Bearer),
//   navigator.credentials.create with parseCreationOptionsFromJSON's options, then
//   POST /auth/passkeys/register {credential: credential.toJSON(), name};
// - list and remove: GET /auth/passkeys, DELETE /auth/passkeys/{id}.
// The access token stays in this tab (sessionStorage), never in a cookie.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const error = $("error");
  const KEY = "edge-auth-passkeys-token";

  function show(message) {
    error.textContent = message;
  }

  async function call(method, path, body, token) {
    const headers = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (token) headers.authorization = "Bearer " + token;
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
    const data = response.status === 204 ? null : await response.json().catch(() => ({}));
    return { status: response.status, data };
  }

  function explain(r) {
    const code = r.data && r.data.code;
    if (code === "invalid_passkey") return "This passkey was not accepted.";
    if (code === "passkey_exists") return "This passkey is registered already.";
    if (code === "invalid_credentials") return "Email or password is incorrect.";
    if (code === "email_not_verified") return "Verify your email address first.";
    if (r.status === 429 || r.status === 503) return "The service is busy. Please try again in a minute.";
    return "Something went wrong (" + r.status + ").";
  }

  function supported() {
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
      show("This browser cannot use passkeys here.");
      return false;
    }
    return true;
  }

  async function signedIn(token) {
    sessionStorage.setItem(KEY, token);
    const me = await call("GET", "/auth/me", undefined, token);
    if (me.status !== 200) {
      sessionStorage.removeItem(KEY);
      return;
    }
    $("who").textContent = me.data.email;
    $("signin").hidden = true;
    $("account").hidden = false;
    await refresh();
  }

  async function refresh() {
    const token = sessionStorage.getItem(KEY);
    const r = await call("GET", "/auth/passkeys", undefined, token);
    const list = $("list");
    list.replaceChildren();
    if (r.status !== 200) return show(explain(r));
    for (const p of r.data.passkeys) {
      const item = document.createElement("li");
      const used = p.last_used_at ? ", last used " + p.last_used_at : "";
      item.textContent = p.name + " (added " + p.created_at + used + ") ";
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "Remove";
      remove.addEventListener("click", async () => {
        const d = await call("DELETE", "/auth/passkeys/" + encodeURIComponent(p.id), undefined, token);
        if (d.status !== 204) show(explain(d));
        await refresh();
      });
      item.append(remove);
      list.append(item);
    }
  }

  $("passkey-login").addEventListener("click", async () => {
    show("");
    if (!supported()) return;
    try {
      const options = await call("POST", "/auth/passkeys/login/options", {});
      if (options.status !== 200) return show(explain(options));
      const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options.data.publicKey);
      const credential = await navigator.credentials.get({ publicKey });
      const r = await call("POST", "/auth/passkeys/login", { credential: credential.toJSON() });
      if (r.status !== 200) return show(explain(r));
      await signedIn(r.data.access_token);
    } catch (e) {
      show("No passkey was used (" + e.name + ").");
    }
  });

  $("password-login").addEventListener("submit", async (event) => {
    event.preventDefault();
    show("");
    const r = await call("POST", "/auth/login", { email: $("email").value, password: $("password").value });
    $("password").value = "";
    if (r.status !== 200) return show(explain(r));
    await signedIn(r.data.access_token);
  });

  $("add").addEventListener("submit", async (event) => {
    event.preventDefault();
    show("");
    if (!supported()) return;
    const token = sessionStorage.getItem(KEY);
    try {
      const options = await call("POST", "/auth/passkeys/register/options", {}, token);
      if (options.status !== 200) return show(explain(options));
      const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.data.publicKey);
      const credential = await navigator.credentials.create({ publicKey });
      const body = { credential: credential.toJSON() };
      if ($("name").value) body.name = $("name").value;
      const r = await call("POST", "/auth/passkeys/register", body, token);
      if (r.status !== 201) return show(explain(r));
      $("name").value = "";
      await refresh();
    } catch (e) {
      show("No passkey was created (" + e.name + ").");
    }
  });

  $("signout").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    $("account").hidden = true;
    $("signin").hidden = false;
  });

  const saved = sessionStorage.getItem(KEY);
  if (saved) signedIn(saved);
})();
