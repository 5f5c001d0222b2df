//! A signed-in person's passkeys and API keys: `/auth/passkeys…` and `/auth/api-keys…`.
//!
//! These need a browser session, not an API key: a leaked key must not be able to mint
//! more keys or enrol its holder's passkey on the account.
//!
//! Records are made and ended in the order `store::accounts` explains (record first,
//! listing second; deleting the record first, unlisting second), so a failure between
//! the two steps never leaves a passkey or key that works but is not listed.
//! A person has at most [`MAX_API_KEYS`] keys, and minting one counts against the
//! client address's `auth_rate`, as starting a passkey ceremony does.

use std::convert::Infallible;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use fastly::http::{Method, StatusCode, header};
use fastly::{Request, Response};
use serde::Serialize;
use time::OffsetDateTime;

use super::ceremony::{
    creation_response, name_in_body, new_challenge, registration_answer, rejected, relying_party,
};
use super::json_response;
use crate::auth::webauthn::registration::verify_registration;
use crate::auth::{Principal, Via, api_key, random, standing};
use crate::config::Config;
use crate::http::access::session_user;
use crate::http::error::ApiError;
use crate::http::routes::AuthRoute;
use crate::http::throttle::{client_address, throttle};
use crate::model::format_date;
use crate::store::{
    Accounts, ApiKeyInfo, ApiKeyOwner, Credential, PasskeyRef, Purpose, StoreError, User,
};
use crate::timing::KvMeter;

/// API keys one person may hold. Each is listed in their `user:` record, which every
/// change rewrites and `/auth/me` reads, and each would otherwise be a reason to mint
/// more; 20 covers a bot per room and script with room to spare.
pub const MAX_API_KEYS: usize = 20;

/// The account routes (`AuthRoute::is_account`).
pub fn serve(
    req: Request,
    route: AuthRoute,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    let method = &req.get_method().clone();
    let answered = matches!(
        (route, method),
        (
            AuthRoute::PasskeyOptions | AuthRoute::PasskeyVerify,
            &Method::POST
        ) | (
            AuthRoute::Passkey(_) | AuthRoute::ApiKey(_),
            &Method::DELETE
        ) | (AuthRoute::ApiKeys, &Method::POST | &Method::GET)
    );
    if !answered {
        let allowed = match route {
            AuthRoute::ApiKeys => "GET, POST",
            AuthRoute::Passkey(_) | AuthRoute::ApiKey(_) => "DELETE",
            _ => "POST",
        };
        return Err(ApiError::method_not_allowed(allowed));
    }
    let me = session_user(&req, config, meter)?;
    if !matches!((route, method), (AuthRoute::ApiKeys, &Method::GET)) {
        recently_checked(&me, config)?;
    }
    match (route, method) {
        (AuthRoute::PasskeyOptions, _) => passkey_options(&req, &me, config, meter),
        (AuthRoute::PasskeyVerify, _) => passkey_verify(req, &me, config, meter),
        (AuthRoute::Passkey(id), _) => {
            let forget =
                |accounts: &Accounts, credential: &String| accounts.delete_credential(credential);
            // A lost or stolen device's passkey goes with every session, whoever holds
            // them; the person removing it carries on in a new one.
            let unlist = |user: &mut User| {
                user.passkeys.retain(|p| p.id != id);
                user.end_all_sessions();
            };
            remove_from_account(&me, meter, mark_passkey(id), forget, unlist)
                .and_then(|user| carry_on(&req, &me, &user, config))
        }
        (AuthRoute::ApiKeys, &Method::POST) => create_api_key(req, &me, config, meter),
        (AuthRoute::ApiKeys, _) => list_api_keys(&me, meter),
        (AuthRoute::ApiKey(id), _) => {
            let forget = |accounts: &Accounts, hash: &String| accounts.delete_api_key(hash);
            let unlist = |user: &mut User| user.api_keys.retain(|k| k.id != id);
            remove_from_account(&me, meter, mark_api_key(id), forget, unlist).map(|_| no_content())
        }
        _ => Err(ApiError::not_found()),
    }
}

