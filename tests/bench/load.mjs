// Bounded HTTP load against 127.0.0.1 only: N requests at most, C at a time, keep-alive.
// Usage: node load.mjs URL N C [HEADER=VALUE ...] [--method M] [--body TEXT] [--seconds S]
//                                                 [--id-prefix P] [--rate R] [--honor-retry-after 1]
//   --seconds S     stop starting requests after S seconds (N stays the cap)
//   --rate R        start at most R requests per second in all (request n not before n / R s);
//                   slower answers make it a closed loop again, as without it
//   --body TEXT     sent with content-type application/json (unless a header sets another)
//   --id-prefix P   each request carries X-Request-Id P<sequence number>, so its log line can be
//                   found (sequence numbers start at 0, in the order requests are started)
//   --honor-retry-after 1   a lane that is answered 503 with Retry-After waits that many
//                   seconds (never past --seconds) before its next request, as a client should
// Prints {"rps","p50_ms","p99_ms","errors","requests","seconds","ok_p50_ms","statuses"}:
// ok_p50_ms over the 200s alone, statuses the count of each status answered.
import http from "node:http";

const positional = [], options = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i].startsWith("--")) options[argv[i].slice(2)] = argv[++i];
  else positional.push(argv[i]);
}
const [url, nArg, cArg, ...headerArgs] = positional;
const target = new URL(url);
if (!["127.0.0.1", "localhost"].includes(target.hostname)) throw new Error("loopback only");
const total = Number(nArg), concurrency = Number(cArg);
const limitMs = options.seconds ? Number(options.seconds) * 1000 : Infinity;
const rate = options.rate ? Number(options.rate) : Infinity;
if (!(total > 0) || !(concurrency > 0) || !(limitMs > 0) || !(rate > 0)) {
  throw new Error("N, C, --seconds and --rate must be positive");
}
const method = options.method ?? "GET";
const body = options.body;
const headers = {};
if (body !== undefined) headers["content-type"] = "application/json";
for (const h of headerArgs) { const i = h.indexOf("="); headers[h.slice(0, i)] = h.slice(i + 1); }
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const latencies = [], okLatencies = [], statuses = {};
let sent = 0, errors = 0;

// A request that fails, is cut off or takes over 60 s counts as an error and is not timed.
function one(seq) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    let settled = false;
    const settle = (ok, status, retryAfter) => {
      if (settled) return;
      settled = true;
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (ok) {
        latencies.push(ms);
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status === 200) okLatencies.push(ms);
      }
      if (!ok || status !== 200) errors++;
      resolve(ok && status === 503 ? Number(retryAfter) || 0 : 0);
    };
    const h = options["id-prefix"] === undefined ? headers : { ...headers, "x-request-id": options["id-prefix"] + seq };
    const req = http.request(target, { agent, method, headers: h, timeout: 60_000 }, (res) => {
      res.resume();
      res.on("end", () => settle(true, res.statusCode, res.headers["retry-after"]));
      res.on("error", () => settle(false));
      res.on("close", () => settle(false));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => settle(false));
    req.on("close", () => { if (!req.res) settle(false); });
    req.end(body);
  });
}

const start = process.hrtime.bigint();
const elapsedMs = () => Number(process.hrtime.bigint() - start) / 1e6;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
async function lane() {
  while (sent < total && elapsedMs() < limitMs) {
    const seq = sent++;
    const wait = (seq * 1000) / rate - elapsedMs();
    if (wait > 0) await sleep(wait);
    if (elapsedMs() >= limitMs) break;
    const retryAfter = await one(seq);
    if (options["honor-retry-after"] && retryAfter > 0) {
      await sleep(Math.min(retryAfter * 1000, Math.max(0, limitMs - elapsedMs())));
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, lane));
const seconds = elapsedMs() / 1000;
latencies.sort((a, b) => a - b);
okLatencies.sort((a, b) => a - b);
const pct = (p, xs = latencies) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
console.log(JSON.stringify({
  rps: latencies.length / seconds, p50_ms: pct(0.5), p99_ms: pct(0.99), errors,
  requests: latencies.length, seconds, ok_p50_ms: pct(0.5, okLatencies) ?? null, statuses,
}));
agent.destroy();
