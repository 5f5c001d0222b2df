//! Moderation: `DELETE` and `PATCH /rooms/{room}/messages/{id}`, and clearing a room
//! (`DELETE /rooms/{room}/messages/[?from=<name>]`).
//!
//! Who may do what:
//!
//! | action | passkey mode | open mode |
//! |---|---|---|
//! | delete a message | its author, an admin | an admin |
//! | edit a message | its author, within `edit_minutes` | nobody |
//! | clear a room or one person's messages in it | an admin | an admin |
//!
//! Admins are the account names in config `admins`, and anyone presenting the Secret
//! Store's `admin_key` as a bearer token (the one way in open mode). Each change is an
//! event in the room's sequence, published like a message (`store::moderation`). A clear
//! takes effect at once; its text is erased afterwards in steps (`erasure`).

pub mod erasure;

use fastly::http::Method;
use fastly::{Request, Response};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use super::{json_response, mentions, publish_new};
use crate::auth;
use crate::config::Config;
use crate::http::access::{Caller, require_caller};
use crate::http::body::{parse_form, read_json};
use crate::http::error::ApiError;
use crate::http::send;
use crate::http::throttle::{identity, throttle};
use crate::live::event::Event;
use crate::model::filter::mask;
use crate::model::{
    ID_MAX, Message, MessageId, Nickname, RoomId, parse_date, parse_id, parse_text,
};
use crate::store::{Applied, CHANGE_OPS, Change, Refusal, Rooms};
use crate::timing::KvMeter;

/// Who is asking to moderate.
enum Moderator {
    /// Presented `admin_key`.
    AdminKey,
    /// A caller, who may be an admin by name.
    Caller { caller: Caller, admin: bool },
}

impl Moderator {
    fn identify(req: &Request, config: &Config, meter: &KvMeter) -> Result<Self, ApiError> {
        if auth::is_admin_key(req, config) {
            return Ok(Moderator::AdminKey);
        }
        let caller = require_caller(req, config, meter)?;
        let admin = match &caller {
            Caller::User(user) => auth::admins::is_admin(user, config, meter)?,
            Caller::Anyone => false,
        };
        // Admins are not rate limited: clearing up after abuse must always work.
        if !admin {
            throttle(
                config,
                "moderation_rate",
                "moderation",
                &identity(&caller, req),
            )?;
        }
        Ok(Moderator::Caller { caller, admin })
    }

    fn is_admin(&self) -> bool {
        matches!(
            self,
            Moderator::AdminKey | Moderator::Caller { admin: true, .. }
        )
    }

    /// Whether the message is this moderator's own (passkey mode: same account name).
    fn wrote(&self, message: &Message) -> bool {
        match self {
            Moderator::Caller {
                caller: Caller::User(user),
                ..
            } => user.name == message.from,
            _ => false,
        }
    }
}

/// `/rooms/{room}/messages/{id}`: `GET` reads one message as it is now.
pub fn serve_message(req: Request, raw_room: &str, raw_id: &str, config: &Config, meter: &KvMeter) {
    let answer = match *req.get_method() {
        Method::GET | Method::HEAD => {
            return send(read(&req, raw_room, raw_id, config, meter), meter);
        }
        Method::DELETE | Method::PATCH => change(req, raw_room, raw_id, config, meter),
        _ => Err(ApiError::method_not_allowed("GET, DELETE, PATCH")),
    };
    if let Err(e) = answer {
        send(Err(e), meter);
    }
}

/// The room and message a path names. An id that is not a message id (a word, a
/// negative or oversized number) names no message: 404.
pub(super) fn target(raw_room: &str, raw_id: &str) -> Result<(RoomId, MessageId), ApiError> {
    let room = RoomId::parse(raw_room)?;
    let id = parse_id(raw_id)
        .filter(|id| (1..=ID_MAX).contains(id))
        .ok_or_else(|| not_found(Refusal::NotFound))?;
    Ok((room, id))
}

