// Builds the static files the Worker's entry module serves itself (js/entry.mjs): Swagger UI for
// /docs, from the pinned npm package (no CDN), with its start-up script, the
// password-reset and email-verification pages the emailed links open, the passkeys page, and the
// OpenAPI document itself (generated natively by `make openapi`: a fixed file of each deployment,
// so the Rust Worker's wasm does not carry its 94 KB).
//
// Usage: node scripts/static-files.mjs OUT_DIR
// Writes OUT_DIR/static/<n>.txt (each file's text, which wrangler bundles as a Text module: a
// string, never parsed as code) and OUT_DIR/static.mjs, the table the entry module looks paths
// up in: path -> { body, headers }, with a strong ETag (SHA-256 of the bytes) made here.
//
// It also writes the same files as a Workers Static Assets variant, which `make bench`
// (BENCH_ONLY=assets) measures against the bundle (docs/static-files.md): OUT_DIR/assets/, the
// asset directory (the files under their paths, /docs's page as docs.html, and a `_headers` file
// with each one's headers), and OUT_DIR/assets-worker/, the same entry module with an empty
// table, so that the Worker's bundle carries none of the files.
//
// Why the bundle and not Workers static assets: docs/static-files.md.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const out = process.argv[2];
if (!out) throw new Error("usage: node scripts/static-files.mjs OUT_DIR");

const SWAGGER = "node_modules/swagger-ui-dist";
const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";
const HTML = "text/html; charset=utf-8";
const TEXT = "text/plain; charset=utf-8";
const JSON_TYPE = "application/json";

// Swagger UI may load its own scripts, styles and data: images; nothing from elsewhere.
const DOCS = {
  "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
};
// The pages the emailed links open: scripts and styles from this origin only; the token in the
// address must never leave it (no referrer), and the page itself is never cached.
const PAGE = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};
const PAGE_FILE = {
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
};

const FILES = [
  ["/docs/swagger-ui-bundle.js", `${SWAGGER}/swagger-ui-bundle.js`, JS, DOCS],
  ["/docs/swagger-ui.css", `${SWAGGER}/swagger-ui.css`, CSS, DOCS],
  ["/docs/swagger-ui-bundle.js.LICENSE.txt", `${SWAGGER}/swagger-ui-bundle.js.LICENSE.txt`, TEXT, DOCS],
  ["/docs/init.js", "js/docs-init.js", JS, DOCS],
  ["/reset-password", "js/pages/reset-password.html", HTML, PAGE],
  ["/verify-email", "js/pages/verify-email.html", HTML, PAGE],
  ["/passkeys", "js/pages/passkeys.html", HTML, PAGE],
  ["/pages/token.js", "js/pages/token.js", JS, PAGE_FILE],
  ["/pages/reset-password.js", "js/pages/reset-password.js", JS, PAGE_FILE],
  ["/pages/verify-email.js", "js/pages/verify-email.js", JS, PAGE_FILE],
  ["/pages/passkeys.js", "js/pages/passkeys.js", JS, PAGE_FILE],
  ["/pages/pages.css", "js/pages/pages.css", CSS, PAGE_FILE],
  // The admin console's script and style: outside /admin/, where every path is the key-gated
  // API. The page itself (GET /admin) is the Rust Worker's, which serves it only while the
  // admin API is on.
  ["/admin.js", "js/admin/admin.js", JS, PAGE_FILE],
  ["/admin.css", "js/admin/admin.css", CSS, PAGE_FILE],
  // The API's own description, with the caching the API's other public document (JWKS) has.
  ["/openapi.json", "src/api_doc/openapi.json", JSON_TYPE, { "cache-control": "public, max-age=300" }],
];

// A file's bytes as served: src/api_doc/openapi.json is pretty-printed for review, and served
// without the indentation (178 KB become 94 KB).
function served(source) {
  const bytes = readFileSync(source);
  return source.endsWith(".json")
    ? Buffer.from(JSON.stringify(JSON.parse(bytes.toString("utf-8"))))
    : bytes;
}

rmSync(join(out, "static"), { recursive: true, force: true });
mkdirSync(join(out, "static"), { recursive: true });
const imports = [];
const entries = [];
FILES.forEach(([path, source, type, extra], i) => {
  const bytes = served(source);
  new TextDecoder("utf-8", { fatal: true }).decode(bytes); // throws: a Text module is a string
  writeFileSync(join(out, "static", `${i}.txt`), bytes);
  const etag = `"${createHash("sha256").update(bytes).digest("base64url").slice(0, 22)}"`;
  const headers = {
    "content-type": type,
    // Revalidated on every use (as Workers static assets do): a new deployment is seen at once.
    "cache-control": "public, max-age=0, must-revalidate",
    "x-content-type-options": "nosniff",
    ...extra,
    etag,
  };
  imports.push(`import f${i} from "./static/${i}.txt";`);
  entries.push(`  [${JSON.stringify(path)}, { body: f${i}, etag: ${JSON.stringify(etag)}, headers: ${JSON.stringify(headers)} }],`);
});
writeFileSync(
  join(out, "static.mjs"),
  `// Generated by scripts/static-files.mjs; do not edit.\n${imports.join("\n")}\n\n` +
    `export const STATIC_FILES = new Map([\n${entries.join("\n")}\n]);\n`,
);

// The Workers Static Assets variant: the same files under their paths, each with the same
// headers through `_headers` (one exact-path rule per file: a header that two matching rules both
// set would be joined into one value). The asset Worker makes its own ETag and 304s.
// /docs's page is served by the Rust Worker in the bundle variant; here it is docs.html, which the
// default html_handling ("auto-trailing-slash") serves at /docs, with the headers the Rust Worker
// gives it (the API's `no-store`, nosniff, its CSP).
const assets = join(out, "assets");
rmSync(assets, { recursive: true, force: true });
const rules = [];
const ASSET_FILES = [
  ...FILES,
  ["/docs", "src/api_doc/docs.html", HTML, { "content-security-policy": DOCS["content-security-policy"], "cache-control": "no-store" }],
];
for (const [path, source, type, extra] of ASSET_FILES) {
  const file = join(assets, /\.(js|css|txt|json)$/.test(path) ? path : `${path}.html`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, served(source));
  const headers = {
    "content-type": type,
    "cache-control": "public, max-age=0, must-revalidate",
    "x-content-type-options": "nosniff",
    ...extra,
  };
  rules.push([path, ...Object.entries(headers).map(([name, value]) => `  ${name}: ${value}`)].join("\n"));
}
writeFileSync(join(assets, "_headers"), `${rules.join("\n")}\n`);

const worker = join(out, "assets-worker");
rmSync(worker, { recursive: true, force: true });
mkdirSync(worker, { recursive: true });
copyFileSync("js/entry.mjs", join(worker, "entry.mjs"));
writeFileSync(join(worker, "static.mjs"),
  "// Generated by scripts/static-files.mjs; do not edit. The files are Workers Static Assets.\n" +
  "export const STATIC_FILES = new Map();\n");
writeFileSync(join(worker, "index.js"),
  '// Generated by scripts/static-files.mjs; do not edit.\nexport { default } from "../index.js";\n');
