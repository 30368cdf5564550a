// Fills the given .dev.vars file for local development and tests: a fresh Ed25519 signing key
// as the JWT_SIGNING_KEYS secret, a fresh 32-byte MFA_ENCRYPTION_KEY (base64url; it seals the
// TOTP secrets, see docs/mfa.md), and PUBLIC_URL, the origin `make dev` serves on (where the
// emailed links point), each unless the file already has it: a key kept is what keeps the
// local database's sealed secrets readable. Production keys are set with `wrangler secret put
// JWT_SIGNING_KEYS` and `wrangler secret put MFA_ENCRYPTION_KEY`, and PUBLIC_URL (or APP_URL)
// in wrangler.toml's [vars].
import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { existsSync, readFileSync, appendFileSync } from "node:fs";

const DEV_ORIGIN = "http://127.0.0.1:8787";
const file = process.argv[2] ?? ".dev.vars";
const text = existsSync(file) ? readFileSync(file, "utf8") : "";
const has = (name) => new RegExp(`^${name}=`, "m").test(text);
// A file whose last line has no newline would glue the next line to it.
const sep = text === "" || text.endsWith("\n") ? "" : "\n";
let lines = "";
if (!has("JWT_SIGNING_KEYS")) {
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  const key = { kty: "OKP", crv: "Ed25519", kid: `dev-${randomUUID().slice(0, 8)}`, d: jwk.d, x: jwk.x };
  lines += `JWT_SIGNING_KEYS='${JSON.stringify([key])}'\n`;
  console.log(`wrote a new signing key (${key.kid}) to ${file}`);
}
if (!has("MFA_ENCRYPTION_KEY")) {
  lines += `MFA_ENCRYPTION_KEY=${randomBytes(32).toString("base64url")}\n`;
  console.log(`wrote a new MFA_ENCRYPTION_KEY to ${file}`);
}
if (!has("PUBLIC_URL")) {
  lines += `PUBLIC_URL=${DEV_ORIGIN}\n`;
  console.log(`wrote PUBLIC_URL=${DEV_ORIGIN} to ${file}`);
}
if (lines) appendFileSync(file, sep + lines, { mode: 0o600 });
