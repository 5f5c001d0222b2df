//! Reactions: `POST /rooms/{room}/messages/{id}/reactions/` with `{"emoji": "👍"}` (JSON
//! or a form, as posts take) adds the caller's; `DELETE …/reactions/{emoji}` (the emoji
//! percent-encoded) takes it back.
//!
//! Both answer `{"id": <message id>, "reactions": [...]}` with the message's reactions
//! as they are now, plus `"last-event-id"` when something changed: reacting again with
//! the same emoji, or taking back one you had not given, is a success that changes
//! nothing (a double tap must not show an error). Who reacts is who posts: the `from`
//! field in open mode (the query's `from` for a `DELETE`), the signed-in account in
//! passkey mode. Reactions count against `post_rate`, as posts do; each change is a
//! `reaction` event in the room's sequence (`store::reactions`).

use fastly::Request;
use fastly::http::{Method, header};

use super::json_response;
use super::messages::{author, body_fields};
use super::moderation::{announce, not_found, target};
use crate::config::Config;
use crate::headers::HeaderText;
use crate::http::access::require_caller;
use crate::http::body::{query_param, read_body};
use crate::http::error::ApiError;
use crate::http::send;
use crate::http::throttle::{identity, throttle};
use crate::model::reaction::{EMOJI_MAX, ReactionsOf, parse_emoji};
use crate::store::{Reacted, Refusal, Rooms};
use crate::timing::KvMeter;

/// `…/reactions/` (`raw_emoji` `None`) and `…/reactions/{emoji}`.
pub fn serve(
    req: Request,
    raw: [&str; 2],
    raw_emoji: Option<&str>,
    config: &Config,
    meter: &KvMeter,
) {
    let add = match (req.get_method(), raw_emoji) {
        (&Method::POST, None) => true,
        (&Method::DELETE, Some(_)) => false,
        (_, None) => return send(Err(ApiError::method_not_allowed("POST")), meter),
        (_, Some(_)) => return send(Err(ApiError::method_not_allowed("DELETE")), meter),
    };
    if let Err(e) = react(req, raw, raw_emoji, add, config, meter) {
        send(Err(e), meter);
    }
}

fn react(
    mut req: Request,
    [raw_room, raw_id]: [&str; 2],
    raw_emoji: Option<&str>,
    add: bool,
    config: &Config,
    meter: &KvMeter,
) -> Result<(), ApiError> {
    let (room, id) = target(raw_room, raw_id)?;
    let caller = require_caller(&req, config, meter)?;
    throttle(config, "post_rate", "post", &identity(&caller, &req))?;
    let (emoji, from) = match raw_emoji {
        None => {
            let content_type = req.header_text(header::CONTENT_TYPE).map(str::to_owned);
            let body = read_body(&mut req)?;
            let [emoji, from] = body_fields(content_type.as_deref(), &body, ["emoji", "from"])?;
            (emoji, from)
        }
        Some(raw) => {
            let emoji = urlencoding::decode(raw).map_err(|_| {
                ApiError::invalid_field("emoji", "The emoji is not valid percent-encoded UTF-8.")
            })?;
            (Some(emoji.into_owned()), query_param(&req, "from"))
        }
    };
    let name = author(&caller, from.as_deref())?;
    let emoji = parse_emoji(emoji.as_deref())?;
    let rooms = Rooms::open(meter, config.retention())?;
    match rooms.react(&room, id, &name, &emoji, add)? {
        Err(Refusal::NotFound) => Err(not_found(Refusal::NotFound)),
        Err(Refusal::Refused(_)) => Err(ApiError::conflict(format!(
            "A message can have at most {EMOJI_MAX} different emoji: react with one it has already."
        ))),
        Ok(Reacted::Unchanged(reactions)) => {
            let body = ReactionsOf {
                id,
                reactions: &reactions,
                last_event_id: None,
            };
            send(json_response(&body), meter);
            Ok(())
        }
        Ok(Reacted::Changed(applied)) => {
            let body = json_response(&ReactionsOf {
                id,
                reactions: &applied.changed[0].reactions,
                last_event_id: Some(applied.event_id.to_string()),
            });
            announce(config, &rooms, &room, &applied, body, meter);
            Ok(())
        }
    }
}
