//! Passwordless login: `POST /auth/passkeys/login/options` and `POST /auth/passkeys/login`.
//! The checks are the core's (`authentication`); this spends the challenge, finds the
//! credential, records the use under the counter rule and opens a session.

use crate::log_fields;
use serde_json::Value;

use super::options::request_options;
use super::register::{credential, new_challenge, CHALLENGE_TTL_MS};
use super::{base64url, verify_authentication, AuthenticationResponse, RelyingParty};
use super::{PasskeyError, StoredCredential};
use crate::app::email_verification::optional_body;
use crate::app::{rfc3339, App, Call, Crypto};
use crate::domain::amr::Amr;
use crate::http::error::AppError;
use crate::http::{ApiResponse, Body, Fields};
use crate::store::passkeys::PasskeyStore;
use crate::store::{BreakerStore, SessionStore, UserStore};

/// The body of `POST /auth/passkeys/login`.
struct Login {
    credential: Value,
}

impl Body for Login {
    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        Ok(credential(f).map(|credential| Self { credential }))
    }
}

impl<U: UserStore + PasskeyStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
    pub(in crate::app) async fn passkey_login_options(
        &self,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let ctx = call.ctx;
        optional_body(call.req)?;
        let (challenge, challenge_text) = new_challenge()?;
        let expires = ctx.now_ms + CHALLENGE_TTL_MS;
        call.guard
            .call(|| self.users.insert_login_challenge(&challenge_text, expires))
            .await?;
        let (rp_id, _) = self.relying_party(call);
        Ok(ApiResponse::json(200, &request_options(&rp_id, &challenge)))
    }

    pub(in crate::app) async fn passkey_login(
        &self,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let (ctx, guard) = (call.ctx, &call.guard);
        let body: Login = call.req.parse()?;
        let refuse = |reason: &str| {
            ctx.log(
                "info",
                "login_failed",
                log_fields!({ "method": "passkey", "reason": reason }),
            );
            AppError::InvalidPasskey(401)
        };
        let failed = |e: PasskeyError| match e {
            PasskeyError::Platform(cause) => AppError::Internal(cause),
            e => refuse(&e.to_string()),
        };
        let response = AuthenticationResponse::from_json(&body.credential).map_err(failed)?;
        let presented = response.presented_challenge().map_err(failed)?;
        let credential_id = base64url::encode(&response.credential_id);
        let presented_text = base64url::encode(&presented);
        // One round trip: the challenge is spent whatever follows, and the credential read.
        let start = guard
            .call(|| {
                self.users
                    .start_login(&presented_text, &credential_id, ctx.now_ms)
            })
            .await?;
        if start.challenge_usable != Some(true) {
            return Err(refuse("challenge not issued for a login, spent or expired"));
        }
        let Some(passkey) = start.passkey else {
            return Err(refuse(&PasskeyError::UnknownCredential.to_string()));
        };
        let (public_key, user_handle) = base64url::decode(&passkey.public_key)
            .zip(base64url::decode(&passkey.user_handle))
            .ok_or_else(|| AppError::internal("a stored passkey is not base64url"))?;
        let (rp_id, origins) = self.relying_party(call);
        let assertion = verify_authentication(
            &response,
            &StoredCredential {
                credential_id: &response.credential_id,
                public_key: &public_key,
                sign_count: passkey.sign_count,
                user_handle: &user_handle,
            },
            &RelyingParty {
                id: &rp_id,
                origins: &origins,
            },
            &presented,
            &C::Signatures::default(),
        )
        .await
        .map_err(failed)?;
        // The counter rule again, in the write: a concurrent login of the same credential
        // may have stored a higher counter since the read.
        let used_at = rfc3339(ctx.now_ms);
        let row = guard
            .call(|| {
                self.users
                    .record_passkey_use(&passkey.id, assertion.sign_count, &used_at)
            })
            .await?
            .ok_or_else(|| refuse(&PasskeyError::CounterNotIncreased.to_string()))?;
        let (row, disabled) = row;
        let user = row.decode().map_err(AppError::internal)?;
        // Every check held: only now is a disabled account told so, as a password login is.
        if disabled {
            ctx.log(
                "info",
                "login_refused",
                log_fields!({ "reason": "account_disabled", "user_id": user.id.to_string() }),
            );
            return Err(AppError::AccountDisabled);
        }
        self.require_verified(&user, ctx)?;
        ctx.log(
            "info",
            "passkey_used",
            log_fields!({ "user_id": user.id.to_string(), "passkey_id": passkey.id }),
        );
        self.open_session(
            call,
            &user,
            Amr::passkey(),
            None,
            None,
            AppError::InvalidPasskey(401),
        )
        .await
    }
}
