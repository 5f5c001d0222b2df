//! Who may touch a private room: its members (and site admins, moderating).
//!
//! Every route that names a room asks here before anything else (`http::serve`), so the
//! rule holds on every path: history, one message, posts, the room page, SSE and its
//! links, the multi-room stream, WebSocket, long-poll, presence and moderation. The
//! caller is who the request's cookie or API key says, or for a link Fanout fetches (it
//! carries neither) the stream's pass (`auth::stream_pass`). A public room costs nothing;
//! a private one, the lookup of its record.

use fastly::Request;

use crate::auth::{self, stream_pass};
use crate::config::{AuthMode, Config};
use crate::http::body::query_param;
use crate::http::error::ApiError;
use crate::model::RoomId;
use crate::store::Memberships;
use crate::timing::KvMeter;

/// What a request does to a room: only moderation lets a site admin in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Member,
    Moderate,
}

/// `Ok` when the request may touch `room`; else the 404 of a room that does not exist.
#[inline(never)]
pub fn admit(
    req: &Request,
    room: &RoomId,
    use_: Use,
    config: &Config,
    meter: &KvMeter,
) -> Result<(), ApiError> {
    if !room.is_private() {
        return Ok(());
    }
    if config.auth_mode() == AuthMode::Open {
        return Err(ApiError::not_found());
    }
    let Some((user_id, name)) = caller(req, config, meter)? else {
        return Err(ApiError::not_found());
    };
    let Some(info) = Memberships::open(meter)?.room(room)? else {
        return Err(ApiError::not_found());
    };
    if info.member(&user_id).is_some() {
        return Ok(());
    }
    if use_ == Use::Moderate && is_admin(&user_id, &name, config, meter)? {
        return Ok(());
    }
    Err(ApiError::not_found())
}

/// The account asking: by cookie or API key, else by a stream link's pass.
fn caller(
    req: &Request,
    config: &Config,
    meter: &KvMeter,
) -> Result<Option<(String, String)>, ApiError> {
    match auth::identify(req, config, meter) {
        Ok(Some(p)) => return Ok(Some((p.user_id, p.name))),
        Ok(None) => {}
        Err(refusal) => return Err(crate::http::access::refused(refusal)),
    }
    let holder = config.session_key().and_then(|key| {
        let pass = query_param(req, "pass")?;
        stream_pass::verify(&key, &pass)
    });
    Ok(holder.map(|h| (h.user_id().to_owned(), String::new())))
}

pub fn is_admin(
    user_id: &str,
    name: &str,
    config: &Config,
    meter: &KvMeter,
) -> Result<bool, ApiError> {
    Ok(auth::admins::is_admin_account(
        user_id, name, config, meter,
    )?)
}
