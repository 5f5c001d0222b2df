//! Invite links: `POST /rooms/{room}/invites/` (the owner) makes one, `POST
//! /invites/{token}` joins with it, `DELETE /rooms/{room}/invites/` revokes them all.
//!
//! A token is `<room>.<expiry>.<epoch>.<signature>`: HMAC-SHA256 under `session_key` of
//! the rest, so it cannot be forged or stretched; it works until `invite_hours` have
//! passed, and only while the room's invite epoch is the one it names (revoking raises
//! it). Nothing is stored per link. Every unusable token is the same 404.
//!
//! A browser opening a link (`GET /invites/{token}`) gets a page, not the API: it offers
//! to join the room (or to sign in first and come back), or says the link no longer works.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use fastly::http::{Method, StatusCode};
use fastly::{Request, Response};
use serde_json::json;

use super::gate::{self, Use};
use super::rooms::{index, member_caller, refused};
use crate::auth::{now, session_of};
use crate::config::{AuthMode, Config};
use crate::http::api::json_response;
use crate::http::error::ApiError;
use crate::model::RoomId;
use crate::model::membership::{MEMBER, Member, Refusal, RoomInfo};
use crate::store::Memberships;
use crate::timing::KvMeter;

/// Bytes of the signature kept in a token (128 bits).
const SIGNATURE_LEN: usize = 16;

fn signature(key: &[u8], body: &str) -> String {
    B64.encode(&hmac_sha256::HMAC::mac(body.as_bytes(), key)[..SIGNATURE_LEN])
}

fn key(config: &Config) -> Result<Vec<u8>, ApiError> {
    config
        .session_key()
        .ok_or_else(|| ApiError::unavailable("Invites are not available right now."))
}

/// `/rooms/{room}/invites/`: POST makes a link (the owner), DELETE revokes all links.
pub fn manage(
    req: Request,
    room: &RoomId,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    if !room.is_private() {
        return Err(ApiError::not_found());
    }
    gate::admit(&req, room, Use::Member, config, meter)?;
    let me = member_caller(&req, config, meter)?;
    let rooms = Memberships::open(meter)?;
    let info = rooms.room(room)?.ok_or_else(ApiError::not_found)?;
    if info.dm {
        return Err(refused(Refusal::Dm));
    }
    if !info.is_owner(&me.user_id) {
        return Err(refused(Refusal::NotAllowed));
    }
    match *req.get_method() {
        Method::POST => {
            let expires = now() + i64::try_from(config.invite_lifetime().as_secs()).unwrap_or(0);
            let body = format!("{room}.{expires}.{}", info.invite_epoch);
            let token = format!("{body}.{}", signature(&key(config)?, &body));
            let origin = req.get_url().origin().ascii_serialization();
            let expires = crate::model::format_date(
                time::OffsetDateTime::from_unix_timestamp(expires)
                    .map_err(|_| ApiError::not_found())?,
            );
            let answer = json!({"url": format!("{origin}/invites/{token}"), "expires": expires});
            Ok(json_response(&answer)?.with_status(StatusCode::CREATED))
        }
        Method::DELETE => {
            rooms.update(room, |info| {
                info.invite_epoch += 1;
                Ok::<(), ()>(())
            })?;
            Ok(Response::from_status(StatusCode::NO_CONTENT))
        }
        _ => Err(ApiError::method_not_allowed("POST, DELETE")),
    }
}

/// The room a token admits to, if it is ours, unexpired and not revoked.
fn admits(
    token: &str,
    config: &Config,
    rooms: &Memberships,
) -> Result<Option<(RoomId, RoomInfo)>, ApiError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [room, expires, epoch, sig] = parts[..] else {
        return Ok(None);
    };
    let body = format!("{room}.{expires}.{epoch}");
    let valid = signature(&key(config)?, &body).as_bytes() == sig.as_bytes();
    let (Ok(room), Ok(expires), Ok(epoch)) = (
        RoomId::parse(room),
        expires.parse::<i64>(),
        epoch.parse::<u32>(),
    ) else {
        return Ok(None);
    };
    if !valid || expires <= now() || !room.is_private() {
        return Ok(None);
    }
    Ok(rooms
        .room(&room)?
        .filter(|info| info.invite_epoch == epoch && !info.dm)
        .map(|info| (room, info)))
}

/// `POST /invites/{token}`: the signed-in caller joins the room (200 `{"id","title"}`; a
/// member already: the same). An expired, forged or revoked token is 404.
pub fn join(
    req: Request,
    token: &str,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    if matches!(*req.get_method(), Method::GET | Method::HEAD) {
        return page(&req, token, config, meter);
    }
    let me = member_caller(&req, config, meter)?;
    if req.get_method() != Method::POST {
        return Err(ApiError::method_not_allowed("GET, POST"));
    }
    let rooms = Memberships::open(meter)?;
    let (room, _) = admits(token, config, &rooms)?.ok_or_else(ApiError::not_found)?;
    let member = Member {
        user_id: me.user_id.clone(),
        name: me.name.clone(),
        role: MEMBER.into(),
    };
    let joined = rooms.update(&room, |info| {
        if info.member(&member.user_id).is_some() {
            return Ok(());
        }
        info.members.push(member.clone());
        Ok::<(), ()>(())
    })?;
    let Some(Ok(info)) = joined else {
        return Err(ApiError::not_found());
    };
    index(&me.user_id, &room, true, meter)?;
    json_response(&json!({"id": room.to_string(), "title": info.title}))
}

/// `GET /invites/{token}`: the invite link's page (passkey mode; open mode has no private
/// rooms: the API's 404, as before). Checking the token is one lookup of the room.
fn page(
    req: &Request,
    token: &str,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    if config.auth_mode() == AuthMode::Open {
        return Err(ApiError::not_found());
    }
    let found = admits(token, config, &Memberships::open(meter)?)?;
    let signed_in = session_of(req, config, meter).is_some();
    let title = found.as_ref().map(|(_, info)| info.title.as_str());
    Ok(crate::web::invite(title, token, signed_in, config))
}
