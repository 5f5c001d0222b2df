//! Sign-in: `login/options` and `login/verify`, answered so that nothing tells who has
//! an account or which passkeys are theirs.
//!
//! * A named start answers an unknown name with made-up passkeys (`auth::decoy`) at the
//!   same KV cost as a real one (three operations: the name, an account record, the
//!   challenge), so neither the options nor `Server-Timing` show whether it exists.
//! * A passkey that cannot sign in is refused with one error whatever the reason: not
//!   registered, removed, another account's, or a signature its key does not verify.
//!   The checks that need no stored credential (origin, challenge, RP ID, flags) run
//!   first, for every credential alike, and keep their own messages.
//! * A passkey signs in only while its owner's record still lists it (see
//!   `store::accounts`), and the session carries the name from that record.
//! * `reauth/options` and `reauth/verify` are a sign-in for the signed-in person only,
//!   offering their own passkeys: the new session they set is what step-up asks for
//!   (`account`: a session's `iat` is the time of its passkey check).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use fastly::{Request, Response};
use time::OffsetDateTime;

use super::signed_in;
use crate::auth::ceremony::{Rp, request_options};
use crate::auth::decoy;
use crate::auth::session::Session;
use crate::auth::webauthn::WebAuthnError;
use crate::auth::webauthn::assertion::{
    AuthenticationResponse, StoredCredential, verify_assertion,
};
use crate::auth::webauthn::cose::CredentialPublicKey;
use crate::auth::{Via, now, standing};
use crate::config::Config;
use crate::http::access::session_user;
use crate::http::api::ceremony::{
    NameBody, answered_challenge, new_challenge, rejected, relying_party,
};
use crate::http::api::json_response;
use crate::http::body::{read_body, read_json};
use crate::http::error::ApiError;
use crate::model::{Nickname, format_date};
use crate::store::{Accounts, Credential, Purpose, User, name_key};
use crate::timing::KvMeter;

/// The one refusal of a passkey that cannot sign in here.
pub const UNUSABLE: &str = "This passkey cannot sign in here: it is not registered, was removed, \
     or does not match this account. Try another passkey, or sign up.";

fn unusable() -> ApiError {
    ApiError::passkey_rejected(UNUSABLE)
}

pub fn login_options(
    mut req: Request,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    let body: NameBody = read_json(&mut req)?;
    let secret = config
        .session_key()
        .ok_or_else(|| ApiError::unavailable("Sign-in is not available right now."))?;
    let accounts = Accounts::open(meter)?;
    // A name no one can have (not a valid nickname) is not looked up: it could be too
    // long a key. It gets the discoverable options, as no name does.
    let name = Nickname::parse(body.name.as_deref()).ok();
    let (user_id, allow) = match name {
        Some(name) => named(&accounts, &secret, &name.into_string())?,
        None => (None, Vec::new()),
    };
    request_response(&req, config, &accounts, Purpose::Login, user_id, &allow)
}

/// Sign-in options offering `allow` (none: discoverable), with a fresh challenge for
/// `purpose` bound to `user_id`.
fn request_response(
    req: &Request,
    config: &Config,
    accounts: &Accounts,
    purpose: Purpose,
    user_id: Option<String>,
    allow: &[String],
) -> Result<Response, ApiError> {
    let (challenge, timeout) = new_challenge(accounts, config, purpose, user_id, None)?;
    let (rp_id, _) = relying_party(req, config);
    let rp = Rp {
        id: &rp_id,
        name: &config.rp_name(),
    };
    json_response(&request_options(&rp, &challenge, allow, timeout))
}

/// `reauth/options`: sign-in options for the signed-in person's own passkeys.
pub fn reauth_options(
    req: Request,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    let me = session_user(&req, config, meter)?;
    let accounts = Accounts::open(meter)?;
    let user = accounts
        .user(&me.user_id)?
        .ok_or_else(|| ApiError::unauthorized("This account no longer exists."))?;
    let allow: Vec<String> = user.passkeys.into_iter().map(|p| p.id).collect();
    request_response(
        &req,
        config,
        &accounts,
        Purpose::Reauth,
        Some(user.id),
        &allow,
    )
}

