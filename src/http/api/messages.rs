//! `GET` and `POST /rooms/{room}/messages/`: form posts and
//! `{"messages": [...], "last-event-id": …}` as in fastly/fanout-chat-demo. A post may
//! answer another message (`reply_to`: its id); it then quotes it (`model::ReplyTo`).

use fastly::http::{Method, header};
use fastly::{Request, Response};
use serde::Serialize;

use super::{json_response, longpoll, mentions, moderation, publish_new_with};
use crate::config::Config;
use crate::headers::HeaderText;
use crate::http::access::{Caller, require_caller};
use crate::http::body::{parse_form, query_number, read_body};
use crate::http::error::ApiError;
use crate::http::send;
use crate::http::throttle::{identity, throttle};
use crate::live::event::Event;
use crate::model::filter::mask;
use crate::model::{Draft, ID_MAX, Message, MessageId, Nickname, ReplyTo, RoomId, parse_id};
use crate::store::{APPEND_OPS, Appended, Rooms};
use crate::timing::KvMeter;

/// Messages per history page by default, and at most.
pub const PAGE_DEFAULT: u64 = 50;
pub const PAGE_MAX: u64 = 100;

#[derive(Serialize)]
struct History {
    /// Newest first.
    messages: Vec<Message>,
    /// The room's newest id, as a string ("0" for an empty room): what an SSE client
    /// that already shows this history passes as `lastEventId`.
    #[serde(rename = "last-event-id")]
    last_event_id: String,
}

pub fn serve(req: Request, raw_room: &str, config: &Config, meter: &KvMeter) {
    let room = match RoomId::parse(raw_room) {
        Ok(room) => room,
        Err(e) => return send(Err(e.into()), meter),
    };
    match *req.get_method() {
        Method::GET | Method::POST => {}
        Method::DELETE => return moderation::clear(&req, &room, config, meter),
        _ => {
            return send(
                Err(ApiError::method_not_allowed("GET, POST, DELETE")),
                meter,
            );
        }
    }
    if req.get_method() == Method::GET && longpoll::is_poll(&req) {
        return longpoll::serve(req, room, config, meter);
    }
    let caller = match require_caller(&req, config, meter) {
        Ok(caller) => caller,
        Err(e) => return send(Err(e), meter),
    };
    if req.get_method() == Method::GET {
        send(history(&req, &room, config, meter), meter);
    } else {
        post(req, &room, &caller, config, meter);
    }
}

/// `GET /rooms/{room}/messages/[?before=<id>&limit=<1..100>]`.
fn history(
    req: &Request,
    room: &RoomId,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    let before = query_number(req, "before", 1, MessageId::MAX)?;
    let limit = query_number(req, "limit", 1, PAGE_MAX)?.unwrap_or(PAGE_DEFAULT);
    let rooms = Rooms::open(meter, config.retention())?;
    let (newest, mut messages) = rooms.latest(room, before, limit)?;
    messages.reverse();
    json_response(&History {
        messages,
        last_event_id: newest.to_string(),
    })
}

/// Stores the message, answers the client, then publishes it (`api::publish_new`).
fn post(mut req: Request, room: &RoomId, caller: &Caller, config: &Config, meter: &KvMeter) {
    let draft = throttle(config, "post_rate", "post", &identity(caller, &req))
        .and_then(|()| parse_post(&mut req, caller))
        .and_then(|(mut draft, reply_to)| {
            draft.reply_to = quote(room, reply_to.as_deref(), config, meter)?;
            Ok(draft)
        });
    match draft {
        Ok(draft) => store_and_publish(room, draft, caller.user_id(), config, meter, |stored| {
            send(stored.and_then(json_response), meter);
        }),
        Err(e) => send(Err(e), meter),
    }
}

/// Stores a message (a POST's or a socket's, already past the post limit, from
/// `author_id` in passkey mode), lets `answer` tell the client, then publishes it: the
/// publish never delays the answer. The people it mentions are found first (they are
/// part of the stored message) and notified once it is stored (`mentions`).
pub fn store_and_publish(
    room: &RoomId,
    mut draft: Draft,
    author_id: Option<&str>,
    config: &Config,
    meter: &KvMeter,
    answer: impl FnOnce(Result<&Message, ApiError>),
) {
    draft.text = mask(&draft.text, &config.blocked_words());
    let stored = Rooms::open(meter, config.retention()).and_then(|rooms| {
        let found = mentions::find(&draft.text, APPEND_OPS, config, meter)?;
        draft.mentions.clone_from(&found.names);
        let appended = rooms.append(room, draft)?;
        Ok((rooms, appended, found))
    });
    match stored {
        Ok((rooms, Appended { message, appended }, found)) => {
            let told = match author_id {
                Some(author) => mentions::notify(&rooms, room, &message, author, found, meter),
                None => Vec::new(),
            };
            // Every message this request appended (a batch: `store::queue`), its own
            // among them unless another post's request appended it and publishes it.
            let new = appended
                .into_iter()
                .map(|m| (m.id, Some(Event::Message(m))))
                .collect();
            let mut answer = Some(answer);
            publish_new_with(config, &rooms, room, new, told, &mut || {
                answer.take().map(|a| a(Ok(&message)));
            });
        }
        Err(e) => answer(Err(e.into())),
    }
}

