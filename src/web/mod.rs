//! The web UI: the join page, a room's chat page, friendly error pages and the
//! embedded static files.
//!
//! The chat page arrives with the room's newest messages already in it (one KV list +
//! one lookup, see `store`), so it is readable before any script runs and without
//! JavaScript at all. `static/chat.js` then opens the live stream after the id the page
//! was rendered with, so nothing is missed or shown twice between render and connect.
//!
//! Every untrusted string (nicknames, message text, the path) is escaped in `templates`
//! through `text::escape`, and the pages carry a CSP without inline script (`headers`):
//! nothing in a message can become code. Which page a path is, is `http::routes`'s
//! business; these handlers get what they need already taken apart.

pub mod assets;
pub mod headers;
mod templates;
mod text;

pub use self::templates::Identity;

use fastly::Response;
use fastly::http::{StatusCode, header};
use time::OffsetDateTime;

use self::headers::{html_response, security_headers};
use self::templates::{
    JoinAs, Live, account_page, chat_page, invite_page, join_page, message_page,
    misconfigured_page, not_found_page, sign_in_page,
};
use crate::config::Config;
use crate::model::{Nickname, RoomId};
use crate::store::Rooms;
use crate::timing::KvMeter;

/// The room `/?user=x` joins, and the join form's default.
pub const DEFAULT_ROOM: &str = "lobby";
/// Messages rendered into a chat page; older ones load on demand.
pub const HISTORY: u64 = 50;

/// `/` in open mode: the join form, or with `?user=` (the Django demo's links) a
/// redirect into the room (`?room=`, default `lobby`). The form submits here, so joining
/// works without JavaScript too.
pub fn join(query: &[(String, String)], config: &Config) -> Response {
    let frame_ancestors = config.frame_ancestors();
    let field = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim());
    let user = field("user");
    let room = field("room").filter(|r| !r.is_empty());
    let Some(user) = user else {
        let page = join_page(JoinAs::Nickname(None), room, None);
        return html_response(StatusCode::OK, page, &frame_ancestors);
    };
    let problem = Nickname::parse(Some(user))
        .err()
        .or_else(|| room.and_then(|r| RoomId::parse(r).err()))
        .map(|e| e.message);
    if let Some(problem) = problem {
        let page = join_page(JoinAs::Nickname(Some(user)), room, Some(&problem));
        return html_response(StatusCode::BAD_REQUEST, page, &frame_ancestors);
    }
    let room = room.unwrap_or(DEFAULT_ROOM);
    let location = format!("/{room}?user={}", urlencoding::encode(user));
    security_headers(Response::from_status(StatusCode::FOUND), &frame_ancestors)
        .with_header(header::LOCATION, location)
        .with_header(header::CACHE_CONTROL, "no-store")
}

/// `/` in passkey mode for someone signed in: pick a room (`?room=` goes straight there).
pub fn pick_room(name: &str, query: &[(String, String)], config: &Config) -> Response {
    let frame_ancestors = config.frame_ancestors();
    let room = query
        .iter()
        .find(|(k, _)| k == "room")
        .map(|(_, v)| v.trim())
        .filter(|r| !r.is_empty());
    match room.map(RoomId::parse) {
        Some(Ok(room)) => redirect(&format!("/{room}"), config),
        Some(Err(e)) => {
            let page = join_page(JoinAs::SignedIn(name), room, Some(&e.message));
            html_response(StatusCode::BAD_REQUEST, page, &frame_ancestors)
        }
        None => html_response(
            StatusCode::OK,
            join_page(JoinAs::SignedIn(name), None, None),
            &frame_ancestors,
        ),
    }
}

/// `/` in passkey mode for someone not signed in: create an account or sign in, then go
/// on to `next` (a path on this site; anything else is ignored).
pub fn sign_in(next: Option<&str>, config: &Config) -> Response {
    let next = next.and_then(safe_next).unwrap_or("/");
    html_response(
        StatusCode::OK,
        sign_in_page(next),
        &config.frame_ancestors(),
    )
}

/// `/account`: your passkeys and API keys.
pub fn account(name: &str, account_id: &str, config: &Config) -> Response {
    html_response(
        StatusCode::OK,
        account_page(name, account_id),
        &config.frame_ancestors(),
    )
}

