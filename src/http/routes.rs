//! The one route table: every path the service answers, API, pages and assets, and the
//! builders for the paths it hands out (links, GRIP recovery URLs).

use crate::model::RoomId;

/// Single-segment paths that are not rooms (browsers and crawlers ask for them).
const RESERVED: &[&str] = &["favicon.ico", "robots.txt"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `/rooms/{room}/messages/`: history and posts.
    Messages(&'a str),
    /// `/rooms/{room}/events/`: the live stream.
    Events(&'a str),
    /// Anything else under `/rooms/`: a JSON 404.
    ApiNotFound,
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

impl<'a> Route<'a> {
    pub fn parse(path: &'a str) -> Self {
        if let Some(rest) = path.strip_prefix("/rooms/") {
            return match rest.split_once('/') {
                Some((room, "messages/")) => Route::Messages(room),
                Some((room, "events/")) => Route::Events(room),
                _ => Route::ApiNotFound,
            };
        }
        match path {
            "/" => Route::Join,
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
        parses("/rooms/a.b/events/", Route::Events("a.b"));
        for path in [
            "/rooms/lobby/messages",
            "/rooms/lobby/messages/x",
            "/rooms/a/b/messages/",
            "/rooms/",
        ] {
            parses(path, Route::ApiNotFound);
        }
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
