//! `/auth/*`: passkey sign-up and sign-in, the session, and who you are.
//!
//! A ceremony is two requests. `…/options` stores a fresh random challenge (KV, with
//! an expiry) and returns the WebAuthn options; `…/verify` finds the challenge the
//! browser's signed response names, consumes it (a replay or a late answer is 400),
//! verifies the response (`auth::webauthn`), and only then writes anything. Every
//! refusal is a 4xx with a sentence for the person; none stores anything.
//!
//! Sign-in (and a signed-in person's passkey check, step-up) is in `login`; what both
//! share with `account` (a signed-in person's passkeys and API keys) is in `ceremony`.

mod login;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use fastly::http::{Method, StatusCode, header};
use fastly::{Request, Response};
use serde::Serialize;
use std::convert::Infallible;
use time::OffsetDateTime;

use super::ceremony::{
    NameBody, creation_response, new_challenge, registration_answer, rejected, relying_party,
};
use super::json_response;
use crate::auth::session::{self, Session};
use crate::auth::webauthn::registration::verify_registration;
use crate::auth::{Principal, Refused, Via, is_secure, now, random, standing};
use crate::config::Config;
use crate::http::access::require_user;
use crate::http::body::read_json;
use crate::http::error::ApiError;
use crate::http::routes::AuthRoute;
use crate::model::{FROM_MAX, Invalid, Nickname, format_date, name};
use crate::store::{Accounts, Credential, PasskeyRef, Purpose, User};
use crate::timing::KvMeter;

pub fn serve(
    req: Request,
    route: AuthRoute,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    let allowed = match route {
        AuthRoute::Me => "GET",
        _ => "POST",
    };
    let method = req.get_method().clone();
    match (route, method) {
        (AuthRoute::RegisterOptions, Method::POST) => register_options(req, config, meter),
        (AuthRoute::RegisterVerify, Method::POST) => register_verify(req, config, meter),
        (AuthRoute::LoginOptions, Method::POST) => login::login_options(req, config, meter),
        (AuthRoute::LoginVerify, Method::POST) => login::login_verify(req, config, meter),
        (AuthRoute::ReauthOptions, Method::POST) => login::reauth_options(req, config, meter),
        (AuthRoute::ReauthVerify, Method::POST) => login::reauth_verify(req, config, meter),
        (AuthRoute::Logout, Method::POST) => logout(req, config, meter),
        (AuthRoute::Me, Method::GET) => me(&req, config, meter),
        _ => Err(ApiError::method_not_allowed(allowed)),
    }
}

/// `{"user": {"id", "name"}}`, the answer to a ceremony that signed someone in.
#[derive(Serialize)]
struct SignedIn<'a> {
    user: UserJson<'a>,
}

#[derive(Serialize)]
struct UserJson<'a> {
    id: &'a str,
    name: &'a str,
}

/// The name a sign-up asks for: a valid name, not reserved and not taken by its key
/// (both 409, as either way the name is not to be had). A name refused for a character
/// that never tells names apart, "ann" + U+FE0E, is answered as the taken name it
/// passes for when that one is someone's.
fn signup_name(req: &mut Request, accounts: &Accounts) -> Result<String, ApiError> {
    let body: NameBody = read_json(req)?;
    let typed = body.name.as_deref().unwrap_or_default().trim();
    let taken = |name: &str| {
        ApiError::conflict(format!("The name {name} is taken: please choose another."))
    };
    let name = match Nickname::parse(body.name.as_deref()) {
        Ok(name) => name.into_string(),
        Err(refused) => {
            if (1..=FROM_MAX).contains(&typed.chars().count()) && accounts.name_taken(typed)? {
                return Err(taken(typed));
            }
            return Err(Invalid::new("name", refused.message).into());
        }
    };
    if name::is_reserved(&name) {
        return Err(ApiError::conflict(format!(
            "The name {name} is reserved: please choose another."
        )));
    }
    // A name taken before keys is held as it was typed then, maybe not in NFC.
    if accounts.name_taken(&name)? || (typed != name && accounts.name_taken(typed)?) {
        return Err(taken(&name));
    }
    Ok(name)
}

fn register_options(
    mut req: Request,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    let accounts = Accounts::open(meter)?;
    let name = signup_name(&mut req, &accounts)?;
    let user_handle = random::<16>();
    let user_id = B64.encode(user_handle);
    let (challenge, timeout) = new_challenge(
        &accounts,
        config,
        Purpose::Register,
        Some(user_id),
        Some(name.clone()),
    )?;
    creation_response(&req, config, &user_handle, &name, &challenge, &[], timeout)
}

