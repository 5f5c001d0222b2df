//! Who a held stream is for, checked when it opens and again on every link Fanout
//! fetches to continue it, so a stream ends within `session_check_secs` of its session
//! ending or being signed out, or its API key being revoked (`auth::stream_pass`,
//! `live::grip::Recheck`). In open mode streams are anyone's, and nothing is checked.

use fastly::Request;

use crate::auth::now;
use crate::auth::stream_pass::{self, Holder};
use crate::config::{AuthMode, Config};
use crate::http::access::require_user;
use crate::http::body::query_param;
use crate::http::error::ApiError;
use crate::live::grip::{Recheck, member_channel};
use crate::live::sse;
use crate::model::RoomId;
use crate::store::Memberships;
use crate::timing::KvMeter;

/// Why a held stream is not (or no longer) served.
pub enum Refusal {
    /// Its opening request is refused like any other (401 in passkey mode).
    Api(ApiError),
    /// A link's holder no longer stands: this `stream-error` ends the stream.
    Ended(String),
}

impl From<crate::store::StoreError> for Refusal {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Api(e.into())
    }
}

/// The check a stream of `rooms` carries, if its mode has one: the caller's own on the
/// opening call-back (its cookie or API key), its pass on a link's.
pub fn admit(
    req: &Request,
    config: &Config,
    meter: &KvMeter,
    is_link: bool,
    rooms: &[RoomId],
) -> Result<Option<Recheck>, Refusal> {
    Ok(admit_holder(req, config, meter, is_link, rooms)?.map(|(_, recheck)| recheck))
}

/// As [`admit`], and who holds the stream (a person's own stream, `me_events`).
pub fn admit_holder(
    req: &Request,
    config: &Config,
    meter: &KvMeter,
    is_link: bool,
    rooms: &[RoomId],
) -> Result<Option<(Holder, Recheck)>, Refusal> {
    if config.auth_mode() == AuthMode::Open {
        return Ok(None);
    }
    let key = config.session_key().ok_or_else(|| {
        Refusal::Api(ApiError::unavailable(
            "Live updates are not available right now.",
        ))
    })?;
    let holder = if is_link {
        let holder = query_param(req, "pass").and_then(|pass| stream_pass::verify(&key, &pass));
        let holder = match holder {
            Some(holder) if holder.stands(meter)? => holder,
            Some(Holder::Key { .. }) => {
                return Err(ended(
                    "key-revoked",
                    "This API key was revoked: the stream has ended.",
                ));
            }
            _ => {
                return Err(ended(
                    "session-ended",
                    "Your session has ended: sign in again to keep receiving.",
                ));
            }
        };
        // A member removed from a private room: its link ends the stream (a 404 would only
        // have Fanout retry it, holding back what was published meanwhile).
        for room in rooms.iter().filter(|r| r.is_private()) {
            let info = Memberships::open(meter)?.room(room)?;
            if !info.is_some_and(|info| info.member(holder.user_id()).is_some()) {
                return Err(ended("removed", "You are no longer a member of this room."));
            }
        }
        holder
    } else {
        Holder::of(&require_user(req, config, meter).map_err(Refusal::Api)?)
    };
    let now = now();
    let recheck = Recheck {
        query: format!("pass={}", stream_pass::issue(&key, &holder, now)),
        every_secs: holder.check_in(config.session_check(), now),
        channels: std::iter::once(format!("user-{}", holder.user_id()))
            .chain(
                (rooms.iter().filter(|r| r.is_private()))
                    .map(|r| member_channel(r, holder.user_id())),
            )
            .collect(),
    };
    Ok(Some((holder, recheck)))
}

fn ended(condition: &str, text: &str) -> Refusal {
    Refusal::Ended(sse::stream_error_as(condition, text))
}