fn read(
    req: &Request,
    raw_room: &str,
    raw_id: &str,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    let (room, id) = target(raw_room, raw_id)?;
    require_caller(req, config, meter)?;
    let rooms = Rooms::open(meter, config.retention())?;
    match rooms.message(&room, id)? {
        Some(mut message) => {
            rooms.resolve_replies(&room, std::slice::from_mut(&mut message), &[])?;
            json_response(&message)
        }
        None => Err(not_found(Refusal::NotFound)),
    }
}

pub(super) fn not_found(refusal: Refusal<ApiError>) -> ApiError {
    match refusal {
        Refusal::NotFound => ApiError::not_found()
            .with_message("There is no such message: it was never posted, or is deleted."),
        Refusal::Refused(e) => e,
    }
}

/// A delete or an edit of one message: which one, who asks, then that change's rule.
fn change(
    mut req: Request,
    raw_room: &str,
    raw_id: &str,
    config: &Config,
    meter: &KvMeter,
) -> Result<(), ApiError> {
    let (room, id) = target(raw_room, raw_id)?;
    let moderator = Moderator::identify(&req, config, meter)?;
    let edit_text = match *req.get_method() {
        Method::PATCH => Some(edit_text(&mut req, config)?),
        _ => None,
    };
    let rooms = Rooms::open(meter, config.retention())?;
    let (applied, body) = match edit_text {
        Some(text) => {
            // The new text's mentions, listed afresh; an edit notifies nobody (`mentions`).
            let names = mentions::find(&text, CHANGE_OPS, config, meter)?.names;
            let applied = edit(&rooms, &room, id, &moderator, (text, names), config)?;
            let body = json_response(&applied.changed[0]);
            (applied, body)
        }
        None => {
            let applied = delete(&rooms, &room, id, &moderator)?;
            let last = applied.event_id.to_string();
            (
                applied,
                json_response(&json!({ "deleted": id, "last-event-id": last })),
            )
        }
    };
    announce(config, &rooms, &room, &applied, body, meter);
    Ok(())
}

fn delete(
    rooms: &Rooms,
    room: &RoomId,
    id: MessageId,
    moderator: &Moderator,
) -> Result<Applied, ApiError> {
    let applied = rooms.delete(room, id, |message| {
        if moderator.is_admin() || moderator.wrote(message) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "Only its author or an admin can delete a message.",
            ))
        }
    })?;
    applied.map_err(not_found)
}

#[derive(Deserialize)]
struct EditBody {
    text: Option<String>,
}

/// An edit's new text, held to a new message's rules and the word filter.
fn edit_text(req: &mut Request, config: &Config) -> Result<String, ApiError> {
    let body: EditBody = read_json(req)?;
    Ok(mask(
        &parse_text(body.text.as_deref())?,
        &config.blocked_words(),
    ))
}

fn edit(
    rooms: &Rooms,
    room: &RoomId,
    id: MessageId,
    moderator: &Moderator,
    text: (String, Vec<String>),
    config: &Config,
) -> Result<Applied, ApiError> {
    let now = OffsetDateTime::now_utc();
    let window = config.edit_window();
    let applied = rooms.edit(room, id, text, now, |message| {
        if !moderator.wrote(message) {
            return Err(ApiError::forbidden("Only its author can edit a message."));
        }
        let posted = parse_date(&message.date).unwrap_or(now);
        if now - posted > window {
            return Err(ApiError::forbidden(format!(
                "Messages can be edited for {} after posting; this one is older.",
                span(window)
            )));
        }
        Ok(())
    })?;
    applied.map_err(not_found)
}

