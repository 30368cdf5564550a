// The decisions of the example, pure (no I/O), so that they read and test on their own
// (test/policy.test.mjs, run by `make test`).

import { errors } from "jose";
import type { ActiveToken, AuthMethod, VerifyResponse } from "./verify-types";

/**
 * What a route does when `/auth/verify` could not check revocation (`revocation_checked:
 * false`, edge-auth's database unreachable): refuse with 503 where acting for a logged-out
 * session would be costly, or accept where serving a read is fine.
 */
export type WhenUnchecked = "fail-closed" | "accept";

export type Admission =
  | { allow: true; token: ActiveToken }
  | { allow: false; status: 401 | 503; code: string; detail: string };

/** The whole decision of way (a) about one `/auth/verify` answer, for a route's choice. */
export function admit(answer: VerifyResponse, whenUnchecked: WhenUnchecked): Admission {
  if (!answer.active) {
    return {
      allow: false,
      status: 401,
      code: "invalid_token",
      detail: "The access token is invalid, expired or revoked.",
    };
  }
  // Anything but an explicit `true` (an older edge-auth omits it) counts as unchecked.
  if (answer.revocation_checked !== true && whenUnchecked === "fail-closed") {
    return {
      allow: false,
      status: 503,
      code: "revocation_unchecked",
      detail: "The auth service cannot confirm the session right now; retry later.",
    };
  }
  return { allow: true, token: answer };
}

/**
 * Whether way (b) failed because the keys could not be had (the JWKS fetch failed, timed out or
 * answered nonsense) rather than because of the token: that is a 503, not a 401, so that clients
 * do not throw away a good token while the auth Worker is unreachable.
 */
export function keysUnavailable(err: unknown): boolean {
  if (!(err instanceof errors.JOSEError)) return true; // the fetch itself threw
  return (
    err instanceof errors.JWKSTimeout ||
    err instanceof errors.JWKSInvalid ||
    err.code === errors.JOSEError.code // "Expected 200 OK" / an unparsable JWKS
  );
}

/** A valid token whose session was not opened the way a route demands. */
export type StepUp = {
  allow: false;
  status: 401;
  code: "insufficient_user_authentication";
  detail: string;
};

/**
 * Demands that a token's session was opened with `method` (`"mfa"`: a second factor or a
 * passkey), from `/auth/verify`'s answer (way (a)) or the token's own claims (way (b)), which
 * carry the same `amr`. `null` when it was; otherwise RFC 9470's step-up answer: `401` with
 * `WWW-Authenticate: Bearer error="insufficient_user_authentication"`, so the client signs in
 * again with that method. A token or an answer without `amr` (an older edge-auth) has none.
 */
export function requireAmr(
  token: { amr?: readonly string[] },
  method: AuthMethod,
): StepUp | null {
  if (token.amr?.includes(method)) return null;
  return {
    allow: false,
    status: 401,
    code: "insufficient_user_authentication",
    detail: `Sign in again with a second factor (amr "${method}").`,
  };
}
