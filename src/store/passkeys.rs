//! `PasskeyStore` on SQL ([`crate::store::sql::passkeys`]): each ceremony's reads and writes in
//! one round trip where the database must decide (a challenge's single use, a credential id's
//! uniqueness, the counter that never moves backwards).

use super::audit::{event_args, event_statements};
use super::exec::{
    first_row, query, result_of, rows_of, Columns, FromRow, IdRow, IntoArg, Sql, Statement,
};
use super::{StoreError, UserRow};
use crate::domain::UserId;
use crate::store::events::Audit;
use crate::store::sql::audit as audit_sql;
use crate::store::sql::passkeys as sql;

/// A passkey as `GET /auth/passkeys` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyInfo {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// What the registration options need: the user's handle and the credentials to exclude
/// (credential id and transports, base64url and a JSON array as stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationStart {
    pub handle: String,
    pub exclude: Vec<(String, String)>,
}

/// A passkey to store (binary values base64url).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPasskey<'a> {
    pub id: &'a str,
    pub user_id: &'a UserId,
    pub credential_id: &'a str,
    pub public_key: &'a str,
    pub algorithm: i64,
    pub sign_count: u32,
    /// A JSON array.
    pub transports: &'a str,
    pub name: &'a str,
    pub created_at: &'a str,
    /// The events written if it is stored (`passkey_added`).
    pub audit: &'a Audit,
}

/// Why a passkey was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotStored {
    /// Its credential id is registered already (by anyone).
    CredentialExists,
    /// The user is gone.
    NoUser,
}

/// A registered credential, found by its id for a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginPasskey {
    pub id: String,
    pub user_id: String,
    /// base64url of the COSE key.
    pub public_key: String,
    pub sign_count: u32,
    /// base64url of the user's handle.
    pub user_handle: String,
}

/// A login's first round trip: whether its challenge was usable (`None`: unknown or already
/// spent) and the credential it presents, if registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginStart {
    pub challenge_usable: Option<bool>,
    pub passkey: Option<LoginPasskey>,
}

/// The ceremony a challenge is issued for (`passkey_challenges.ceremony`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    Registration,
    Authentication,
}

impl Ceremony {
    fn as_str(self) -> &'static str {
        match self {
            Self::Registration => "registration",
            Self::Authentication => "authentication",
        }
    }
}

/// Passkeys and their challenges.
#[allow(async_fn_in_trait)]
pub trait PasskeyStore {
    /// The user's handle (made from `candidate` on the first call), the user's credentials,
    /// and a new registration challenge bound to the user: one round trip. `None` when the
    /// user is gone.
    async fn start_registration(
        &self,
        user: &UserId,
        candidate: &str,
        challenge: &str,
        expires_at_ms: i64,
    ) -> Result<Option<RegistrationStart>, StoreError>;
    /// Stores a login challenge.
    async fn insert_login_challenge(
        &self,
        challenge: &str,
        expires_at_ms: i64,
    ) -> Result<(), StoreError>;
    /// Spends a challenge presented to `ceremony` by `user` (none at login): `Some(true)`
    /// when it was issued to them and unexpired, `Some(false)` when spent but unusable, `None`
    /// when unknown or spent already.
    async fn claim_challenge(
        &self,
        challenge: &str,
        ceremony: Ceremony,
        user: Option<&UserId>,
        now_ms: i64,
    ) -> Result<Option<bool>, StoreError>;
    /// Spends a login challenge and finds the credential presented with it: one round trip.
    async fn start_login(
        &self,
        challenge: &str,
        credential_id: &str,
        now_ms: i64,
    ) -> Result<LoginStart, StoreError>;
    /// Stores a passkey that passed every check; the inner `Err` says why it was not.
    async fn insert_passkey(
        &self,
        passkey: &NewPasskey<'_>,
    ) -> Result<Result<(), NotStored>, StoreError>;
    /// The user's passkeys, newest first.
    async fn list_passkeys(&self, user: &UserId) -> Result<Vec<PasskeyInfo>, StoreError>;
    /// Deletes passkey `id` of `user`, with `audit`'s events if it did; whether it did.
    async fn delete_passkey(
        &self,
        id: &str,
        user: &UserId,
        audit: &Audit,
    ) -> Result<bool, StoreError>;
    /// Records a login's use of passkey `id` with counter `sign_count`, only while the counter
    /// rule holds against the stored counter, and reads its user and whether the account is
    /// disabled: `None` when it did not record (a concurrent login moved the counter on) or
    /// the user is gone.
    async fn record_passkey_use(
        &self,
        id: &str,
        sign_count: u32,
        used_at: &str,
    ) -> Result<Option<(UserRow, bool)>, StoreError>;
}

struct HandleRow(String);

impl FromRow for HandleRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(Self(row.text("handle")?))
    }
}

struct ExcludeRow(String, String);

impl FromRow for ExcludeRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(Self(row.text("credential_id")?, row.text("transports")?))
    }
}

struct UsableRow(bool);

impl FromRow for UsableRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(Self(row.number_or_zero("usable")? != 0.0))
    }
}

impl FromRow for PasskeyInfo {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.text("id")?,
            name: row.text("name")?,
            created_at: row.text("created_at")?,
            last_used_at: row.optional_text("last_used_at")?,
        })
    }
}

impl FromRow for LoginPasskey {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        let count = row.number("sign_count")?;
        Ok(Self {
            id: row.text("id")?,
            user_id: row.text("user_id")?,
            public_key: row.text("public_key")?,
            sign_count: u32::try_from(count as i64)
                .map_err(|_| StoreError::Corrupt("passkeys.sign_count".into()))?,
            user_handle: row.text("user_handle")?,
        })
    }
}