/// Step-up: an account change (adding or removing a passkey, minting or revoking an API
/// key) needs a passkey check no older than `reauth_secs`, so a stolen cookie alone
/// cannot enrol its thief's passkey or mint a lasting key. A session's check is when it
/// was issued (sign-up, sign-in, `reauth/verify`); else 403 `reauth_required`, which the
/// account page answers by asking for the passkey and carrying on.
fn recently_checked(me: &Principal, config: &Config) -> Result<(), ApiError> {
    let window = i64::try_from(config.reauth_window().as_secs()).unwrap_or(i64::MAX);
    let Via::Session(session) = &me.via else {
        return Err(ApiError::forbidden(
            "Account changes need a signed-in browser.",
        ));
    };
    if crate::auth::now() - session.checked_at <= window {
        return Ok(());
    }
    let mut refused = ApiError::forbidden(
        "Confirm it is you with your passkey first: account changes need a recent passkey check.",
    );
    refused.code = "reauth_required";
    Err(refused)
}

/// A record was stored before listing it in the user's record; if that failed, the
/// record is removed again, so nothing half-made stays behind.
fn undo_unless_listed<T>(
    listed: Result<T, StoreError>,
    undo: impl FnOnce() -> Result<(), StoreError>,
) -> Result<(), ApiError> {
    match listed {
        Ok(_) => Ok(()),
        Err(e) => {
            undo()?;
            Err(e.into())
        }
    }
}

fn no_content() -> Response {
    Response::from_status(StatusCode::NO_CONTENT).with_header(header::CACHE_CONTROL, "no-store")
}

fn passkey_options(
    req: &Request,
    principal: &Principal,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    let accounts = Accounts::open(meter)?;
    let user = accounts
        .user(&principal.user_id)?
        .ok_or_else(|| ApiError::unauthorized("This account no longer exists."))?;
    let existing: Vec<String> = user.passkeys.iter().map(|p| p.id.clone()).collect();
    let (challenge, timeout) = new_challenge(
        &accounts,
        config,
        Purpose::AddPasskey,
        Some(user.id.clone()),
        None,
    )?;
    let user_handle = B64.decode(&user.id).unwrap_or_default();
    creation_response(
        req,
        config,
        &user_handle,
        &user.name,
        &challenge,
        &existing,
        timeout,
    )
}

fn passkey_verify(
    mut req: Request,
    principal: &Principal,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    let (response, accounts, record) = registration_answer(&mut req, meter, Purpose::AddPasskey)?;
    if record.user_id.as_deref() != Some(&principal.user_id) {
        return Err(ApiError::passkey_rejected(
            "This passkey request was for another account.",
        ));
    }
    let (_, rp) = relying_party(&req, config);
    let new = verify_registration(&response, response.challenge(), &rp).map_err(rejected)?;
    let created = format_date(OffsetDateTime::now_utc());
    let credential_id = new.id.to_string();
    let credential = Credential {
        user_id: principal.user_id.clone(),
        name: principal.name.clone(),
        public_key: B64.encode(new.public_key.as_sec1()),
        sign_count: new.sign_count,
        created: created.clone(),
        last_used: None,
    };
    if !accounts.add_credential(&credential_id, &credential)? {
        return Err(ApiError::passkey_rejected(
            "This passkey is registered already.",
        ));
    }
    let passkey = PasskeyRef {
        id: credential_id.clone(),
        created,
        removing: false,
    };
    let listed = accounts.update_user(&principal.user_id, |user| {
        user.passkeys.push(passkey.clone());
        Ok::<(), Infallible>(())
    });
    undo_unless_listed(listed, || accounts.delete_credential(&credential_id))?;
    json_response(&passkey)
}

/// Marks passkey `id` as being removed, naming its record: 404 when it is not theirs,
/// 409 when it is the last usable one they have.
fn mark_passkey(id: &str) -> impl FnMut(&mut User) -> Result<String, ApiError> + '_ {
    move |user| {
        let others = user.passkeys.iter().filter(|p| p.id != id && !p.removing);
        let last = others.count() == 0;
        let passkey = user.passkeys.iter_mut().find(|p| p.id == id);
        let passkey = passkey.ok_or_else(ApiError::not_found)?;
        if last {
            return Err(ApiError::conflict(
                "This is your only passkey: add another before removing it.",
            ));
        }
        passkey.removing = true;
        Ok(passkey.id.clone())
    }
}

/// Marks API key `id` as being revoked (404 when it is not theirs); its hash names the
/// record to delete.
fn mark_api_key(id: &str) -> impl FnMut(&mut User) -> Result<String, ApiError> + '_ {
    move |user| {
        let key = user.api_keys.iter_mut().find(|k| k.id == id);
        let key = key.ok_or_else(ApiError::not_found)?;
        key.removing = true;
        Ok(key.hash.clone())
    }
}

