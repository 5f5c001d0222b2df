//! `POST /rooms/{room}/presence/`: a page says it is here (every 30 s), is typing, or
//! is leaving (its `pagehide` beacon). Form or JSON: `state` = `here` | `typing` |
//! `gone`, plus `from` in open mode, as a post has it; in passkey mode it is the
//! signed-in name. Answers `{"here": [names]}`: who this POP knows is in the room
//! (empty for `typing`, which leaves the roster alone).
//! Nothing is stored in KV; what is published, and how often, is `live::presence`.

use fastly::Request;
use fastly::http::{Method, header};
use serde_json::json;

use super::messages::{author, body_fields};
use super::{json_response, publish_ephemeral};
use crate::config::Config;
use crate::headers::HeaderText;
use crate::http::access::require_caller;
use crate::http::body::read_body;
use crate::http::error::ApiError;
use crate::http::send;
use crate::live::presence;
use crate::live::publish::Item;
use crate::model::RoomId;
use crate::timing::KvMeter;

pub fn serve(mut req: Request, raw_room: &str, config: &Config, meter: &KvMeter) {
    let room = match RoomId::parse(raw_room) {
        Ok(room) => room,
        Err(e) => return send(Err(e.into()), meter),
    };
    if req.get_method() != Method::POST {
        return send(Err(ApiError::method_not_allowed("POST")), meter);
    }
    let said = require_caller(&req, config, meter).and_then(|caller| {
        let content_type = req.header_text(header::CONTENT_TYPE).map(str::to_owned);
        let body = read_body(&mut req)?;
        let [from, state] = body_fields(content_type.as_deref(), &body, ["from", "state"])?;
        Ok((author(&caller, from.as_deref())?, state))
    });
    let (name, state) = match said {
        Ok(said) => said,
        Err(e) => return send(Err(e), meter),
    };
    let (here, item) = match state.as_deref().map(str::trim) {
        Some("here") | None => presence::heartbeat(&room, &name, false),
        Some("gone") => presence::heartbeat(&room, &name, true),
        Some("typing") => (Vec::new(), presence::typing(&room, &name)),
        Some(_) => {
            let refused = ApiError::invalid_field("state", "'state' is here, typing or gone.");
            return send(Err(refused), meter);
        }
    };
    let items: Vec<Item> = item.into_iter().collect();
    publish_ephemeral(config, format!("{room}/presence"), &items, || {
        send(json_response(&json!({ "here": here })), meter);
    });
}