/// `reauth/verify`: the signed-in person's passkey answers; a new session (whose `iat`
/// is now) is set.
pub fn reauth_verify(
    mut req: Request,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    let me = session_user(&req, config, meter)?;
    let owner = checked_passkey(&mut req, config, meter, Purpose::Reauth, Some(&me.user_id))?;
    // The same session, its passkey check now: no second session to sign out.
    let Via::Session(session) = me.via else {
        unreachable!("session_user is a browser session")
    };
    let session = Session {
        name: owner.name,
        checked_at: now(),
        ..session
    };
    signed_in(&req, config, &session)
}

/// The account a named sign-in is for and the passkeys it offers: the real ones, or for
/// a name nobody has, the decoy's (after a lookup of the decoy's made-up account, so
/// both cost the same KV operations).
fn named(
    accounts: &Accounts,
    secret: &[u8],
    name: &str,
) -> Result<(Option<String>, Vec<String>), ApiError> {
    let decoy = decoy::for_name(secret, &name_key(name));
    let owner = accounts.user_id_for_name(name)?;
    let found = accounts.user(owner.as_deref().unwrap_or(&decoy.user_id))?;
    Ok(match found.filter(|_| owner.is_some()) {
        Some(user) => (
            Some(user.id),
            user.passkeys.into_iter().map(|p| p.id).collect(),
        ),
        None => (Some(decoy.user_id), decoy.credential_ids),
    })
}

pub fn login_verify(
    mut req: Request,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    let owner = checked_passkey(&mut req, config, meter, Purpose::Login, None)?;
    signed_in(&req, config, &standing::begin(&owner, now(), config))
}

/// Verifies the sign-in response a request carries, answering a challenge issued for
/// `purpose` (and, for a signed-in person's check, issued to `signed_in_as`), and
/// records the passkey's use: the account it signs in to.
fn checked_passkey(
    req: &mut Request,
    config: &Config,
    meter: &KvMeter,
    purpose: Purpose,
    signed_in_as: Option<&str>,
) -> Result<User, ApiError> {
    let body = read_body(req)?;
    let response = AuthenticationResponse::from_json(&body).map_err(rejected)?;
    let accounts = Accounts::open(meter)?;
    let record = answered_challenge(&accounts, response.challenge(), purpose)?;
    if signed_in_as.is_some() && record.user_id.as_deref() != signed_in_as {
        return Err(ApiError::passkey_rejected(
            "This passkey request was for another account.",
        ));
    }
    response
        .check_user_named(record.user_id.is_some())
        .map_err(rejected)?;
    let (_, rp) = relying_party(req, config);
    response
        .check_context(response.challenge(), &rp)
        .map_err(rejected)?;
    let credential_id = response.credential_id().to_string();
    let (mut credential, generation, owner) =
        usable_credential(&accounts, &credential_id, record.user_id.as_deref())?
            .ok_or_else(unusable)?;
    let public_key = B64
        .decode(&credential.public_key)
        .ok()
        .and_then(|k| CredentialPublicKey::from_sec1(&k).ok())
        .ok_or_else(|| ApiError::unavailable("A stored passkey could not be read."))?;
    let user_handle = B64.decode(&credential.user_id).unwrap_or_default();
    let assertion = verify_assertion(
        &response,
        response.challenge(),
        &rp,
        StoredCredential {
            public_key: &public_key,
            sign_count: credential.sign_count,
            user_handle: &user_handle,
        },
    )
    .map_err(|e| match e {
        WebAuthnError::WrongUser | WebAuthnError::InvalidSignature => unusable(),
        other => rejected(other),
    })?;
    credential.sign_count = assertion.sign_count;
    credential.last_used = Some(format_date(OffsetDateTime::now_utc()));
    if !accounts.touch_credential(&credential_id, &credential, generation)? {
        return Err(ApiError::passkey_rejected(
            "This passkey was used for another sign-in at the same moment: please try again.",
        ));
    }
    Ok(owner)
}

/// The credential's record (with its generation) and its owner's, if it may sign in:
/// it exists, it is the named account's (after a named start), and its owner still
/// lists it.
fn usable_credential(
    accounts: &Accounts,
    credential_id: &str,
    named: Option<&str>,
) -> Result<Option<(Credential, u64, User)>, ApiError> {
    let Some(stored) = accounts.credential(credential_id)? else {
        return Ok(None);
    };
    if named.is_some_and(|id| id != stored.value.user_id) {
        return Ok(None);
    }
    let Some(owner) = accounts.user(&stored.value.user_id)? else {
        return Ok(None);
    };
    let listed = (owner.passkeys.iter()).any(|p| p.id == credential_id && !p.removing);
    Ok(listed.then_some((stored.value, stored.generation, owner)))
}