fn register_verify(
    mut req: Request,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    let (response, accounts, record) = registration_answer(&mut req, meter, Purpose::Register)?;
    let (Some(user_id), Some(name)) = (record.user_id, record.name) else {
        return Err(ApiError::passkey_rejected(
            "This sign-up request is incomplete.",
        ));
    };
    let (_, rp) = relying_party(&req, config);
    let new = verify_registration(&response, response.challenge(), &rp).map_err(rejected)?;
    if !accounts.reserve_name(&name, &user_id)? {
        return Err(ApiError::conflict(format!(
            "The name {name} was taken meanwhile: please choose another."
        )));
    }
    let created = format_date(OffsetDateTime::now_utc());
    let credential_id = new.id.to_string();
    let user = User {
        id: user_id.clone(),
        name: name.clone(),
        created: created.clone(),
        passkeys: vec![PasskeyRef {
            id: credential_id,
            created: created.clone(),
            removing: false,
        }],
        api_keys: Vec::new(),
        ..User::default()
    };
    let credential = Credential {
        user_id: user_id.clone(),
        name: name.clone(),
        public_key: B64.encode(new.public_key.as_sec1()),
        sign_count: new.sign_count,
        created,
        last_used: None,
    };
    match accounts.create_user(&user, &credential) {
        Ok(true) => {}
        Ok(false) => {
            accounts.release_name(&name)?;
            return Err(ApiError::passkey_rejected(
                "This passkey is registered already: sign in with it instead.",
            ));
        }
        // The name is given back only once no record of the credential is left; else
        // it stays with an account that does not exist (whose passkey cannot sign in,
        // as no account lists it), never free for someone else to take.
        Err(failed) => {
            if !failed.credential_left {
                accounts.release_name(&name)?;
            }
            return Err(failed.error.into());
        }
    }
    let session = standing::begin(&user, now(), config);
    signed_in(&req, config, &session)
}

/// Sets the session cookie and says who is signed in.
pub fn signed_in(req: &Request, config: &Config, session: &Session) -> Result<Response, ApiError> {
    let cookie = standing::cookie_for(req, config, session, now()).ok_or_else(|| {
        log::error!("secret session_key is missing or shorter than 32 bytes");
        ApiError::unavailable("Sign-in is not available right now.")
    })?;
    let body = SignedIn {
        user: UserJson {
            id: &session.user_id,
            name: &session.name,
        },
    };
    Ok(json_response(&body)?.with_header(header::SET_COOKIE, cookie))
}

/// `POST /auth/logout`: ends this session for good (a copy of its cookie stops working
/// too), or with `{"everywhere": true}` every session of the account (one read and one
/// write of its record); either way the browser's cookie is cleared. Without a session
/// there is nothing to end but the cookie; "everywhere" then needs one (401).
fn logout(mut req: Request, config: &Config, meter: &KvMeter) -> Result<Response, ApiError> {
    // A bare POST signs this session out; `{"everywhere": true}` every session. Read as
    // a `Value`, whose parser the message API links already (a struct would add its own).
    let everywhere = if req.get_content_length().unwrap_or(0) == 0 {
        false
    } else {
        let body: serde_json::Value = read_json(&mut req)?;
        match (body.is_object(), body.get("everywhere")) {
            (true, None | Some(serde_json::Value::Null)) => false,
            (true, Some(serde_json::Value::Bool(everywhere))) => *everywhere,
            _ => {
                let invalid = Invalid::new("everywhere", "everywhere is true or false.");
                return Err(invalid.into());
            }
        }
    };
    match crate::auth::identify(&req, config, meter) {
        Ok(Some(Principal {
            via: Via::Session(session),
            ..
        })) => {
            let now = now();
            let Ok(_) = Accounts::open(meter)?.update_user(&session.user_id, |user| {
                if everywhere {
                    user.end_all_sessions();
                } else {
                    user.end_session(&session.id, session.until, now);
                }
                Ok::<(), Infallible>(())
            })?;
        }
        Ok(Some(_)) => {
            return Err(ApiError::forbidden(
                "Signing out is for a browser session; revoke an API key instead.",
            ));
        }
        Ok(None) | Err(Refused::SessionEnded) if everywhere => {
            return Err(ApiError::unauthorized(
                "Sign in to sign out everywhere: this browser's session has ended.",
            ));
        }
        Ok(None) | Err(Refused::SessionEnded) => {}
        Err(other) => return Err(crate::http::access::refused(other)),
    }
    Ok(Response::from_status(StatusCode::OK)
        .with_header(header::CACHE_CONTROL, "no-store")
        .with_header(header::SET_COOKIE, session::clear_cookie(is_secure(&req)))
        .with_body_json(&serde_json::json!({ "signed_out": true, "everywhere": everywhere }))
        .expect("a literal always serializes"))
}

/// `GET /auth/me`: who is asking, with their passkeys.
fn me(req: &Request, config: &Config, meter: &KvMeter) -> Result<Response, ApiError> {
    let principal: Principal = require_user(req, config, meter)?;
    let accounts = Accounts::open(meter)?;
    let user = accounts
        .user(&principal.user_id)?
        .ok_or_else(|| ApiError::unauthorized("This account no longer exists."))?;
    // The record is read anyway: a signed-out session learns so here at no extra cost.
    if let Via::Session(s) = &principal.via
        && !user.holds_session(&s.id, s.epoch, s.until, now())
    {
        return Err(crate::http::access::refused(Refused::SessionEnded));
    }
    #[derive(Serialize)]
    struct Passkey {
        id: String,
        created: String,
        last_used: Option<String>,
    }
    let mut passkeys = Vec::new();
    for passkey in &user.passkeys {
        let last_used = accounts
            .credential(&passkey.id)?
            .and_then(|c| c.value.last_used);
        passkeys.push(Passkey {
            id: passkey.id.clone(),
            created: passkey.created.clone(),
            last_used,
        });
    }
    json_response(&serde_json::json!({
        "id": user.id,
        "name": user.name,
        "passkeys": passkeys,
    }))
}