/// Removes something from the signed-in person's account in three steps, each of which
/// leaves nothing usable unlisted should the next fail (see `store::accounts`): `mark`
/// finds it (refusing, e.g. 404 for something that is not theirs) and marks it as being
/// removed, which ends its use; `forget` deletes its own record; `unlist` drops it.
/// Removing a half-removed entry again finishes the job. The account as left.
fn remove_from_account<T>(
    principal: &Principal,
    meter: &KvMeter,
    mut mark: impl FnMut(&mut User) -> Result<T, ApiError>,
    forget: impl FnOnce(&Accounts, &T) -> Result<(), StoreError>,
    unlist: impl Fn(&mut User),
) -> Result<User, ApiError> {
    let accounts = Accounts::open(meter)?;
    let mut record = None;
    accounts.update_user(&principal.user_id, |user| {
        record = Some(mark(user)?);
        Ok::<(), ApiError>(())
    })??;
    if let Some(record) = record {
        forget(&accounts, &record)?;
    }
    let Ok(user) = accounts.update_user(&principal.user_id, |user| {
        unlist(user);
        Ok::<(), Infallible>(())
    })?;
    Ok(user)
}

/// 204 with a new session for `me`, whose sessions `user`'s record has just ended; its
/// passkey check is the old session's, so step-up carries over.
fn carry_on(
    req: &Request,
    me: &Principal,
    user: &User,
    config: &Config,
) -> Result<Response, ApiError> {
    let Via::Session(old) = &me.via else {
        return Ok(no_content());
    };
    let session = standing::begin(user, old.checked_at, config);
    let cookie = standing::cookie_for(req, config, &session, crate::auth::now())
        .ok_or_else(|| ApiError::unavailable("Sign-in is not available right now."))?;
    Ok(no_content().with_header(header::SET_COOKIE, cookie))
}

/// An API key as listed: never its secret.
#[derive(Serialize)]
struct KeyJson<'a> {
    id: &'a str,
    name: &'a str,
    created: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
}

fn key_json(info: &ApiKeyInfo) -> KeyJson<'_> {
    KeyJson {
        id: &info.id,
        name: &info.name,
        created: &info.created,
        key: None,
    }
}

fn create_api_key(
    mut req: Request,
    principal: &Principal,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    let address = client_address(&req);
    throttle(config, "auth_rate", "auth", &address)?;
    let name = name_in_body(&mut req)?;
    let (key, hash) = api_key::mint();
    let info = ApiKeyInfo {
        id: B64.encode(random::<9>()),
        name,
        created: format_date(OffsetDateTime::now_utc()),
        hash: hash.clone(),
        removing: false,
    };
    let owner = ApiKeyOwner {
        key_id: info.id.clone(),
        user_id: principal.user_id.clone(),
        name: principal.name.clone(),
    };
    let accounts = Accounts::open(meter)?;
    if !accounts.add_api_key(&hash, &owner)? {
        return Err(ApiError::unavailable("Could not create a key; try again."));
    }
    let listed = accounts.update_user(&principal.user_id, |user| {
        if user.api_keys.len() >= MAX_API_KEYS {
            return Err(too_many_keys());
        }
        user.api_keys.push(info.clone());
        Ok(())
    });
    // Not listed (refused, or the store failed): the record goes again, so the key
    // the caller never sees cannot work either.
    if let Err(refused) = listed.map_err(ApiError::from).and_then(|listed| listed) {
        accounts.delete_api_key(&hash)?;
        return Err(refused);
    }
    let mut shown = key_json(&info);
    shown.key = Some(&key);
    Ok(json_response(&shown)?.with_status(StatusCode::CREATED))
}

/// 409 `too_many_api_keys`: the person holds `MAX_API_KEYS` already.
fn too_many_keys() -> ApiError {
    let mut refused = ApiError::conflict(format!(
        "You have {MAX_API_KEYS} API keys, the most an account may hold: revoke one first."
    ));
    refused.code = "too_many_api_keys";
    refused
}

fn list_api_keys(principal: &Principal, meter: &KvMeter) -> Result<Response, ApiError> {
    let user = Accounts::open(meter)?
        .user(&principal.user_id)?
        .ok_or_else(|| ApiError::unauthorized("This account no longer exists."))?;
    let keys: Vec<KeyJson> = user.api_keys.iter().map(key_json).collect();
    json_response(&serde_json::json!({ "api_keys": keys }))
}
