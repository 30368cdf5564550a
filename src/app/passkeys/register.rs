//! The passkey endpoints of a signed-in user: `POST /auth/passkeys/register/options`,
//! `POST /auth/passkeys/register`, `GET /auth/passkeys`, `DELETE /auth/passkeys/{id}`. The
//! checks are the core's (`registration`); this is their HTTP and storage side.

use crate::log_fields;
use crate::store::events::EventKind;
use serde_json::Value;

use super::options::{creation_options, CredentialDescriptor, RegistrationUser};
use super::registration::{RegistrationCheck, RegistrationResponse};
use super::{base64url, verify_registration, Algorithm, RelyingParty};
use crate::api_doc::{PasskeyList, PasskeyView};
use crate::app::email_verification::optional_body;
use crate::app::mail::{MailJob, MailKind};
use crate::app::{rfc3339, App, Call, Crypto, Route};
use crate::domain::{random, User};
use crate::http::error::{AppError, FieldError, TokenRejection};
use crate::http::{ApiResponse, Body, Fields};
use crate::store::passkeys::{Ceremony, NewPasskey, NotStored, PasskeyInfo, PasskeyStore};
use crate::store::{BreakerStore, SessionStore, UserStore};

/// How long a challenge of either ceremony works.
pub(super) const CHALLENGE_TTL_MS: i64 = 300_000;

/// Longest passkey name, in code points.
const NAME_MAX_CHARS: usize = 64;

/// 32 random bytes and their base64url.
pub(super) fn new_challenge() -> Result<([u8; 32], String), AppError> {
    let bytes = random::bytes::<32>().map_err(AppError::internal)?;
    Ok((bytes, base64url::encode(&bytes)))
}

/// The `credential` member of a ceremony's body: a JSON object, else a broken rule.
pub(super) fn credential(f: &mut Fields) -> Option<Value> {
    let taken = match f.get("credential") {
        None | Some(Value::Null) => Err(FieldError::new(
            "credential",
            "required",
            "credential is required.",
        )),
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        Some(_) => Err(FieldError::new(
            "credential",
            "invalid_type",
            "credential must be an object (the credential's toJSON()).",
        )),
    };
    f.check(taken)
}

/// The body of `POST /auth/passkeys/register`.
struct Registration {
    credential: Value,
    name: Option<String>,
}

impl Body for Registration {
    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        let credential = credential(f);
        let name = match f.get("name") {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(n)) => {
                let chars = n.chars().count();
                let checked = if chars == 0 {
                    Err(FieldError::new(
                        "name",
                        "too_short",
                        "name must not be empty.",
                    ))
                } else if chars > NAME_MAX_CHARS {
                    Err(FieldError::new(
                        "name",
                        "too_long",
                        "name must be at most 64 characters.",
                    ))
                } else {
                    Ok(Some(n.clone()))
                };
                f.check(checked)
            }
            Some(_) => f.check(Err(FieldError::new(
                "name",
                "invalid_type",
                "name must be a string.",
            ))),
        };
        Ok(credential
            .zip(name)
            .map(|(credential, name)| Self { credential, name }))
    }
}

fn view(p: PasskeyInfo) -> PasskeyView {
    PasskeyView {
        id: p.id,
        name: p.name,
        created_at: p.created_at,
        last_used_at: p.last_used_at,
    }
}

