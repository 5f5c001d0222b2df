//! `POST /rooms/{room}/presence/`: a page says it is here (every 30 s), is typing, or
//! is leaving (its `pagehide` beacon). Form or JSON: `state` = `here` | `typing` |
//! `gone`, plus `from` in open mode, as a post has it; in passkey mode it is the
//! signed-in name. Answers `{"here": [names]}`: everyone in the room as far as this POP
//! knows (its roster and other POPs' summaries; empty for `typing`, which leaves the
//! roster alone). Limited by `presence_rate` per identity, as posts are by `post_rate`.
//! What is published, and how often, is `live::presence`.

use fastly::http::{Method, header};
use fastly::{Request, Response};
use serde_json::json;

use super::messages::{author, body_fields};
use super::{json_response, publish_ephemeral};
use crate::config::Config;
use crate::headers::HeaderText;
use crate::http::access::require_caller;
use crate::http::body::read_body;
use crate::http::error::ApiError;
use crate::http::throttle::{identity, limit};
use crate::http::{send, simulated_pop, valid_pop};
use crate::live::presence::{self, Beat, Place, Timing};
use crate::model::RoomId;
use crate::timing::KvMeter;

/// Where `room`'s presence is kept for this request: this POP (`FASTLY_POP`), or in
/// local tests the POP the `pop_header` header names (`http::simulated_pop`: one Viceroy
/// standing in for several POPs, each with its own roster, sharing KV as POPs do).
pub fn place<'a>(req: &Request, room: &'a RoomId, config: &Config) -> Place<'a> {
    let pop = simulated_pop(req, config)
        .or_else(|| {
            std::env::var("FASTLY_POP")
                .ok()
                .filter(|pop| valid_pop(pop))
        })
        .unwrap_or_else(|| "local".to_owned());
    Place {
        room,
        pop,
        timing: Timing {
            heartbeat: config.presence_heartbeat_secs(),
        },
    }
}

/// The opening roster of a stream of `room` (see `live::presence::opening`).
pub fn opening(req: &Request, room: &RoomId, config: &Config, meter: &KvMeter) -> String {
    presence::opening(&place(req, room, config), meter)
}

pub fn serve(mut req: Request, raw_room: &str, config: &Config, meter: &KvMeter) {
    let room = match RoomId::parse(raw_room) {
        Ok(room) => room,
        Err(e) => return send(Err(e.into()), meter),
    };
    if req.get_method() != Method::POST {
        return send(Err(ApiError::method_not_allowed("POST")), meter);
    }
    let said = require_caller(&req, config, meter).and_then(|caller| {
        limit(config.presence_rate(), "presence", &identity(&caller, &req))?;
        let content_type = req.header_text(header::CONTENT_TYPE).map(str::to_owned);
        let body = read_body(&mut req)?;
        let [from, state] = body_fields(content_type.as_deref(), &body, ["from", "state"])?;
        Ok((author(&caller, from.as_deref())?, state))
    });
    let (name, state) = match said {
        Ok(said) => said,
        Err(e) => return send(Err(e), meter),
    };
    let place = place(&req, &room, config);
    let beat = match state.as_deref().map(str::trim) {
        Some("here") | None => presence::heartbeat(&place, &name, false, meter),
        Some("gone") => presence::heartbeat(&place, &name, true, meter),
        Some("typing") => Beat {
            here: Vec::new(),
            items: presence::typing(&place, &name).into_iter().collect(),
        },
        Some(_) => {
            let refused = ApiError::invalid_field("state", "'state' is here, typing or gone.");
            return send(Err(refused), meter);
        }
    };
    let answer: Result<Response, ApiError> = json_response(&json!({ "here": beat.here }));
    publish_ephemeral(config, format!("{room}/presence"), &beat.items, || {
        send(answer, meter);
    });
}
