// Bounded HTTP load against 127.0.0.1 only: N requests, C at a time, keep-alive.
// Usage: node load.mjs URL N C [HEADER=VALUE]  ->  prints {"rps","p50_ms","p99_ms","errors"}
import http from "node:http";

const [url, nArg, cArg, header] = process.argv.slice(2);
const target = new URL(url);
if (!["127.0.0.1", "localhost"].includes(target.hostname)) throw new Error("loopback only");
const total = Number(nArg), concurrency = Number(cArg);
const headers = {};
if (header) { const i = header.indexOf("="); headers[header.slice(0, i)] = header.slice(i + 1); }
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const latencies = [];
let sent = 0, errors = 0;

function one() {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = http.request(target, { agent, headers }, (res) => {
      res.resume();
      res.on("end", () => {
        if (res.statusCode !== 200) errors++;
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        resolve();
      });
    });
    req.on("error", () => { errors++; resolve(); });
    req.end();
  });
}

async function lane() { while (sent < total) { sent++; await one(); } }
const start = process.hrtime.bigint();
await Promise.all(Array.from({ length: concurrency }, lane));
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
console.log(JSON.stringify({ rps: total / seconds, p50_ms: pct(0.5), p99_ms: pct(0.99), errors }));
agent.destroy();