/// `GET /invites/{token}`: the room's title if the token works (a page offering to join
/// it, or to sign in first), else a 404 saying the link no longer works.
pub fn invite(title: Option<&str>, token: &str, signed_in: bool, config: &Config) -> Response {
    let frame_ancestors = config.frame_ancestors();
    match title {
        Some(title) => html_response(
            StatusCode::OK,
            invite_page(title, token, signed_in),
            &frame_ancestors,
        ),
        None => {
            let page = message_page(
                "This invite link no longer works",
                "It has expired, or was revoked by the room's owner, or is not a link this \
                 chat made. Ask the owner for a new one.",
            );
            html_response(StatusCode::NOT_FOUND, page, &frame_ancestors)
        }
    }
}

/// 303 to the sign-in page, coming back to `path` afterwards.
pub fn to_sign_in(path: &str, config: &Config) -> Response {
    redirect(&format!("/?next={}", urlencoding::encode(path)), config)
}

fn redirect(location: &str, config: &Config) -> Response {
    security_headers(
        Response::from_status(StatusCode::SEE_OTHER),
        &config.frame_ancestors(),
    )
    .with_header(header::LOCATION, location)
    .with_header(header::CACHE_CONTROL, "no-store")
}

/// A `next` worth following: a path on this site (`/…`), never another site (`//host`,
/// `/\host`, `https://…`) and nothing a header or page could trip over.
pub fn safe_next(next: &str) -> Option<&str> {
    let on_this_site = next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\");
    let plain = next.len() <= 512 && !next.chars().any(|c| c.is_control() || c == '\\');
    (on_this_site && plain).then_some(next)
}

/// `/{room}`: the newest messages, rendered in, for `identity`, without the messages of
/// anyone in `hidden` (whom the reader blocked).
pub fn chat(
    room: &RoomId,
    identity: Identity,
    hidden: &[String],
    config: &Config,
    meter: &KvMeter,
) -> Response {
    let frame_ancestors = config.frame_ancestors();
    let latest = Rooms::open(meter, config.retention()).and_then(|r| r.latest(room, None, HISTORY));
    let (newest, mut messages) = match latest {
        Ok(found) => found,
        Err(e) => {
            let page = message_page("Try again in a moment", &e.to_string());
            return html_response(StatusCode::SERVICE_UNAVAILABLE, page, &frame_ancestors)
                .with_header(header::RETRY_AFTER, "1");
        }
    };
    messages.retain(|m| !hidden.contains(&m.from));
    let identity = match identity {
        Identity::Nickname(user) => Identity::Nickname(
            user.map(str::trim)
                .filter(|u| Nickname::parse(Some(u)).is_ok()),
        ),
        signed_in => signed_in,
    };
    let live = Live {
        newest,
        keep_alive_secs: config.keep_alive_secs(),
        heartbeat_secs: config.presence_heartbeat_secs(),
        edit_secs: config.edit_window().as_secs(),
    };
    let page = chat_page(room, live, &messages, identity, OffsetDateTime::now_utc());
    html_response(StatusCode::OK, page, &frame_ancestors)
}

/// A friendly 404 naming the path that was asked for.
pub fn not_found(path: &str, config: &Config) -> Response {
    html_response(
        StatusCode::NOT_FOUND,
        not_found_page(path),
        &config.frame_ancestors(),
    )
}

/// The 503 of a deployment left with placeholders (`http::deployment`): what to fix.
pub fn misconfigured(problems: &[String], config: &Config) -> Response {
    html_response(
        StatusCode::SERVICE_UNAVAILABLE,
        misconfigured_page(problems),
        &config.frame_ancestors(),
    )
}

/// Pages are only read.
pub fn method_not_allowed(config: &Config) -> Response {
    html_response(
        StatusCode::METHOD_NOT_ALLOWED,
        message_page("Method not allowed", "Pages can only be read (GET)."),
        &config.frame_ancestors(),
    )
    .with_header(header::ALLOW, "GET, HEAD")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_followed() {
        for ok in ["/", "/lobby", "/account", "/a?b=c"] {
            assert_eq!(safe_next(ok), Some(ok));
        }
        for bad in [
            "",
            "lobby",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "/a\nb",
            "/a\\b",
            &format!("/{}", "x".repeat(600)),
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }
}