/// `DELETE /rooms/{room}/messages/[?from=<name>]`: an admin removes every message, or
/// one person's.
pub fn clear(req: &Request, room: &RoomId, config: &Config, meter: &KvMeter) {
    let cleared = (|| {
        let moderator = Moderator::identify(req, config, meter)?;
        if !moderator.is_admin() {
            return Err(ApiError::forbidden("Only an admin can clear a room."));
        }
        let from = clear_scope(req.get_query_str())?;
        let rooms = Rooms::open(meter, config.retention())?;
        let applied = rooms.clear(room, from.as_deref())?;
        Ok((rooms, applied, from))
    })();
    match cleared {
        Ok((rooms, applied, from)) => {
            // `cleared`: the messages removed from the room's newest window (at most 49,
            // what a page shows); older ones are hidden at once and erased in steps.
            let body = json!({
                "cleared": applied.changed.len(),
                "from": from,
                "last-event-id": applied.event_id.to_string(),
            });
            erasure::reserve_step();
            announce(config, &rooms, room, &applied, json_response(&body), meter);
            erasure::request_step(req, config, room);
        }
        Err(e) => send(Err(e), meter),
    }
}

/// An edit window in words: "15 minutes", or "3 seconds" for the tests' short ones.
fn span(window: std::time::Duration) -> String {
    match window.as_secs() {
        1 => "1 second".into(),
        secs @ 0..120 => format!("{secs} seconds"),
        secs => format!("{} minutes", (secs + 30) / 60),
    }
}

/// Whose messages a clear removes: everyone's with no query, one person's with
/// `?from=<name>`. Anything else is refused rather than read as "everyone": a query that
/// does not decode, a misspelt or repeated parameter must not empty the whole room.
fn clear_scope(query: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    let refuse = |message: &str| Err(ApiError::invalid_field("from", message));
    let Ok(pairs) = parse_form(query.as_bytes()) else {
        return refuse("The query is not valid percent-encoded UTF-8.");
    };
    match pairs.as_slice() {
        [] => Ok(None),
        [(name, value)] if name == "from" => Ok(Some(Nickname::parse(Some(value))?.into_string())),
        [_] => refuse("A clear takes one parameter, 'from': the name whose messages to remove."),
        _ => refuse("A clear takes 'from' once: the name whose messages to remove."),
    }
}

/// Answers the moderator (or the one who reacted), then publishes the change to the
/// room's subscribers.
pub(super) fn announce(
    config: &Config,
    rooms: &Rooms,
    room: &RoomId,
    applied: &Applied,
    answer: Result<Response, ApiError>,
    meter: &KvMeter,
) {
    let id = applied.event_id;
    let event = match &applied.change {
        Change::Delete { target } => Event::Delete {
            id,
            target: *target,
        },
        Change::Edit { .. } => Event::Edit {
            id,
            message: applied.changed[0].clone(),
        },
        Change::React { target } => Event::Reaction {
            id,
            target: *target,
            reactions: applied.changed[0].reactions.clone(),
        },
        Change::Clear { from } => Event::Clear {
            id,
            from: from.clone(),
        },
    };
    publish_new(config, rooms, room, vec![(id, Some(event))], || {
        send(answer, meter)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_windows_in_words() {
        use std::time::Duration;
        assert_eq!(span(Duration::from_secs(900)), "15 minutes");
        assert_eq!(span(Duration::from_secs(3)), "3 seconds");
        assert_eq!(span(Duration::from_secs(1)), "1 second");
        assert_eq!(span(Duration::from_secs(150)), "3 minutes");
    }

    #[test]
    fn a_clear_names_one_person_or_nobody() {
        assert_eq!(clear_scope(None), Ok(None));
        assert_eq!(clear_scope(Some("")), Ok(None));
        assert_eq!(clear_scope(Some("from=ann")), Ok(Some("ann".into())));
        assert_eq!(
            clear_scope(Some("from=%20Zo%C3%AB+")),
            Ok(Some("Zoë".into()))
        );
        for bad in [
            "from=",
            "from=%FF",
            "from=a%0Ab",
            "form=ann",
            "from=ann&from=bob",
            "from=ann&x=1",
            "everyone",
        ] {
            let refused = clear_scope(Some(bad)).unwrap_err();
            assert_eq!(
                (refused.status.as_u16(), refused.code),
                (400, "invalid_field"),
                "{bad}"
            );
        }
    }
}