impl<U: UserStore + PasskeyStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
    /// The RP ID and the accepted origins of this request.
    pub(super) fn relying_party(&self, call: &Call<'_, B>) -> (String, Vec<String>) {
        self.config.webauthn.relying_party(&call.req.origin)
    }

    /// The routes of a signed-in user's passkeys: the bearer check once for all four (one copy
    /// of it in the wasm), then the route's handler.
    pub(in crate::app) async fn passkeys_of_user(
        &self,
        route: Route,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let (_, user) = self.bearer_user(call).await?;
        match route {
            Route::PasskeyRegisterOptions => self.passkey_register_options(&user, call).await,
            Route::PasskeyRegister => self.passkey_register(&user, call).await,
            Route::ListPasskeys => self.list_passkeys(&user, call).await,
            _ => self.delete_passkey(&user, call).await,
        }
    }

    async fn passkey_register_options(
        &self,
        user: &User,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let (ctx, guard) = (call.ctx, &call.guard);
        optional_body(call.req)?;
        let (challenge, challenge_text) = new_challenge()?;
        let candidate = base64url::encode(&random::bytes::<32>().map_err(AppError::internal)?);
        let expires = ctx.now_ms + CHALLENGE_TTL_MS;
        let start = guard
            .call(|| {
                self.users
                    .start_registration(&user.id, &candidate, &challenge_text, expires)
            })
            .await?
            .ok_or(AppError::InvalidToken(TokenRejection::SessionRevoked))?;
        let handle = base64url::decode(&start.handle)
            .ok_or_else(|| AppError::internal("passkey_user_handles.handle is not base64url"))?;
        let exclude = start
            .exclude
            .into_iter()
            .map(|(id, transports)| CredentialDescriptor {
                kind: "public-key".into(),
                id,
                // Read as a `Value` (the parser request bodies use), not as a `Vec<String>`.
                transports: match serde_json::from_slice(transports.as_bytes()) {
                    Ok(Value::Array(listed)) => listed
                        .into_iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect(),
                    _ => Vec::new(),
                },
            })
            .collect();
        let (rp_id, _) = self.relying_party(call);
        let options = creation_options(
            &rp_id,
            &self.config.webauthn.rp_name,
            RegistrationUser {
                handle: &handle,
                email: user.email.as_ref(),
            },
            &challenge,
            exclude,
        );
        Ok(ApiResponse::json(200, &options))
    }

    async fn passkey_register(
        &self,
        user: &User,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let (ctx, guard) = (call.ctx, &call.guard);
        let body: Registration = call.req.parse()?;
        let refuse = |reason: &str| {
            ctx.log(
                "info",
                "passkey_refused",
                log_fields!({ "ceremony": "registration", "reason": reason, "user_id": user.id.to_string() }),
            );
            AppError::InvalidPasskey(400)
        };
        let response = RegistrationResponse::from_json(&body.credential)
            .map_err(|e| refuse(&e.to_string()))?;
        let presented = super::client_data::ClientData::parse(&response.client_data_json)
            .and_then(|c| c.challenge_bytes())
            .map_err(|e| refuse(&e.to_string()))?;
        let presented_text = base64url::encode(&presented);
        // Spent whatever follows: a challenge works once.
        let usable = guard
            .call(|| {
                self.users.claim_challenge(
                    &presented_text,
                    Ceremony::Registration,
                    Some(&user.id),
                    ctx.now_ms,
                )
            })
            .await?;
        if usable != Some(true) {
            return Err(refuse(
                "challenge not issued to this user, spent or expired",
            ));
        }
        let (rp_id, origins) = self.relying_party(call);
        let credential = verify_registration(
            &response,
            &RegistrationCheck {
                rp: RelyingParty {
                    id: &rp_id,
                    origins: &origins,
                },
                challenge: &presented,
                algorithms: &Algorithm::ALL,
            },
        )
        .map_err(|e| refuse(&e.to_string()))?;

        let id = random::uuid_v4().map_err(AppError::internal)?.to_string();
        let created_at = rfc3339(ctx.now_ms);
        let name = body
            .name
            .unwrap_or_else(|| format!("Passkey {}", &created_at[..10]));
        let credential_id = base64url::encode(&credential.credential_id);
        let public_key = base64url::encode(&credential.public_key);
        let transports =
            serde_json::to_string(&credential.transports).map_err(AppError::internal)?;
        let audit = call.audit(&[EventKind::PasskeyAdded]);
        let passkey = NewPasskey {
            id: &id,
            user_id: &user.id,
            credential_id: &credential_id,
            public_key: &public_key,
            algorithm: credential.algorithm.cose_id(),
            sign_count: credential.sign_count,
            transports: &transports,
            name: &name,
            created_at: &created_at,
            audit: &audit,
        };
        match guard.call(|| self.users.insert_passkey(&passkey)).await? {
            Ok(()) => {}
            Err(NotStored::CredentialExists) => return Err(AppError::PasskeyExists),
            Err(NotStored::NoUser) => {
                return Err(AppError::InvalidToken(TokenRejection::SessionRevoked))
            }
        }
        ctx.log(
            "info",
            "passkey_registered",
            log_fields!({ "user_id": user.id.to_string(), "passkey_id": id, "alg": passkey.algorithm }),
        );
        self.outbox.push(MailJob {
            kind: MailKind::PasskeyAdded,
            to: user.email.as_ref().to_owned(),
            link: None,
            valid_for_secs: None,
            request_id: ctx.request_id.clone(),
        });
        Ok(ApiResponse::json(
            201,
            &PasskeyView {
                id,
                name,
                created_at,
                last_used_at: None,
            },
        ))
    }

    async fn list_passkeys(
        &self,
        user: &User,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let passkeys = call
            .guard
            .call(|| self.users.list_passkeys(&user.id))
            .await?;
        let passkeys = passkeys.into_iter().map(view).collect();
        Ok(ApiResponse::json(200, &PasskeyList { passkeys }))
    }

    async fn delete_passkey(
        &self,
        user: &User,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let id = call.param.unwrap_or_default();
        let audit = call.audit(&[EventKind::PasskeyRemoved]);
        let deleted = call
            .guard
            .call(|| self.users.delete_passkey(id, &user.id, &audit))
            .await?;
        if !deleted {
            return Err(AppError::NotFound);
        }
        call.ctx.log(
            "info",
            "passkey_deleted",
            log_fields!({ "user_id": user.id.to_string(), "passkey_id": id }),
        );
        Ok(ApiResponse::empty(204))
    }
}
