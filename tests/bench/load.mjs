// Bounded HTTP load against 127.0.0.1 only: N requests at most, C at a time, keep-alive.
// Usage: node load.mjs URL N C [HEADER=VALUE ...] [--method M] [--body TEXT] [--seconds S]
//                                                 [--id-prefix P] [--rate R]
//   --seconds S     stop starting requests after S seconds (N stays the cap)
//   --rate R        start at most R requests per second in all (request n not before n / R s);
//                   slower answers make it a closed loop again, as without it
//   --body TEXT     sent with content-type application/json (unless a header sets another)
//   --id-prefix P   each request carries X-Request-Id P<sequence number>, so its log line can be
//                   found (sequence numbers start at 0, in the order requests are started)
// Prints {"rps","p50_ms","p99_ms","errors","requests","seconds"}.
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
const latencies = [];
let sent = 0, errors = 0;

// A request that fails, is cut off or takes over 60 s counts as an error and is not timed.
function one(seq) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    let settled = false;
    const settle = (ok, status) => {
      if (settled) return;
      settled = true;
      if (ok) latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (!ok || status !== 200) errors++;
      resolve();
    };
    const h = options["id-prefix"] === undefined ? headers : { ...headers, "x-request-id": options["id-prefix"] + seq };
    const req = http.request(target, { agent, method, headers: h, timeout: 60_000 }, (res) => {
      res.resume();
      res.on("end", () => settle(true, res.statusCode));
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
    await one(seq);
  }
}
await Promise.all(Array.from({ length: concurrency }, lane));
const seconds = elapsedMs() / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
console.log(JSON.stringify({
  rps: latencies.length / seconds, p50_ms: pct(0.5), p99_ms: pct(0.99), errors,
  requests: latencies.length, seconds,
}));
agent.destroy();
