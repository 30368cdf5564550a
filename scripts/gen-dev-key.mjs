// Writes a fresh Ed25519 signing key, as the JWT_SIGNING_KEYS secret, to the given .dev.vars
// file unless one is already there. Local development and tests only; production keys are
// set with `wrangler secret put JWT_SIGNING_KEYS`.
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { existsSync, readFileSync, appendFileSync } from "node:fs";

const file = process.argv[2] ?? ".dev.vars";
if (existsSync(file) && /^JWT_SIGNING_KEYS=/m.test(readFileSync(file, "utf8"))) process.exit(0);
const { privateKey } = generateKeyPairSync("ed25519");
const jwk = privateKey.export({ format: "jwk" });
const key = { kty: "OKP", crv: "Ed25519", kid: `dev-${randomUUID().slice(0, 8)}`, d: jwk.d, x: jwk.x };
appendFileSync(file, `JWT_SIGNING_KEYS='${JSON.stringify([key])}'\n`, { mode: 0o600 });
console.log(`wrote a new signing key (${key.kid}) to ${file}`);
