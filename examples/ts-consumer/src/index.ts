// An example TypeScript Worker that protects its routes with edge-auth in the two ways a Worker
// can:
//
//   (a) through the service binding `AUTH`: `POST /auth/verify` on every request. A logout is
//       seen at once (the session is looked up), at the cost of one call (same machine, no
//       public network) per request.
//   (b) locally, with `jose` against the auth Worker's JWKS (fetched once through the binding,
//       then cached): no call per request, but a logged-out token keeps working until it
//       expires (`ACCESS_TOKEN_TTL`, 15 minutes by default).
//
// Every other path is passed to the auth Worker unchanged, so this Worker can also front it.

import { createRemoteJWKSet, customFetch, jwtVerify, type JWTPayload } from "jose";
import { admit, keysUnavailable, requireAmr, type Admission, type WhenUnchecked } from "./policy";
import type { AuthMethod, VerifyRequest, VerifyResponse } from "./verify-types";

export interface Env {
  /** Service binding to the edge-auth Worker. */
  AUTH: Fetcher;
  /** Must equal edge-auth's `JWT_ISSUER` and `JWT_AUDIENCE`. */
  AUTH_ISSUER: string;
  AUTH_AUDIENCE: string;
}

/** The claims of an edge-auth access token (what way (b) reads). */
interface AccessClaims extends JWTPayload {
  sub: string;
  email: string;
  sid: string;
  typ: string;
  /** How the session was opened (RFC 8176); absent from tokens of an older edge-auth. */
  amr?: AuthMethod[];
}

// The binding ignores the host; the path selects the endpoint.
const VERIFY_URL = "https://edge-auth/auth/verify";
const JWKS_URL = new URL("https://edge-auth/.well-known/jwks.json");
/** edge-auth's clock leeway, so that both ways agree on `exp` and `nbf`. */
const CLOCK_TOLERANCE_S = 30;

// One resolver per isolate (module scope), so its cache serves every request the isolate
// handles: the JWKS is fetched on first use, again after `cacheMaxAge` (edge-auth's
// `JWKS_MAX_AGE`), and when a token names an unknown `kid` (at most every `cooldownDuration`).
let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

function jwksOf(env: Env): ReturnType<typeof createRemoteJWKSet> {
  jwks ??= createRemoteJWKSet(JWKS_URL, {
    // Through the service binding rather than the public internet.
    [customFetch]: (url, init) => env.AUTH.fetch(url, init),
    cacheMaxAge: 300_000,
    cooldownDuration: 30_000,
  });
  return jwks;
}

// A 401's `code` is also its RFC 6750 `error`: `invalid_token`, or RFC 9470's step-up
// `insufficient_user_authentication`.
function problem(status: number, code: string, detail: string): Response {
  const headers = new Headers({ "content-type": "application/problem+json" });
  if (status === 401) headers.set("www-authenticate", `Bearer error="${code}"`);
  if (status === 503) headers.set("retry-after", "5");
  return Response.json({ type: "about:blank", status, code, detail }, { status, headers });
}

/** The largest `Authorization` value edge-auth reads (its `MAX_AUTHORIZATION_BYTES`). */
const MAX_AUTHORIZATION_BYTES = 8 * 1024;

function bearer(request: Request): string | null {
  const header = request.headers.get("authorization") ?? "";
  // An oversized value is no token (edge-auth refuses it too); the length in UTF-8 bytes.
  if (new TextEncoder().encode(header).length > MAX_AUTHORIZATION_BYTES) return null;
  const [scheme, token] = header.trim().split(/\s+/, 2);
  return scheme?.toLowerCase() === "bearer" && token ? token : null;
}

/** Way (a): asks edge-auth, which checks signature, claims and the session. */
async function viaBinding(
  token: string,
  env: Env,
  whenUnchecked: WhenUnchecked,
): Promise<Admission | Response> {
  const body: VerifyRequest = { token };
  const unavailable = () => problem(503, "auth_unavailable", "The auth service did not answer.");
  let answer: Response;
  try {
    answer = await env.AUTH.fetch(VERIFY_URL, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch {
    return unavailable();
  }
  // edge-auth refused the request itself (a token too large to be one, say): the token is no
  // good, and asking again would not change that.
  if (answer.status >= 400 && answer.status < 500) {
    return problem(401, "invalid_token", "The access token is invalid.");
  }
  if (answer.status !== 200) return unavailable();
  let verified: VerifyResponse;
  try {
    verified = (await answer.json()) as VerifyResponse;
  } catch {
    return unavailable();
  }
  return admit(verified, whenUnchecked);
}

/** Way (b): checks the signature and claims here; the algorithm, issuer and audience are pinned. */
async function locally(token: string, env: Env): Promise<AccessClaims | null | "unavailable"> {
  try {
    const { payload } = await jwtVerify<AccessClaims>(token, jwksOf(env), {
      algorithms: ["EdDSA"],
      issuer: env.AUTH_ISSUER,
      audience: env.AUTH_AUDIENCE,
      requiredClaims: ["sub", "sid", "exp", "nbf", "iat"],
      clockTolerance: CLOCK_TOLERANCE_S,
    });
    // edge-auth signs access tokens only today; pin the type as it does.
    return payload.typ === "access" ? payload : null;
  } catch (err) {
    if (keysUnavailable(err)) return "unavailable";
    // Bad signature, unknown kid, wrong alg/iss/aud, expired...: the client learns only 401.
    return null;
  }
}

type Route =
  | { method: string; way: "binding"; whenUnchecked: WhenUnchecked; requires?: AuthMethod }
  | { method: string; way: "local" };

const ROUTES: Record<string, Route> = {
  // A read: a token whose revocation could not be checked is still served.
  "/binding/profile": { method: "GET", way: "binding", whenUnchecked: "accept" },
  // A sensitive action: fail closed unless the session was confirmed live.
  "/binding/transfer": { method: "POST", way: "binding", whenUnchecked: "fail-closed" },
  // More sensitive still: the session must also have been opened with a second factor.
  "/binding/mfa-protected": {
    method: "POST",
    way: "binding",
    whenUnchecked: "fail-closed",
    requires: "mfa",
  },
  // Zero-latency reads: the token alone decides.
  "/local/profile": { method: "GET", way: "local" },
};

export default {
  async fetch(request, env): Promise<Response> {
    const path = new URL(request.url).pathname;
    const route = ROUTES[path];
    if (!route) return env.AUTH.fetch(request);
    if (request.method !== route.method) {
      return problem(405, "method_not_allowed", `Use ${route.method}.`);
    }
    const token = bearer(request);
    if (!token) return problem(401, "invalid_token", "A bearer access token is required.");

    if (route.way === "local") {
      const claims = await locally(token, env);
      if (claims === "unavailable") {
        return problem(503, "auth_unavailable", "The signing keys could not be fetched.");
      }
      if (!claims) return problem(401, "invalid_token", "The access token is invalid or expired.");
      const { sub, email, sid, amr } = claims;
      return Response.json({ way: "local", sub, email, sid, amr });
    }
    const admission = await viaBinding(token, env, route.whenUnchecked);
    if (admission instanceof Response) return admission;
    if (!admission.allow) return problem(admission.status, admission.code, admission.detail);
    const stepUp = route.requires ? requireAmr(admission.token, route.requires) : null;
    if (stepUp) return problem(stepUp.status, stepUp.code, stepUp.detail);
    const { sub, email, sid, amr, revocation_checked } = admission.token;
    return Response.json({ way: "binding", path, sub, email, sid, amr, revocation_checked });
  },
} satisfies ExportedHandler<Env>;
