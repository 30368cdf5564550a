// The answer of edge-auth's `POST /auth/verify` (RFC 7662-style token introspection), as the
// auth Worker sends it. The one place this example describes it; copy this file as it is.

/** An RFC 8176 authentication method that edge-auth records. */
export type AuthMethod = "pwd" | "otp" | "mfa" | "hwk" | "user";

/** The token is valid: signature, claims and (when `revocation_checked`) its session. */
export interface ActiveToken {
  active: true;
  /** The user's id (a UUID). */
  sub: string;
  email: string;
  /**
   * Whether the address was proved reachable. From the database when `revocation_checked` is
   * `true`, else from the access token's own `email_verified` claim.
   */
  email_verified: boolean;
  /** The session (login) the token belongs to; logging out revokes it. */
  sid: string;
  /** Expiry and issue time, seconds since the Unix epoch. */
  exp: number;
  iat: number;
  iss: string;
  aud: string;
  /**
   * How the session was opened (RFC 8176), from the token: `["pwd"]` after a password login,
   * `["pwd", "otp", "mfa"]` after a TOTP code, `["pwd", "mfa"]` after a recovery code,
   * `["hwk", "user", "mfa"]` after a passkey; refreshed tokens keep their session's. Demand
   * `"mfa"` for a sensitive action (`requireAmr()` in `policy.ts`).
   */
  amr: AuthMethod[];
  /**
   * `true`: the session was looked up and is live. `false`: edge-auth's database could not be
   * asked (an outage, its circuit breaker open), so the answer rests on the signature and claims
   * alone and a logout may not be seen yet. Each route decides: fail closed where acting on a
   * revoked session is costly, accept where a read is fine.
   */
  revocation_checked: boolean;
}

/** Any token that `/auth/me` would refuse: malformed, expired, wrongly signed, revoked... */
export interface InactiveToken {
  active: false;
}

export type VerifyResponse = ActiveToken | InactiveToken;

/** The request body of `POST /auth/verify`. */
export interface VerifyRequest {
  token: string;
}
