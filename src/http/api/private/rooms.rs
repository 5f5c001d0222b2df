//! `POST /rooms/` (a private room), `/rooms/{room}/members/…` and `POST /dms/`.

use fastly::http::{Method, StatusCode};
use fastly::{Request, Response};
use serde_json::{Value, json};

use super::gate::{self, Use};
use crate::auth::{Principal, random};
use crate::config::{AuthMode, Config};
use crate::http::access::require_user;
use crate::http::api::json_response;
use crate::http::body::read_json;
use crate::http::error::ApiError;
use crate::live::grip::member_channel;
use crate::live::publish::{Item, Publish};
use crate::model::membership::{
    DM_PREFIX, ID_RANDOM_LEN, MEMBER, Member, OWNER, PRIVATE_PREFIX, Refusal, RoomInfo, parse_title,
};
use crate::model::{Invalid, RoomId};
use crate::store::{Accounts, Memberships};
use crate::timing::KvMeter;

/// Characters of the random part of a private room's id.
const ID_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// The signed-in caller, in passkey mode; 404 in open mode (none of this exists there).
pub(super) fn member_caller(
    req: &Request,
    config: &Config,
    meter: &KvMeter,
) -> Result<Principal, ApiError> {
    if config.auth_mode() == AuthMode::Open {
        return Err(ApiError::not_found());
    }
    require_user(req, config, meter)
}

/// `POST /rooms/` `{"title", "private": true}`: a new private room, its caller its owner.
pub fn create(mut req: Request, config: &Config, meter: &KvMeter) -> Result<Response, ApiError> {
    let me = member_caller(&req, config, meter)?;
    if req.get_method() != Method::POST {
        return Err(ApiError::method_not_allowed("POST"));
    }
    let body: Value = read_json(&mut req)?;
    if body.get("private") != Some(&Value::Bool(true)) {
        let invalid = Invalid::new(
            "private",
            "Only private rooms are made here (\"private\": true): a public room exists once someone posts in it.",
        );
        return Err(invalid.into());
    }
    let title = parse_title(body.get("title").and_then(Value::as_str))?;
    let owner = Member {
        user_id: me.user_id,
        name: me.name,
        role: OWNER.into(),
    };
    let info = RoomInfo::new(title, owner);
    let rooms = Memberships::open(meter)?;
    let room = new_id(PRIVATE_PREFIX, &random::<ID_RANDOM_LEN>());
    if !rooms.create(&room, &info)? {
        return Err(ApiError::unavailable("Could not make the room; try again."));
    }
    index(&info.members[0].user_id, &room, true, meter)?;
    let answer = json!({"id": room.to_string(), "title": info.title, "private": true});
    Ok(json_response(&answer)?.with_status(StatusCode::CREATED))
}

/// Lists `room` among `user_id`'s rooms (`GET /me/rooms`) or drops it, after the room's
/// own record took them in or let them go: the index only ever lags the record, which
/// decides.
pub(super) fn index(
    user_id: &str,
    room: &RoomId,
    listed: bool,
    meter: &KvMeter,
) -> Result<(), ApiError> {
    let room = room.to_string();
    let changed = Accounts::open(meter)?.update_user(user_id, |user| {
        user.rooms.retain(|r| *r != room);
        if listed {
            user.rooms.push(room.clone());
        }
        Ok::<(), ()>(())
    });
    changed.map(|_| ()).map_err(ApiError::from)
}

/// The 404 for a name nobody has.
pub(super) fn nobody(name: &str) -> ApiError {
    ApiError::not_found().with_message(format!("Nobody is called {name} here."))
}

/// The account named `name`, or the 404 of [`nobody`].
pub(super) fn person_named(
    accounts: &Accounts,
    name: &str,
) -> Result<crate::store::User, ApiError> {
    let user = match accounts.user_id_for_name(name)? {
        Some(id) => accounts.user(&id)?,
        None => None,
    };
    user.ok_or_else(|| nobody(name))
}

/// An id of `prefix` and one character per byte of `bytes`.
fn new_id(prefix: &str, bytes: &[u8]) -> RoomId {
    let tail: String = (bytes.iter())
        .map(|b| ID_ALPHABET[usize::from(*b) % ID_ALPHABET.len()] as char)
        .collect();
    RoomId::parse(&format!("{prefix}{tail}")).expect("a prefix and letters make a room id")
}