impl<D: Sql> PasskeyStore for D {
    async fn start_registration(
        &self,
        user: &UserId,
        candidate: &str,
        challenge: &str,
        expires_at_ms: i64,
    ) -> Result<Option<RegistrationStart>, StoreError> {
        let user = user.to_string();
        let ceremony = Ceremony::Registration.as_str();
        let results = self
            .batch(vec![
                query!(sql::USER_HANDLE, &user, candidate),
                query!(sql::EXCLUDE, &user),
                query!(
                    sql::INSERT_CHALLENGE,
                    challenge,
                    ceremony,
                    &user,
                    &expires_at_ms
                ),
            ])
            .await?;
        let Some(HandleRow(handle)) = rows_of(&results, 0)?.into_iter().next() else {
            return Ok(None);
        };
        let exclude = rows_of::<ExcludeRow>(&results, 1)?
            .into_iter()
            .map(|ExcludeRow(id, transports)| (id, transports))
            .collect();
        Ok(Some(RegistrationStart { handle, exclude }))
    }

    async fn insert_login_challenge(
        &self,
        challenge: &str,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        let none: Option<String> = None;
        let ceremony = Ceremony::Authentication.as_str();
        self.all(query!(
            sql::INSERT_CHALLENGE,
            challenge,
            ceremony,
            &none,
            &expires_at_ms
        ))
        .await?;
        Ok(())
    }

    async fn claim_challenge(
        &self,
        challenge: &str,
        ceremony: Ceremony,
        user: Option<&UserId>,
        now_ms: i64,
    ) -> Result<Option<bool>, StoreError> {
        let user = user.map(ToString::to_string);
        let row: Option<UsableRow> = first_row(
            self,
            query!(
                sql::CLAIM_CHALLENGE,
                challenge,
                ceremony.as_str(),
                &user,
                &now_ms
            ),
        )
        .await?;
        Ok(row.map(|UsableRow(usable)| usable))
    }

    async fn start_login(
        &self,
        challenge: &str,
        credential_id: &str,
        now_ms: i64,
    ) -> Result<LoginStart, StoreError> {
        let none: Option<String> = None;
        let ceremony = Ceremony::Authentication.as_str();
        let results = self
            .batch(vec![
                query!(sql::CLAIM_CHALLENGE, challenge, ceremony, &none, &now_ms),
                query!(sql::FOR_LOGIN, credential_id),
            ])
            .await?;
        Ok(LoginStart {
            challenge_usable: rows_of::<UsableRow>(&results, 0)?
                .into_iter()
                .next()
                .map(|UsableRow(u)| u),
            passkey: rows_of(&results, 1)?.into_iter().next(),
        })
    }

    async fn insert_passkey(
        &self,
        p: &NewPasskey<'_>,
    ) -> Result<Result<(), NotStored>, StoreError> {
        let user = p.user_id.to_string();
        // One round trip: the insert, and whether the credential id is registered (by this
        // insert or before it), which tells `409` apart from an account deleted meanwhile;
        // the events only if this insert stored it.
        let insert = query!(
            sql::INSERT_PASSKEY,
            p.id,
            &user,
            p.credential_id,
            p.public_key,
            &p.algorithm,
            &p.sign_count,
            p.transports,
            p.name,
            p.created_at,
        );
        let exists = query!(sql::CREDENTIAL_EXISTS, p.credential_id);
        let events = event_args(p.audit, &[(&user).into_arg(), p.id.into_arg()]);
        let mut statements = vec![insert, exists];
        statements.extend(event_statements(audit_sql::IF_PASSKEY, &events));
        let results = self.batch(statements).await?;
        Ok(if !rows_of::<IdRow>(&results, 0)?.is_empty() {
            Ok(())
        } else if result_of(&results, 1)?.rows.is_empty() {
            Err(NotStored::NoUser)
        } else {
            Err(NotStored::CredentialExists)
        })
    }

    async fn list_passkeys(&self, user: &UserId) -> Result<Vec<PasskeyInfo>, StoreError> {
        self.all(query!(sql::LIST, &user.to_string())).await?.read()
    }

    async fn delete_passkey(
        &self,
        id: &str,
        user: &UserId,
        audit: &Audit,
    ) -> Result<bool, StoreError> {
        let user = user.to_string();
        let delete = query!(sql::DELETE, id, &user);
        // The events first, while the passkey is still the user's: written exactly when the
        // delete that follows deletes it.
        let events = event_args(audit, &[(&user).into_arg(), id.into_arg()]);
        let mut statements: Vec<Statement<'_>> =
            event_statements(audit_sql::IF_PASSKEY, &events).collect();
        let deleted = statements.len();
        statements.push(delete);
        let results = self.batch(statements).await?;
        Ok(!rows_of::<IdRow>(&results, deleted)?.is_empty())
    }

    async fn record_passkey_use(
        &self,
        id: &str,
        sign_count: u32,
        used_at: &str,
    ) -> Result<Option<(UserRow, bool)>, StoreError> {
        let results = self
            .batch(vec![
                query!(sql::RECORD_USE, id, &sign_count, used_at),
                query!(sql::USER_OF_PASSKEY, id),
            ])
            .await?;
        if rows_of::<UserIdRow>(&results, 0)?.is_empty() {
            return Ok(None);
        }
        Ok(result_of(&results, 1)?
            .pair::<UserRow, DisabledRow>()?
            .map(|(user, DisabledRow(disabled))| (user, disabled)))
    }
}

/// `users.disabled` (0 or 1) of the row [`sql::USER_OF_PASSKEY`] reads.
struct DisabledRow(bool);

impl FromRow for DisabledRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(Self(row.number("disabled")? != 0.0))
    }
}

struct UserIdRow;

impl FromRow for UserIdRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        row.text("user_id").map(|_| Self)
    }
}
