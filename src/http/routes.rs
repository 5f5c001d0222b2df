//! The one route table: every path the service answers, API, pages and assets, and the
//! builders for the paths it hands out (links, GRIP recovery URLs).

use crate::live::multi;
use crate::model::{MessageId, RoomId};

/// Single-segment paths that are not rooms (browsers and crawlers ask for them).
const RESERVED: &[&str] = &["favicon.ico", "robots.txt"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `/rooms/{room}/messages/`: history, posts, and clearing the room.
    Messages(&'a str),
    /// `/rooms/{room}/messages/{id}`: deleting or editing one message.
    Message(&'a str, &'a str),
    /// `/rooms/{room}/messages/{id}/reactions/[{emoji}]`: reacting to one message.
    Reactions(&'a str, &'a str, Option<&'a str>),
    /// `/rooms/{room}/events/`: the live stream; with `next/{id}/` after it, the page of
    /// a cut backlog that starts after `id` (the links Fanout follows, see `events_page_path`).
    Events(&'a str, Option<&'a str>),
    /// `/events/?channel=a&channel=b`: one stream for several rooms; with `next/{id}/`
    /// after it, a page of its backlog after the composite id (see `live::multi`).
    MultiEvents(Option<&'a str>),
    /// `/rooms/{room}/ws`: the room over a WebSocket (Fanout's WebSocket-over-HTTP).
    Ws(&'a str),
    /// `/rooms/{room}/presence/`: heartbeats, typing and leaving.
    Presence(&'a str),
    /// `/rooms/{room}/erasure`: a clear's erasure steps and where they stand.
    Erasure(&'a str),
    /// `/rooms/`: making a private room.
    Rooms,
    /// `/rooms/{room}/members/[{name}]`: a private room's members.
    Members(&'a str, Option<&'a str>),
    /// `/dms/`: the direct-message room of two people.
    Dms,
    /// `/rooms/{room}/invites/`: a private room's invite links.
    Invites(&'a str),
    /// `/invites/{token}`: joining with an invite link.
    Invite(&'a str),
    /// `/me/rooms`: the caller's private rooms and direct messages.
    MyRooms,
    /// `/me/blocks/[{name}]`: whom the caller blocks.
    Blocks(Option<&'a str>),
    /// `/me/events/`: the caller's own stream (mentions); with `next/{id}/` after it, a
    /// page of its backlog after `id`.
    MyEvents(Option<&'a str>),
    /// `/auth/...`: passkey ceremonies, the session, passkeys and API keys.
    Auth(AuthRoute<'a>),
    /// Anything else under `/rooms/` or `/auth/`: a JSON 404.
    ApiNotFound,
    /// `/account`: your passkeys and API keys.
    Account,
    /// `/`: the join page.
    Join,
    /// `/robots.txt`
    Robots,
    /// `/static/...`: an embedded file, if it exists.
    Asset(&'a str),
    /// `/{room}`: a chat page; the room is not yet checked to be a valid id.
    Chat(&'a str),
    /// Anywhere else: a page for browsers, JSON for programs.
    NotFound,
}

/// The endpoints under `/auth/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthRoute<'a> {
    RegisterOptions,
    RegisterVerify,
    LoginOptions,
    LoginVerify,
    /// `/auth/reauth/options` and `…/verify`: a signed-in person's fresh passkey check.
    ReauthOptions,
    ReauthVerify,
    Logout,
    Me,
    PasskeyOptions,
    PasskeyVerify,
    /// `/auth/passkeys/{credential id}`
    Passkey(&'a str),
    ApiKeys,
    /// `/auth/api-keys/{key id}`
    ApiKey(&'a str),
}

impl<'a> AuthRoute<'a> {
    /// A signed-in person's passkeys and API keys (`http::api::account`); the rest are
    /// the ceremonies and the session (`http::api::auth`).
    pub fn is_account(self) -> bool {
        matches!(
            self,
            AuthRoute::PasskeyOptions
                | AuthRoute::PasskeyVerify
                | AuthRoute::Passkey(_)
                | AuthRoute::ApiKeys
                | AuthRoute::ApiKey(_)
        )
    }

    fn parse(rest: &'a str) -> Option<Self> {
        Some(match rest {
            "register/options" => AuthRoute::RegisterOptions,
            "register/verify" => AuthRoute::RegisterVerify,
            "login/options" => AuthRoute::LoginOptions,
            "login/verify" => AuthRoute::LoginVerify,
            "reauth/options" => AuthRoute::ReauthOptions,
            "reauth/verify" => AuthRoute::ReauthVerify,
            "logout" => AuthRoute::Logout,
            "me" => AuthRoute::Me,
            "passkeys/options" => AuthRoute::PasskeyOptions,
            "passkeys/verify" => AuthRoute::PasskeyVerify,
            "api-keys" => AuthRoute::ApiKeys,
            _ => {
                let (kind, id) = rest.split_once('/')?;
                if id.is_empty() || id.contains('/') {
                    return None;
                }
                match kind {
                    "passkeys" => AuthRoute::Passkey(id),
                    "api-keys" => AuthRoute::ApiKey(id),
                    _ => return None,
                }
            }
        })
    }
}

impl<'a> Route<'a> {
    pub fn parse(path: &'a str) -> Self {
        if let Some(rest) = path.strip_prefix("/auth/") {
            return AuthRoute::parse(rest).map_or(Route::ApiNotFound, Route::Auth);
        }
        match path {
            "/dms/" => return Route::Dms,
            "/me/rooms" => return Route::MyRooms,
            "/me/blocks/" => return Route::Blocks(None),
            "/me/events/" => return Route::MyEvents(None),
            _ => {}
        }
        if let Some(rest) = path.strip_prefix("/me/events/next/") {
            return match rest.strip_suffix('/') {
                Some(after) if !after.is_empty() && !after.contains('/') => {
                    Route::MyEvents(Some(after))
                }
                _ => Route::ApiNotFound,
            };
        }
        if let Some(rest) = path.strip_prefix("/me/blocks/") {
            return match rest {
                name if !name.contains('/') => Route::Blocks(Some(name)),
                _ => Route::ApiNotFound,
            };
        }
        if let Some(token) = path.strip_prefix("/invites/") {
            return match token {
                t if !t.is_empty() && !t.contains('/') => Route::Invite(t),
                _ => Route::ApiNotFound,
            };
        }
        if let Some(rest) = path.strip_prefix("/rooms/") {
            return match rest.split_once('/') {
                _ if rest.is_empty() => Route::Rooms,
                Some((room, "members/")) => Route::Members(room, None),
                Some((room, "invites/")) => Route::Invites(room),
                Some((room, tail)) if tail.starts_with("members/") => {
                    match &tail["members/".len()..] {
                        name if !name.is_empty() && !name.contains('/') => {
                            Route::Members(room, Some(name))
                        }
                        _ => Route::ApiNotFound,
                    }
                }
                Some((room, "messages/")) => Route::Messages(room),
                Some((room, "events/")) => Route::Events(room, None),
                Some((room, "ws")) => Route::Ws(room),
                Some((room, "presence/")) => Route::Presence(room),
                Some((room, "erasure")) => Route::Erasure(room),
                Some((room, tail)) if tail.starts_with("messages/") => {
                    match tail["messages/".len()..].split_once('/') {
                        None if tail.len() > "messages/".len() => {
                            Route::Message(room, &tail["messages/".len()..])
                        }
                        Some((id, rest)) if !id.is_empty() => {
                            match rest.strip_prefix("reactions/") {
                                Some("") => Route::Reactions(room, id, None),
                                Some(e) if !e.contains('/') => Route::Reactions(room, id, Some(e)),
                                _ => Route::ApiNotFound,
                            }
                        }
                        _ => Route::ApiNotFound,
                    }
                }
                Some((room, tail)) => match tail
                    .strip_prefix("events/next/")
                    .and_then(|t| t.strip_suffix('/'))
                {
                    Some(after) if !after.contains('/') => Route::Events(room, Some(after)),
                    _ => Route::ApiNotFound,
                },
                _ => Route::ApiNotFound,
            };
        }
        if let Some(rest) = path.strip_prefix("/events/") {
            return match rest.strip_prefix("next/").and_then(|t| t.strip_suffix('/')) {
                _ if rest.is_empty() => Route::MultiEvents(None),
                Some(after) if !after.is_empty() && !after.contains('/') => {
                    Route::MultiEvents(Some(after))
                }
                _ => Route::ApiNotFound,
            };
        }
        match path {
            "/" => Route::Join,
            "/account" => Route::Account,
            "/robots.txt" => Route::Robots,
            _ if path.starts_with("/static/") => Route::Asset(path),
            _ => match path.strip_prefix('/') {
                Some(segment) if !segment.contains('/') && !RESERVED.contains(&segment) => {
                    Route::Chat(segment)
                }
                _ => Route::NotFound,
            },
        }
    }
}

pub fn events_path(room: &RoomId) -> String {
    format!("/rooms/{room}/events/")
}

/// The next page of a cut backlog, after message `after`. The position is in the path,
/// not the query: Pushpin shares one fetch of a link among every stream asking for the
/// same path and `Grip-Last`, whatever their queries say, so a position in the query
/// handed each subscriber someone else's page.
pub fn events_page_path(room: &RoomId, after: u64) -> String {
    format!("/rooms/{room}/events/next/{after}/")
}

/// The next page of a multi-room stream's backlog, or its recovery link at the head:
/// the whole composite position is in the path (see `events_page_path`).
pub fn multi_page_path(positions: &[(RoomId, MessageId)]) -> String {
    format!("/events/next/{}/", multi::path_id(positions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_table_for_api_pages_and_assets() {
        fn parses(path: &str, route: Route) {
            assert_eq!(Route::parse(path), route, "{path}");
        }
        parses("/rooms/lobby/messages/", Route::Messages("lobby"));
        parses("/rooms//messages/", Route::Messages(""));
        parses("/rooms/lobby/messages/7", Route::Message("lobby", "7"));
        parses("/rooms/lobby/messages/x", Route::Message("lobby", "x"));
        parses(
            "/rooms/a/messages/7/reactions/",
            Route::Reactions("a", "7", None),
        );
        parses(
            "/rooms/a/messages/7/reactions/%F0%9F%91%8D",
            Route::Reactions("a", "7", Some("%F0%9F%91%8D")),
        );
        parses("/rooms/a.b/events/", Route::Events("a.b", None));
        parses("/rooms/a/events/next/110/", Route::Events("a", Some("110")));
        for path in [
            "/rooms/a/events/next/",
            "/rooms/a/events/next/1",
            "/rooms/a/events/next/1/2/",
        ] {
            parses(path, Route::ApiNotFound);
        }
        for path in [
            "/rooms/lobby/messages",
            "/rooms/lobby/messages/7/",
            "/rooms/lobby/messages/7/reactions",
            "/rooms/lobby/messages//reactions/",
            "/rooms/lobby/messages/7/reactions/a/b",
            "/rooms/lobby/messages/7/other/",
            "/rooms/a/b/messages/",
            "/rooms/a/members/x/",
            "/invites/",
            "/invites/a/b",
            "/me/blocks/a/b",
        ] {
            parses(path, Route::ApiNotFound);
        }
        parses("/rooms/", Route::Rooms);
        parses("/dms/", Route::Dms);
        parses("/rooms/p_x/members/", Route::Members("p_x", None));
        parses("/rooms/p_x/members/ann", Route::Members("p_x", Some("ann")));
        parses("/rooms/p_x/invites/", Route::Invites("p_x"));
        parses("/invites/t.1.0.s", Route::Invite("t.1.0.s"));
        parses("/me/rooms", Route::MyRooms);
        parses("/me/blocks/", Route::Blocks(None));
        parses("/me/blocks/bob", Route::Blocks(Some("bob")));
        parses("/me/events/", Route::MyEvents(None));
        parses("/me/events/next/7/", Route::MyEvents(Some("7")));
        parses(
            "/auth/register/options",
            Route::Auth(AuthRoute::RegisterOptions),
        );
        parses("/auth/me", Route::Auth(AuthRoute::Me));
        parses("/auth/reauth/verify", Route::Auth(AuthRoute::ReauthVerify));
        parses(
            "/auth/passkeys/abc-_",
            Route::Auth(AuthRoute::Passkey("abc-_")),
        );
        parses("/auth/api-keys/k1", Route::Auth(AuthRoute::ApiKey("k1")));
        for path in [
            "/auth/",
            "/auth/nope",
            "/auth/passkeys/",
            "/auth/passkeys/a/b",
            "/auth/me/",
        ] {
            parses(path, Route::ApiNotFound);
        }
        parses("/rooms/a/ws", Route::Ws("a"));
        parses("/rooms/a/presence/", Route::Presence("a"));
        parses("/rooms/a/erasure", Route::Erasure("a"));
        parses("/events/", Route::MultiEvents(None));
        parses(
            "/events/next/a:1%2Cb:2/",
            Route::MultiEvents(Some("a:1%2Cb:2")),
        );
        for path in [
            "/events/next/",
            "/events/x",
            "/events/next/a/b/",
            "/rooms/a/ws/",
        ] {
            parses(path, Route::ApiNotFound);
        }
        parses("/account", Route::Account);
        parses("/", Route::Join);
        parses("/robots.txt", Route::Robots);
        parses("/static/app.css", Route::Asset("/static/app.css"));
        for room in ["lobby", "a.b-c_d", "bad room", "rooms"] {
            parses(&format!("/{room}"), Route::Chat(room));
        }
        for path in ["/lobby/", "/a/b", "/favicon.ico"] {
            parses(path, Route::NotFound);
        }
    }
}
