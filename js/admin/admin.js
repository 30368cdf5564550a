// The admin console (GET /admin): no framework, and only the public admin API. The key the
// operator types is kept in sessionStorage (gone when the tab closes), never in localStorage
// or a cookie, and sent only as the Authorization header of same-origin requests.
"use strict";

(function () {
  const KEY_ITEM = "edge-auth-admin-key";
  const PAGE_SIZE = 20;
  const $ = (id) => document.getElementById(id);
  const status = $("status");
  const rows = document.querySelector("#users tbody");
  const more = $("more");
  const panel = $("user");
  let filter = "";
  let cursor = null;
  let current = null;

  function key() {
    return sessionStorage.getItem(KEY_ITEM) || "";
  }

  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? "error" : "";
  }

  // One call of the admin API: the status and the JSON body (null when there is none).
  async function api(method, path, body) {
    const headers = { authorization: "Bearer " + key() };
    const init = { method, headers, credentials: "omit", cache: "no-store" };
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let json = null;
    if (response.status !== 204) {
      try {
        json = await response.json();
      } catch (_) {
        json = null;
      }
    }
    return { status: response.status, json };
  }

  // What a failed call says to the operator.
  function failure(result) {
    if (result.status === 401) return "The key was refused: paste the admin key again.";
    const detail = result.json && result.json.detail ? " " + result.json.detail : "";
    return "The request failed (" + result.status + ")." + detail;
  }

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function showUsers(users, append) {
    if (!append) rows.replaceChildren();
    for (const user of users) {
      const tr = document.createElement("tr");
      const open = document.createElement("button");
      open.type = "button";
      open.className = "link";
      open.textContent = user.email;
      open.addEventListener("click", () => openUser(user.id));
      const first = document.createElement("td");
      first.append(open);
      tr.append(
        first,
        cell(user.created_at),
        cell(user.email_verified ? "yes" : "no"),
        cell(user.disabled ? "yes" : "no"),
        cell(user.last_login_at || "never"),
      );
      rows.append(tr);
    }
  }

  async function search(append) {
    if (!key()) {
      say("Paste the admin key first.", true);
      return;
    }
    let path = "/admin/users?limit=" + PAGE_SIZE + "&email=" + encodeURIComponent(filter);
    if (append && cursor) path += "&cursor=" + encodeURIComponent(cursor);
    const result = await api("GET", path);
    if (result.status !== 200) {
      say(failure(result), true);
      return;
    }
    showUsers(result.json.users, append);
    cursor = result.json.next_cursor;
    more.hidden = !cursor;
    const shown = rows.children.length;
    say(shown === 0 ? "No user matches." : shown + " user(s) shown.", false);
  }

  function fact(list, name, value) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }

  async function showEvents(id) {
    const list = $("events");
    const note = $("events-note");
    list.replaceChildren();
    note.textContent = "";
    let result;
    try {
      result = await api("GET", "/admin/events?limit=20&user_id=" + encodeURIComponent(id));
    } catch (_) {
      note.textContent = "Events are unavailable.";
      return;
    }
    if (result.status !== 200 || !result.json || !Array.isArray(result.json.events)) {
      note.textContent = "Events are unavailable on this deployment.";
      return;
    }
    if (result.json.events.length === 0) {
      note.textContent = "No recent events.";
      return;
    }
    for (const event of result.json.events) {
      const li = document.createElement("li");
      li.textContent = event.at + " " + event.type + (event.ip ? " from " + event.ip : "");
      list.append(li);
    }
  }

  function showUser(user) {
    current = user;
    panel.hidden = false;
    $("user-email").textContent = user.email;
    const facts = $("user-facts");
    facts.replaceChildren();
    fact(facts, "Id", user.id);
    fact(facts, "Created", user.created_at);
    fact(facts, "Email verified", user.email_verified ? "yes" : "no");
    fact(facts, "Disabled", user.disabled ? "yes" : "no");
    fact(facts, "Two-step verification", user.mfa_enabled ? "on" : "off");
    fact(facts, "Passkeys", String(user.passkeys));
    fact(facts, "Last login", user.last_login_at || "never");
    $("toggle-disabled").textContent = user.disabled ? "Enable the account" : "Disable the account";
  }

  async function openUser(id) {
    const result = await api("GET", "/admin/users/" + encodeURIComponent(id));
    if (result.status !== 200) {
      say(failure(result), true);
      return;
    }
    showUser(result.json);
    await showEvents(id);
  }

  // Runs an action on the open user, then shows the user (and the list) as they now are.
  async function act(method, suffix, body, done) {
    if (!current) return;
    const id = current.id;
    const result = await api(method, "/admin/users/" + encodeURIComponent(id) + suffix, body);
    if (result.status >= 300) {
      say(failure(result), true);
      return;
    }
    say(done, false);
    if (result.status === 200 && result.json) showUser(result.json);
    await showEvents(id);
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("key");
    const value = input.value.trim();
    input.value = "";
    if (!value) return;
    sessionStorage.setItem(KEY_ITEM, value);
    say("Key set for this tab.", false);
    search(false);
  });

  $("forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_ITEM);
    rows.replaceChildren();
    panel.hidden = true;
    current = null;
    say("Key forgotten.", false);
  });

  $("search").addEventListener("submit", (event) => {
    event.preventDefault();
    filter = $("email").value.trim().toLowerCase();
    cursor = null;
    search(false);
  });

  more.addEventListener("click", () => search(true));

  $("toggle-disabled").addEventListener("click", () => {
    const disable = !current.disabled;
    act("PATCH", "", { disabled: disable }, disable ? "The account is disabled; its sessions ended." : "The account is enabled.");
  });
  $("revoke").addEventListener("click", () => act("DELETE", "/sessions", undefined, "Every session was revoked."));
  $("remove-mfa").addEventListener("click", () => {
    if (confirm("Remove two-step verification of " + current.email + "?")) {
      act("DELETE", "/mfa", undefined, "Two-step verification was removed.");
    }
  });
  $("send-reset").addEventListener("click", () => act("POST", "/password-reset", undefined, "A reset link was sent."));
  $("delete").addEventListener("click", async () => {
    if (!current || !confirm("Delete the account " + current.email + "? This cannot be undone.")) return;
    const result = await api("DELETE", "/admin/users/" + encodeURIComponent(current.id));
    if (result.status !== 204) {
      say(failure(result), true);
      return;
    }
    panel.hidden = true;
    current = null;
    say("The account was deleted.", false);
    search(false);
  });

  if (key()) search(false);
})();