/// What a reply (`reply_to`: a message id) quotes of the message it answers; a
/// `reply_to` that is not a message of this room is refused.
fn quote(
    room: &RoomId,
    reply_to: Option<&str>,
    config: &Config,
    meter: &KvMeter,
) -> Result<Option<ReplyTo>, ApiError> {
    // An empty field (a form's unused one) is no reply.
    let Some(raw) = reply_to.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let refused = || {
        ApiError::invalid_field(
            "reply_to",
            "The field 'reply_to' must be the id of a message in this room.",
        )
    };
    let id = parse_id(raw)
        .filter(|id| (1..=ID_MAX).contains(id))
        .ok_or_else(refused)?;
    let rooms = Rooms::open(meter, config.retention())?;
    rooms.quote(room, id)?.map(Some).ok_or_else(refused)
}

/// A POST's message: `text` from the form or JSON body, and who it is from; and the
/// `reply_to` it names, if any.
fn parse_post(req: &mut Request, caller: &Caller) -> Result<(Draft, Option<String>), ApiError> {
    let content_type = req.header_text(header::CONTENT_TYPE).map(str::to_owned);
    // The type is refused before a byte of the body is read.
    media_type(content_type.as_deref())?;
    let body = read_body(req)?;
    let fields = PostFields::from_body(content_type.as_deref(), &body)?;
    let from = author(caller, fields.from.as_deref())?;
    Ok((
        Draft::parse(Some(&from), fields.text.as_deref())?,
        fields.reply_to,
    ))
}

/// Who a message (or a presence) is from: the `from` given in open mode (checked as a
/// nickname); the signed-in name otherwise, where a `from` naming someone else is refused.
pub fn author(caller: &Caller, from: Option<&str>) -> Result<String, ApiError> {
    match caller {
        Caller::Anyone => Ok(Nickname::parse(from)?.into_string()),
        Caller::User(user) => {
            if from.is_some_and(|from| from.trim() != user.name) {
                return Err(ApiError::forbidden(format!(
                    "You are signed in as {}: messages are from you.",
                    user.name
                )));
            }
            Ok(user.name.clone())
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    Form,
    Json,
}

fn media_type(content_type: Option<&str>) -> Result<MediaType, ApiError> {
    let essence = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|mt| mt.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("application/x-www-form-urlencoded") => Ok(MediaType::Form),
        Some("application/json") => Ok(MediaType::Json),
        _ => Err(ApiError::unsupported_media_type()),
    }
}

/// The `from`, `text` and `reply_to` fields of a form or JSON object body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostFields {
    pub from: Option<String>,
    pub text: Option<String>,
    pub reply_to: Option<String>,
}

impl PostFields {
    pub fn from_body(content_type: Option<&str>, body: &[u8]) -> Result<Self, ApiError> {
        let [from, text, reply_to] = body_fields(content_type, body, ["from", "text", "reply_to"])?;
        Ok(Self {
            from,
            text,
            reply_to,
        })
    }
}

/// The named string fields of a form or JSON object body (`None` where absent). A JSON
/// `reply_to` may be a number too: it is a message id.
pub fn body_fields<const N: usize>(
    content_type: Option<&str>,
    body: &[u8],
    names: [&'static str; N],
) -> Result<[Option<String>; N], ApiError> {
    let mut out = [const { None }; N];
    fill_fields(content_type, body, &names, &mut out)?;
    Ok(out)
}

/// `body_fields`' work, once for every number of fields (a copy per `N` cost 1.5 KB).
fn fill_fields(
    content_type: Option<&str>,
    body: &[u8],
    names: &[&'static str],
    out: &mut [Option<String>],
) -> Result<(), ApiError> {
    match media_type(content_type)? {
        MediaType::Form => {
            let fields = parse_form(body)?;
            for (slot, name) in out.iter_mut().zip(names) {
                *slot = fields
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone());
            }
        }
        MediaType::Json => {
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::invalid_body(format!("The body is not valid JSON: {e}.")))?;
            let object = value
                .as_object()
                .ok_or_else(|| ApiError::invalid_body("The body must be a JSON object."))?;
            for (slot, &name) in out.iter_mut().zip(names) {
                *slot = match object.get(name) {
                    None | Some(serde_json::Value::Null) => None,
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    Some(serde_json::Value::Number(n)) if name == "reply_to" => Some(n.to_string()),
                    Some(_) => {
                        return Err(ApiError::invalid_field(
                            name,
                            format!("The field '{name}' must be a string."),
                        ));
                    }
                };
            }
        }
    }
    Ok(())
}
