//! Mentions: the names a message's text mentions with `@` (`model::mention` says what
//! counts as one), listed in its JSON as `"mentions"`, and in passkey mode a `mention`
//! event on each mentioned person's own stream, `GET /me/events/` (`me_events`).
//!
//! **Who is listed.** Open mode has no accounts: every `@nickname` is listed, as typed.
//! In passkey mode only registered names are, each as its owner spells it (`@ANN` lists
//! "Ann"), found with the name lookup sign-in uses. An edit finds them again for the new
//! text and notifies nobody: a notification is for the moment a message is posted, and
//! an edit that could notify would be a way to ping someone again and again.
//!
//! **Who is told.** Each person listed, except the author, anyone who blocks the author,
//! and in a private room anyone who is not a member (one lookup of the room's record),
//! at most [`NOTIFIED_MAX`] per message.
//!
//! **Where it is kept.** Each person's notifications are a sequence of their own, stored
//! and read exactly as a room's is, under an id no client can name
//! (`RoomId::mentions_of`): appends, ids 1, 2, 3, …, windows, the head copy, backlog
//! pages, resume and retention all come from `store::Rooms` and `live::backlog`
//! unchanged. An entry of that sequence is a message from the author whose text is the
//! event's JSON, `{"room","id","from","text"}`, sent as it is stored.
//!
//! **What it costs.** A name is three KV reads (its two possible records, then its
//! holder's record, which also says whom they block); a notification one append (1 KV
//! operation at a POP that holds the log's head, 3 at one that does not). The items go
//! out in the post's own publish call, beside the room's (`api::publish_new_with`): no
//! publish request of their own. Every lookup and append first checks that the request
//! still has room for it within `budget::KV_MAX` (after the post's own append), so a
//! post stays within 200 KV operations whatever its text; a mention that does not fit is
//! listed, or notified, no further (and logged).

use serde_json::json;

use crate::budget::KV_MAX;
use crate::config::{AuthMode, Config};
use crate::live::grip::channel;
use crate::live::publish::{Ending, Item};
use crate::model::mention::candidates;
use crate::model::{Draft, Message, MessageId, RoomId};
use crate::store::{APPEND_OPS, Accounts, Blocked, Memberships, Rooms, StoreError};
use crate::timing::KvMeter;

/// People one message notifies. Each is an append to their log (1–3 KV operations, at
/// most `APPEND_OPS` when appends race) and an item in the post's publish call. A
/// signed-in post with 5 mentions measured 22 KV operations (2 of any signed-in post, 15
/// lookups, 5 appends) and the 4 backend requests of any post (`scripts/bench --only
/// mentions`, 2026-12-05), far from the 200 and 10 a request may make.
pub const NOTIFIED_MAX: usize = 5;
/// KV reads one name costs in passkey mode: its `name:` and `namekey:` records, then
/// its holder's `user:` record.
const LOOKUP_OPS: u32 = 3;

/// A registered person a message mentions.
pub struct Person {
    user_id: String,
    name: String,
    blocked: Vec<Blocked>,
}

/// What a text mentions: the names its JSON lists, and (passkey mode) who they are.
#[derive(Default)]
pub struct Found {
    pub names: Vec<String>,
    people: Vec<Person>,
}

/// The names `text` mentions, looked up in passkey mode (see the module doc), leaving
/// `reserve` KV operations of the request's [`KV_MAX`] for what follows (a post's
/// append, `APPEND_OPS`; an edit's window rewrites, `CHANGE_OPS`).
pub fn find(
    text: &str,
    reserve: u32,
    config: &Config,
    meter: &KvMeter,
) -> Result<Found, StoreError> {
    let named = candidates(text);
    if config.auth_mode() == AuthMode::Open {
        return Ok(Found {
            names: named,
            people: Vec::new(),
        });
    }
    let mut found = Found::default();
    if named.is_empty() {
        return Ok(found);
    }
    let accounts = Accounts::open(meter)?;
    for name in named {
        if meter.ops() + LOOKUP_OPS + reserve > KV_MAX {
            log::warn!("mentions after {name:?} not looked up: the request's KV budget");
            break;
        }
        let Some(user_id) = accounts.user_id_for_name(&name)? else {
            continue;
        };
        if found.people.iter().any(|p| p.user_id == user_id) {
            continue;
        }
        if let Some(user) = accounts.user(&user_id)? {
            found.names.push(user.name.clone());
            found.people.push(Person {
                user_id,
                name: user.name,
                blocked: user.blocked,
            });
        }
    }
    Ok(found)
}

/// Appends a notification of `message` (in `room`, by `author_id`) to the log of each
/// person `found` who is to be told, and returns the items that publish them. A failure
/// is logged and skips that person: the message is stored and its poster answered
/// whatever happens here.
pub fn notify(
    rooms: &Rooms,
    room: &RoomId,
    message: &Message,
    author_id: &str,
    found: Found,
    meter: &KvMeter,
) -> Vec<Item> {
    let mut told: Vec<Person> = (found.people.into_iter())
        .filter(|p| p.user_id != author_id && !p.blocked.iter().any(|b| b.id == author_id))
        .collect();
    if !told.is_empty() && room.is_private() {
        match Memberships::open(meter).and_then(|m| m.room(room)) {
            Ok(Some(info)) => told.retain(|p| info.member(&p.user_id).is_some()),
            Ok(None) => told.clear(),
            Err(e) => {
                log::warn!("room {room}: members not read, nobody notified: {e}");
                told.clear();
            }
        }
    }
    told.truncate(NOTIFIED_MAX);
    let data = json!({"room": room.to_string(), "id": message.id, "from": message.from,
        "text": message.text})
    .to_string();
    let mut items = Vec::new();
    for person in told {
        if meter.ops() + APPEND_OPS > KV_MAX {
            log::warn!(
                "{} not notified of {room}/{}: KV budget",
                person.name,
                message.id
            );
            break;
        }
        let log = RoomId::mentions_of(&person.user_id);
        let draft = Draft {
            from: message.from.clone(),
            text: data.clone(),
            mentions: Vec::new(),
            reply_to: None,
        };
        match rooms.append(&log, draft) {
            // Notifications of others a batch of this log carried publish here too.
            Ok(appended) => items.extend(appended.appended.iter().map(|m| item(&log, m))),
            Err(e) => log::warn!("{} not notified of {room}/{}: {e}", person.name, message.id),
        }
    }
    items
}

/// The publish item of a log's entry: SSE only (`/me/events/` has no other transport).
fn item(log: &RoomId, entry: &Message) -> Item {
    Item {
        channel: channel(log),
        id: Some(entry.id.to_string()),
        prev_id: Some((entry.id - 1).to_string()),
        content: frame(entry.id, &entry.text),
        filters: &[],
        ws: None,
        response: None,
        ending: Ending::No,
    }
}

/// A `mention` event: `data` is the stored `{"room","id","from","text"}`.
pub fn frame(id: MessageId, data: &str) -> String {
    format!("event: mention\nid: {id}\ndata: {data}\n\n")
}
