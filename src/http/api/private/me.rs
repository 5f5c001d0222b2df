//! `GET /me/rooms` (the caller's private rooms and direct messages, the same on every
//! device) and `/me/blocks/` (people whose direct messages and messages they refuse).

use fastly::http::{Method, StatusCode};
use fastly::{Request, Response};
use serde_json::{Value, json};

use super::rooms::{member_caller, person_named};
use crate::config::Config;
use crate::http::api::json_response;
use crate::http::body::read_json;
use crate::http::error::ApiError;
use crate::model::{Invalid, RoomId};
use crate::store::{Accounts, Blocked, Memberships, Rooms, newest};
use crate::timing::KvMeter;

/// People one account may block.
pub const BLOCKS_MAX: usize = 200;

/// `GET /me/rooms`: `{"rooms": [{"id", "title", "dm", "newest"}]}`, the title of a direct
/// message being the other person's name. Each listed room's own record decides (one
/// lookup each), so a room left or lost is not shown even if the index still names it.
pub fn rooms(req: Request, config: &Config, meter: &KvMeter) -> Result<Response, ApiError> {
    let me = member_caller(&req, config, meter)?;
    if req.get_method() != Method::GET {
        return Err(ApiError::method_not_allowed("GET"));
    }
    let user = Accounts::open(meter)?
        .user(&me.user_id)?
        .ok_or_else(ApiError::not_found)?;
    let memberships = Memberships::open(meter)?;
    let store = Rooms::open(meter, config.retention())?;
    let mut listed = Vec::new();
    for raw in &user.rooms {
        let Ok(room) = RoomId::parse(raw) else {
            continue;
        };
        let Some(info) = memberships.room(&room)? else {
            continue;
        };
        if info.member(&me.user_id).is_none() {
            continue;
        }
        let title = if info.dm {
            (info.members.iter())
                .find(|m| m.user_id != me.user_id)
                .map_or(String::new(), |m| m.name.clone())
        } else {
            info.title.clone()
        };
        let newest = newest(&store.head(&room)?);
        listed
            .push(json!({"id": raw, "title": title, "dm": info.dm, "newest": newest.to_string()}));
    }
    json_response(&json!({ "rooms": listed }))
}

/// `/me/blocks/[{name}]`: GET lists the names blocked, POST `{"name"}` blocks, DELETE
/// unblocks.
pub fn blocks(
    mut req: Request,
    name: Option<&str>,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    let me = member_caller(&req, config, meter)?;
    let accounts = Accounts::open(meter)?;
    let method = req.get_method().clone();
    let (target, block) = match (method, name) {
        (Method::GET, None) => {
            let user = accounts
                .user(&me.user_id)?
                .ok_or_else(ApiError::not_found)?;
            let names: Vec<&str> = user.blocked.iter().map(|b| b.name.as_str()).collect();
            return json_response(&json!({ "blocks": names }));
        }
        (Method::POST, None) => {
            let body: Value = read_json(&mut req)?;
            let name = (body.get("name").and_then(Value::as_str))
                .ok_or_else(|| Invalid::new("name", "Whom to block: their name."))?;
            (name.to_owned(), true)
        }
        (Method::DELETE, Some(raw)) => {
            let name = urlencoding::decode(raw).map_err(|_| ApiError::not_found())?;
            (name.into_owned(), false)
        }
        (_, None) => return Err(ApiError::method_not_allowed("GET, POST")),
        (_, Some(_)) => return Err(ApiError::method_not_allowed("DELETE")),
    };
    let person = person_named(&accounts, &target)?;
    let other = Blocked {
        id: person.id,
        name: person.name,
    };
    if other.id == me.user_id {
        return Err(Invalid::new("name", "You cannot block yourself.").into());
    }
    let changed = accounts.update_user(&me.user_id, |user| {
        user.blocked.retain(|b| b.id != other.id);
        if block {
            if user.blocked.len() >= BLOCKS_MAX {
                return Err(ApiError::conflict(
                    "You have blocked as many people as one may.",
                ));
            }
            user.blocked.push(other.clone());
        }
        Ok(())
    })?;
    changed?;
    Ok(Response::from_status(StatusCode::NO_CONTENT))
}
