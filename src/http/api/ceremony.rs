//! The parts of a passkey ceremony that sign-up and sign-in (`auth`) and a signed-in
//! person's passkey enrolment (`account`) share: who the relying party is, the options
//! that create a passkey, storing a challenge and consuming the one a response answers,
//! and the `{"name"}` a body carries. Both endpoint modules import from here; neither
//! imports the other.

use fastly::{Request, Response};
use serde::Deserialize;

use super::json_response;
use crate::auth::ceremony::{Rp, creation_options};
use crate::auth::webauthn::registration::RegistrationResponse;
use crate::auth::webauthn::{RelyingParty, WebAuthnError};
use crate::auth::{now, random};
use crate::config::Config;
use crate::http::body::{read_body, read_json};
use crate::http::error::ApiError;
use crate::model::{Invalid, Nickname};
use crate::store::{Accounts, Challenge, Purpose};
use crate::timing::KvMeter;

/// A body's `{"name"}`: an account's at sign-up, a passkey's or an API key's label.
#[derive(Deserialize)]
pub struct NameBody {
    #[serde(default)]
    pub name: Option<String>,
}

/// This service as a relying party: the configured RP ID (or the request's host) and
/// the origins its pages are served from (`rp_origins`, or the request's own).
pub fn relying_party(req: &Request, config: &Config) -> (String, RelyingParty) {
    let url = req.get_url();
    let rp_id = config.rp_id(url.host_str().unwrap_or("localhost"));
    let mut origins = config.allowed_origins();
    if origins.is_empty() {
        origins.push(url.origin().ascii_serialization());
    }
    let rp = RelyingParty::new(&rp_id, origins);
    (rp_id, rp)
}

/// A refused passkey response: 400 with the verifier's sentence.
pub fn rejected(e: WebAuthnError) -> ApiError {
    ApiError::passkey_rejected(e.to_string())
}

/// The options that create a passkey for `user_handle`/`name` on this site.
pub fn creation_response(
    req: &Request,
    config: &Config,
    user_handle: &[u8],
    name: &str,
    challenge: &[u8],
    exclude: &[String],
    timeout_ms: u64,
) -> Result<Response, ApiError> {
    let (rp_id, _) = relying_party(req, config);
    let rp = Rp {
        id: &rp_id,
        name: &config.rp_name(),
    };
    json_response(&creation_options(
        &rp,
        user_handle,
        name,
        challenge,
        exclude,
        timeout_ms,
    ))
}

/// Consumes the challenge a response answers: it must exist, be for `purpose`, and not
/// have expired. A second answer to the same challenge finds nothing.
pub fn answered_challenge(
    accounts: &Accounts,
    challenge: &[u8],
    purpose: Purpose,
) -> Result<Challenge, ApiError> {
    let record = accounts
        .take_challenge(challenge)?
        .ok_or(WebAuthnError::ExpiredChallenge)
        .map_err(rejected)?;
    if record.purpose != purpose || record.expires < now() {
        return Err(rejected(WebAuthnError::ExpiredChallenge));
    }
    Ok(record)
}

/// The passkey registration a request's body carries, and the challenge it answers
/// (consumed: see `answered_challenge`).
pub fn registration_answer<'m>(
    req: &mut Request,
    meter: &'m KvMeter,
    purpose: Purpose,
) -> Result<(RegistrationResponse, Accounts<'m>, Challenge), ApiError> {
    let body = read_body(req)?;
    let response = RegistrationResponse::from_json(&body).map_err(rejected)?;
    let accounts = Accounts::open(meter)?;
    let record = answered_challenge(&accounts, response.challenge(), purpose)?;
    Ok((response, accounts, record))
}

/// Stores a challenge for `purpose` and returns it with the options' timeout.
pub fn new_challenge(
    accounts: &Accounts,
    config: &Config,
    purpose: Purpose,
    user_id: Option<String>,
    name: Option<String>,
) -> Result<([u8; 32], u64), ApiError> {
    let challenge = random::<32>();
    let lifetime = config.challenge_lifetime();
    let record = Challenge {
        purpose,
        user_id,
        name,
        expires: now() + lifetime.as_secs() as i64,
    };
    accounts.put_challenge(&challenge, &record, lifetime)?;
    Ok((challenge, lifetime.as_millis() as u64))
}

/// The `{"name"}` of a request body, held to the nickname rule (a label shown back to
/// people, like an account's or an API key's name).
pub fn name_in_body(req: &mut Request) -> Result<String, ApiError> {
    let body: NameBody = read_json(req)?;
    let name =
        Nickname::parse(body.name.as_deref()).map_err(|e| Invalid::new("name", e.message))?;
    Ok(name.into_string())
}