/// `/rooms/{room}/members/[{name}]`: list (members), add (owner or admin), remove (owner
/// or admin; a member themself, leaving).
pub fn members(
    mut req: Request,
    room: &RoomId,
    name: Option<&str>,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    // Public rooms have no members; outsiders see no room (before anything else).
    if !room.is_private() {
        return Err(ApiError::not_found());
    }
    let method = req.get_method().clone();
    let use_ = if method == Method::GET {
        Use::Member
    } else {
        Use::Moderate
    };
    gate::admit(&req, room, use_, config, meter)?;
    let me = member_caller(&req, config, meter)?;
    let admin = gate::is_admin(&me.user_id, &me.name, config, meter)?;
    let rooms = Memberships::open(meter)?;
    // Whose index follows the change: the member added or removed.
    let mut touched = None;
    let changed = match (method, name) {
        (Method::GET, None) => return list(&rooms, room),
        (Method::POST, None) => {
            let body: Value = read_json(&mut req)?;
            let raw = body.get("name").and_then(Value::as_str);
            let name = raw.ok_or_else(|| Invalid::new("name", "Whom to add: their name."))?;
            let holder = person_named(&Accounts::open(meter)?, name)?;
            let member = Member {
                user_id: holder.id,
                name: holder.name,
                role: MEMBER.into(),
            };
            touched = Some((member.user_id.clone(), true));
            rooms.update(room, |info| info.add(&me.user_id, admin, member.clone()))?
        }
        (Method::DELETE, Some(raw)) => {
            let name = urlencoding::decode(raw).map_err(|_| ApiError::not_found())?;
            rooms.update(room, |info| {
                let gone = info.remove(&me.user_id, admin, &name)?;
                touched = Some((gone.user_id, false));
                Ok(())
            })?
        }
        (_, None) => return Err(ApiError::method_not_allowed("GET, POST")),
        (_, Some(_)) => return Err(ApiError::method_not_allowed("DELETE")),
    };
    let info = changed.ok_or_else(ApiError::not_found)?.map_err(refused)?;
    match touched {
        Some((user_id, true)) => index(&user_id, room, true, meter)?,
        Some((user_id, false)) => {
            // Their held streams, polls and sockets for this room end now; their next
            // request is 404 (the room's record no longer lists them).
            let ending = Item::ending(
                member_channel(room, &user_id),
                "removed",
                "You are no longer a member of this room.",
            );
            Publish::start(config, format!("{room}/removed"), &ending).finish();
            index(&user_id, room, false, meter)?
        }
        None => {}
    }
    members_json(&info)
}

fn list(rooms: &Memberships, room: &RoomId) -> Result<Response, ApiError> {
    members_json(&rooms.room(room)?.ok_or_else(ApiError::not_found)?)
}

fn members_json(info: &RoomInfo) -> Result<Response, ApiError> {
    let members: Vec<Value> = (info.members.iter())
        .map(|m| json!({"name": m.name, "role": m.role}))
        .collect();
    json_response(&json!({ "members": members }))
}

pub(super) fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::NotAllowed => {
            ApiError::forbidden("Only the room's owner (or an admin) may do that.")
        }
        Refusal::Dm => ApiError::forbidden(
            "A direct message is between its two people: nobody is added or removed.",
        ),
        Refusal::AlreadyMember => ApiError::conflict("They are a member already."),
        Refusal::NotMember => ApiError::not_found(),
        Refusal::Owner => ApiError::forbidden("The owner cannot be removed."),
        Refusal::Full => ApiError::conflict("The room is full."),
    }
}

/// `POST /dms/` `{"name"}`: the one private room of the caller and `name`, the same
/// whoever asks first: its id is derived from the pair with a key only the service has.
pub fn direct(mut req: Request, config: &Config, meter: &KvMeter) -> Result<Response, ApiError> {
    let me = member_caller(&req, config, meter)?;
    if req.get_method() != Method::POST {
        return Err(ApiError::method_not_allowed("POST"));
    }
    let body: Value = read_json(&mut req)?;
    let name = (body.get("name").and_then(Value::as_str))
        .ok_or_else(|| Invalid::new("name", "Whom to write to: their name."))?;
    let other = person_named(&Accounts::open(meter)?, name)?;
    if other.id == me.user_id {
        return Err(Invalid::new("name", "A direct message is with someone else.").into());
    }
    if other.blocked.iter().any(|b| b.id == me.user_id) {
        return Err(ApiError::forbidden(format!(
            "{name} does not take direct messages from you."
        )));
    }
    let key = config
        .session_key()
        .ok_or_else(|| ApiError::unavailable("Direct messages are not available right now."))?;
    let (a, b) = if me.user_id < other.id {
        (&me.user_id, &other.id)
    } else {
        (&other.id, &me.user_id)
    };
    let digest = hmac_sha256::HMAC::mac(format!("dm:{a}:{b}").as_bytes(), &key);
    let room = new_id(DM_PREFIX, &digest[..ID_RANDOM_LEN]);
    let mut info = RoomInfo::new(
        String::new(),
        Member {
            user_id: me.user_id,
            name: me.name,
            role: MEMBER.into(),
        },
    );
    info.members.push(Member {
        user_id: other.id,
        name: other.name,
        role: MEMBER.into(),
    });
    info.dm = true;
    // Made once: the second ask (from either side) finds it made.
    if Memberships::open(meter)?.create(&room, &info)? {
        for member in &info.members {
            index(&member.user_id, &room, true, meter)?;
        }
    }
    json_response(&json!({ "id": room.to_string() }))
}
