// Unit tests of src/policy.ts (compiled to .build/ by `make test-ts`), with Node's test runner.
// The jose errors are real: they come from jose's own verification and remote JWKS code.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  SignJWT,
  createRemoteJWKSet,
  customFetch,
  errors,
  exportJWK,
  generateKeyPair,
  jwtVerify,
} from "jose";
import { admit, keysUnavailable, requireAmr } from "../.build/policy.mjs";

const active = (revocation_checked) => ({
  active: true,
  sub: "u",
  email: "a@example.com",
  sid: "s",
  exp: 2,
  iat: 1,
  iss: "edge-auth",
  aud: "edge-auth",
  revocation_checked,
});

test("an inactive token is refused with 401 on every route", () => {
  for (const route of ["fail-closed", "accept"]) {
    const a = admit({ active: false }, route);
    assert.equal(a.allow, false);
    assert.equal(a.status, 401);
    assert.equal(a.code, "invalid_token");
  }
});

test("a checked token is allowed on every route", () => {
  for (const route of ["fail-closed", "accept"]) {
    assert.deepEqual(admit(active(true), route), { allow: true, token: active(true) });
  }
});

test("an unchecked token fails closed on sensitive routes and passes on reads", () => {
  for (const unchecked of [false, undefined]) {
    const a = admit(active(unchecked), "fail-closed");
    assert.equal(a.allow, false);
    assert.equal(a.status, 503);
    assert.equal(a.code, "revocation_unchecked");
    assert.equal(admit(active(unchecked), "accept").allow, true);
  }
});

test("a session opened with a second factor meets the mfa demand", () => {
  for (const amr of [["pwd", "otp", "mfa"], ["pwd", "mfa"], ["hwk", "user", "mfa"]]) {
    const answer = { ...active(true), amr };
    assert.equal(admit(answer, "fail-closed").allow, true);
    assert.equal(requireAmr(answer, "mfa"), null, String(amr));
  }
});

test("a password session, or a token without amr, is asked to step up with 401", () => {
  for (const amr of [["pwd"], [], ["MFA"], undefined]) {
    const refused = requireAmr({ ...active(true), amr }, "mfa");
    assert.deepEqual(refused, {
      allow: false,
      status: 401,
      code: "insufficient_user_authentication",
      detail: 'Sign in again with a second factor (amr "mfa").',
    });
  }
});

test("the amr claim of a token verified locally meets the demand as the answer does", async () => {
  const { privateKey, jwk } = await keyPair("k1");
  const jwks = async () => Response.json({ keys: [jwk] });
  const verified = async (amr) => {
    const jwt = await new SignJWT({ typ: "access", sid: "s", ...(amr && { amr }) })
      .setProtectedHeader({ alg: "EdDSA", kid: "k1" })
      .setIssuer("edge-auth")
      .setAudience("edge-auth")
      .setSubject("u")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);
    const keys = createRemoteJWKSet(new URL("https://edge-auth/.well-known/jwks.json"), {
      [customFetch]: jwks,
    });
    const opts = { algorithms: ["EdDSA"], issuer: "edge-auth", audience: "edge-auth" };
    return (await jwtVerify(jwt, keys, opts)).payload;
  };
  assert.equal(requireAmr(await verified(["pwd", "otp", "mfa"]), "mfa"), null);
  assert.equal(requireAmr(await verified(["pwd"]), "mfa").code, "insufficient_user_authentication");
  assert.equal(requireAmr(await verified(undefined), "mfa").status, 401);
});

async function keyPair(kid) {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "EdDSA", use: "sig" } };
}

function token(privateKey, kid) {
  return new SignJWT({ typ: "access", sid: "s" })
    .setProtectedHeader({ alg: "EdDSA", kid })
    .setIssuer("edge-auth")
    .setAudience("edge-auth")
    .setSubject("u")
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(privateKey);
}

/** What jose throws when verifying `jwt` against a JWKS that `fetchImpl` serves. */
async function failure(jwt, fetchImpl) {
  const jwks = createRemoteJWKSet(new URL("https://edge-auth/.well-known/jwks.json"), {
    [customFetch]: fetchImpl,
    timeoutDuration: 200,
  });
  try {
    await jwtVerify(jwt, jwks, { algorithms: ["EdDSA"], issuer: "edge-auth", audience: "edge-auth" });
  } catch (err) {
    return err;
  }
  assert.fail("verification succeeded");
}

test("a JWKS that cannot be had is 'unavailable', a bad token is not", async () => {
  const real = await keyPair("k1");
  const forger = await keyPair("k1"); // another key under the same kid
  const serve = (body, status = 200) => async () => Response.json(body, { status });
  const good = await token(real.privateKey, "k1");

  // The keys could not be had: a 5xx, a body that is not JSON, a network error, a timeout.
  const unavailable = [
    [serve({ error: "down" }, 503), errors.JOSEError],
    [async () => new Response("<html>", { status: 200 }), errors.JOSEError],
    [
      async () => {
        throw new TypeError("network connection lost");
      },
      TypeError,
    ],
    [
      // Never answers: jose's own timeout aborts it. (AbortSignal.timeout's timer does not keep
      // Node alive, so this one does, and fails the case if jose never aborts.)
      (_url, init) =>
        new Promise((_, reject) => {
          const guard = setTimeout(() => reject(new Error("jose did not time out")), 5000);
          init.signal.addEventListener("abort", () => {
            clearTimeout(guard);
            reject(init.signal.reason);
          });
        }),
      errors.JWKSTimeout,
    ],
  ];
  for (const [fetchImpl, kind] of unavailable) {
    const err = await failure(good, fetchImpl);
    assert.ok(err instanceof kind, `${kind.name}: got ${err}`);
    if (kind === errors.JOSEError) assert.equal(err.code, "ERR_JOSE_GENERIC", String(err));
    assert.equal(keysUnavailable(err), true, String(err));
  }
  // The token's fault: forged signature, unknown kid, wrong audience, expired.
  const forged = await token(forger.privateKey, "k1");
  const cases = [
    [forged, errors.JWSSignatureVerificationFailed],
    [await token(real.privateKey, "other"), errors.JWKSNoMatchingKey],
    [
      await new SignJWT({})
        .setProtectedHeader({ alg: "EdDSA", kid: "k1" })
        .setIssuer("edge-auth")
        .setAudience("someone-else")
        .sign(real.privateKey),
      errors.JWTClaimValidationFailed,
    ],
    [
      await new SignJWT({})
        .setProtectedHeader({ alg: "EdDSA", kid: "k1" })
        .setIssuer("edge-auth")
        .setAudience("edge-auth")
        .setExpirationTime(Math.floor(Date.now() / 1000) - 600)
        .sign(real.privateKey),
      errors.JWTExpired,
    ],
    ["not-a-token", errors.JWSInvalid],
  ];
  for (const [jwt, kind] of cases) {
    const err = await failure(jwt, serve({ keys: [real.jwk] }));
    assert.ok(err instanceof kind, `${kind.name}: got ${err}`);
    assert.equal(keysUnavailable(err), false, String(err));
  }
});
