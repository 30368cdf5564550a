// The Worker's entry module: the Rust Worker (built by worker-build into ./index.js, beside this
// file once `make worker` copies it there) behind one safety net.
//
// A Rust panic aborts the wasm instance (panic = "abort"); console_error_panic_hook has already
// logged it, and worker-build's shim re-initialises the instance for the next request. Without
// this wrapper the client would get workerd's bare "Worker threw exception" page. Here it gets
// the contract's 500 problem body instead, with an X-Request-Id that its log line carries too.
import RustWorker from "./index.js";
import { STATIC_FILES } from "./static.mjs";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

// A panic traps inside a wasm-bindgen future, so the request's promise never settles: the trap
// surfaces only as a global error event. Every request in flight on the trapped instance is lost
// (the shim resets the instance for later requests), so each of them is failed here.
const inFlight = new Set();
function failAll(reason) {
  for (const reject of inFlight) reject(reason);
}
addEventListener("error", (event) => failAll(event.error ?? event));
addEventListener("unhandledrejection", (event) => failAll(event.reason));

// The path of a request URL (workerd hands it over absolute and normalized), without parsing it:
// cut at the query or a fragment, as the Rust side's `http::path_of_url` does.
function pathOf(url) {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  let end = url.length;
  const query = url.indexOf("?", start);
  if (query >= 0) end = query;
  const hash = url.indexOf("#", start);
  if (hash >= 0 && hash < end) end = hash;
  return url.slice(start, end);
}

// The request's id, as the Rust Worker makes it (src/http/mod.rs, `request_id`): a well-formed
// incoming X-Request-Id is echoed, anything else is replaced by a new UUID.
function requestId(request) {
  const incoming = request.headers.get("x-request-id");
  return incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
}

// The contract's problem details, for the answers this module gives itself; the texts are the
// Rust Worker's (src/http/error.rs), and so are the headers every problem carries.
function problem(id, status, title, code, detail, headers = {}) {
  const body = { type: "about:blank", title, status, code, detail, request_id: id };
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/problem+json",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "x-request-id": id,
      ...headers,
    },
  });
}

// The request's one log line, with the Rust Worker's fields (no database, no session check).
// workerd's clock moves only across I/O, so duration_ms is 0 here, as it truly is.
function logRequest(id, started, request, path, status) {
  console.log(JSON.stringify({
    level: "info", event: "request", request_id: id, ts: started, method: request.method, path,
    status, duration_ms: Date.now() - started, db_calls: 0, db_ms: 0,
    outcome: status < 400 ? "success" : "client_error",
  }));
}

// A static file (Swagger UI, the emailed links' pages: scripts/static-files.mjs): GET and HEAD,
// a matching If-None-Match gets 304; any other method on its path is 405 with `Allow`, as on
// the API's paths. Like every response it carries an X-Request-Id and writes one log line.
function serveStatic(file, request, path) {
  const started = Date.now();
  const id = requestId(request);
  if (request.method !== "GET" && request.method !== "HEAD") {
    logRequest(id, started, request, path, 405);
    return problem(id, 405, "Method Not Allowed", "method_not_allowed",
      "This method is not allowed on this resource.", { allow: "GET, HEAD" });
  }
  const headers = new Headers(file.headers);
  headers.set("x-request-id", id);
  const match = request.headers.get("if-none-match");
  const notModified = match && (match.trim() === "*" ||
    match.split(",").some((tag) => tag.trim().replace(/^W\//, "") === file.etag));
  const status = notModified ? 304 : 200;
  logRequest(id, started, request, path, status);
  return new Response(notModified ? null : file.body, { status, headers });
}

export default class AuthWorker extends RustWorker {
  async fetch(request) {
    const path = pathOf(request.url);
    const file = STATIC_FILES.get(path);
    if (file !== undefined) {
      return serveStatic(file, request, path);
    }
    let reject;
    const trapped = new Promise((_, r) => { reject = r; });
    inFlight.add(reject);
    try {
      return await Promise.race([super.fetch(request), trapped]);
    } catch (err) {
      // The Rust side buffers its log lines until the response, so a trapped request left none:
      // this line is the request's only one, and carries the id the client gets back.
      const id = requestId(request);
      console.error(JSON.stringify({
        level: "error", event: "unhandled_exception", request_id: id, ts: Date.now(),
        cause: String(err && err.message || err).slice(0, 500),
      }));
      return problem(id, 500, "Internal Server Error", "internal_error",
        "An unexpected error occurred.");
    } finally {
      inFlight.delete(reject);
    }
  }
}
