//! The HTML pages: the join page, a room's chat page and friendly error pages.
//!
//! The chat page arrives with the room's newest messages already in it (one KV list +
//! one lookup, see `store`), so it is readable before any script runs and without
//! JavaScript at all. `static/chat.js` then opens the live stream after the id the page
//! was rendered with, so nothing is missed or shown twice between render and connect.
//!
//! Every untrusted string (nicknames, message text, the path) is escaped here, and the
//! pages carry a CSP without inline script: nothing in a message can become code.
//! The markup of a message must match what `static/lib.js` builds for live ones.

use std::fmt::Write as _;

use fastly::http::{Method, StatusCode, header};
use fastly::{Request, Response};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::api::parse_form;
use crate::assets;
use crate::config::Config;
use crate::error::ApiError;
use crate::model::{FROM_MAX, Message, MessageId, ROOM_MAX, RoomId, TEXT_MAX, parse_nickname};
use crate::store::Rooms;
use crate::timing::KvMeter;

/// The room `/?user=x` joins, and the join form's default.
pub const DEFAULT_ROOM: &str = "lobby";
/// Messages rendered into a chat page; older ones load on demand.
pub const HISTORY: u64 = 50;
/// Single-segment paths that are not rooms (browsers and crawlers ask for them).
const RESERVED: &[&str] = &["favicon.ico", "robots.txt"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page<'a> {
    /// `/`
    Join,
    /// `/robots.txt`
    Robots,
    /// `/static/...`
    Asset(&'a str),
    /// `/{room}`: not yet checked to be a valid room id.
    Chat(&'a str),
    NotFound,
}

impl<'a> Page<'a> {
    pub fn parse(path: &'a str) -> Self {
        match path {
            "/" => Page::Join,
            "/robots.txt" => Page::Robots,
            _ if path.starts_with("/static/") => Page::Asset(path),
            _ => match path.strip_prefix('/') {
                Some(segment) if !segment.contains('/') && !RESERVED.contains(&segment) => {
                    Page::Chat(segment)
                }
                _ => Page::NotFound,
            },
        }
    }
}

/// Answers every request that is not for the API (`/rooms/...`). Paths shaped like a
/// page (`/`, `/{room}`, `/static/...`) always answer HTML; others only to a client
/// that accepts it, since scripts probing the API expect its JSON errors.
pub fn serve(req: &Request, meter: &KvMeter) -> Response {
    let path = req.get_path();
    let page = Page::parse(path);
    if let Page::Asset(path) = page
        && let Some((asset, fingerprinted)) = assets::find(path)
    {
        return assets::respond(req, asset, fingerprinted);
    }
    let config = Config::open();
    let frame_ancestors = config.frame_ancestors();
    let html = |status, body: String| html_response(status, body, &frame_ancestors);
    if !matches!(*req.get_method(), Method::GET | Method::HEAD) {
        let mut resp = html(
            StatusCode::METHOD_NOT_ALLOWED,
            message_page("Method not allowed", "Pages can only be read (GET)."),
        );
        resp.set_header(header::ALLOW, "GET, HEAD");
        return resp;
    }
    match page {
        Page::Join => join(req, &frame_ancestors),
        Page::Robots => assets::respond(req, assets::get("robots.txt"), false),
        Page::Chat(raw) => match RoomId::parse(raw) {
            Ok(room) => chat(req, &room, &config, meter),
            Err(_) => html(StatusCode::NOT_FOUND, not_found_page(path)),
        },
        // Not page-shaped: a person gets a page, a program the API's JSON error.
        Page::Asset(_) | Page::NotFound if !accepts_html(req) => {
            ApiError::not_found().into_response()
        }
        Page::Asset(_) | Page::NotFound => html(StatusCode::NOT_FOUND, not_found_page(path)),
    }
}

/// Whether the client reads HTML: browsers say so in `Accept` when they navigate.
fn accepts_html(req: &Request) -> bool {
    req.get_header_str(header::ACCEPT)
        .is_some_and(|accept| accept.contains("text/html"))
}

// ------------------------------------------------------------------ handlers

/// `/`: the join form, or with `?user=` (the Django demo's links) a redirect into the
/// room (`?room=`, default `lobby`). The form submits here, so joining works without
/// JavaScript too.
fn join(req: &Request, frame_ancestors: &str) -> Response {
    let query = query_pairs(req);
    let field = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim());
    let user = field("user");
    let room = field("room").filter(|r| !r.is_empty());
    let Some(user) = user else {
        let page = join_page(None, room, None);
        return html_response(StatusCode::OK, page, frame_ancestors);
    };
    let problem = nickname_problem(user)
        .or_else(|| room.and_then(|r| RoomId::parse(r).err()).map(|e| e.message));
    if let Some(problem) = problem {
        let page = join_page(Some(user), room, Some(&problem));
        return html_response(StatusCode::BAD_REQUEST, page, frame_ancestors);
    }
    let room = room.unwrap_or(DEFAULT_ROOM);
    let location = format!("/{room}?user={}", urlencoding::encode(user));
    security_headers(Response::from_status(StatusCode::FOUND), frame_ancestors)
        .with_header(header::LOCATION, location)
        .with_header(header::CACHE_CONTROL, "no-store")
}

/// `/{room}`: the newest messages, rendered in.
fn chat(req: &Request, room: &RoomId, config: &Config, meter: &KvMeter) -> Response {
    let frame_ancestors = config.frame_ancestors();
    let latest = Rooms::open(meter, config.retention()).and_then(|r| r.latest(room, None, HISTORY));
    let (newest, messages) = match latest {
        Ok(found) => found,
        Err(e) => {
            let page = message_page("Try again in a moment", &e.message);
            return html_response(e.status, page, &frame_ancestors)
                .with_header(header::RETRY_AFTER, "1");
        }
    };
    let query = query_pairs(req);
    let user = query
        .iter()
        .find(|(k, _)| k == "user")
        .map(|(_, v)| v.trim())
        .filter(|u| nickname_problem(u).is_none());
    let live = Live {
        newest,
        keep_alive_secs: config.keep_alive_secs(),
    };
    let page = chat_page(room, live, &messages, user, OffsetDateTime::now_utc());
    html_response(StatusCode::OK, page, &frame_ancestors)
}

fn query_pairs(req: &Request) -> Vec<(String, String)> {
    req.get_query_str()
        .and_then(|q| parse_form(q.as_bytes()).ok())
        .unwrap_or_default()
}

/// Why a nickname would be refused by the message API, if it would.
fn nickname_problem(user: &str) -> Option<String> {
    parse_nickname(Some(user)).err().map(|e| e.message)
}

// ------------------------------------------------------------------ responses

/// The Content-Security-Policy of every page: scripts, styles and connections only
/// from this origin, nothing inline, embedding as the `frame_ancestors` config says.
pub fn content_security_policy(frame_ancestors: &str) -> String {
    // A config value cannot add directives or break the header.
    let frame_ancestors: String = frame_ancestors
        .chars()
        .map(|c| if c == ';' || c.is_control() { ' ' } else { c })
        .collect();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors {}",
        frame_ancestors.trim()
    )
}

fn security_headers(resp: Response, frame_ancestors: &str) -> Response {
    resp.with_header(
        header::CONTENT_SECURITY_POLICY,
        content_security_policy(frame_ancestors),
    )
    .with_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
    .with_header(header::REFERRER_POLICY, "same-origin")
    .with_header("Cross-Origin-Opener-Policy", "same-origin")
}

fn html_response(status: StatusCode, body: String, frame_ancestors: &str) -> Response {
    security_headers(Response::from_status(status), frame_ancestors)
        .with_header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .with_header(header::CACHE_CONTROL, "no-cache")
        // Fastly compresses the page on its way out (a no-op under Viceroy).
        .with_header("X-Compress-Hint", "on")
        .with_header(header::VARY, "Accept-Encoding")
        .with_body(body)
}

// ------------------------------------------------------------------ markup

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `<!doctype html>` up to and including `<body class=...>`.
fn head(title: &str, body_class: &str, script: Option<&str>) -> String {
    let mut out = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1, interactive-widget=resizes-content\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>{}</title>\n\
         <link rel=\"icon\" href=\"{}\" type=\"image/svg+xml\">\n\
         <link rel=\"stylesheet\" href=\"{}\">\n",
        escape(title),
        assets::url("icon.svg"),
        assets::url("app.css"),
    );
    if let Some(script) = script {
        // Preloading the shared module saves a round trip: chat.js imports it.
        let _ = write!(
            out,
            "<link rel=\"modulepreload\" href=\"{}\">\n<script type=\"module\" src=\"{}\"></script>\n",
            assets::url("lib.js"),
            assets::url(script)
        );
    }
    let _ = write!(out, "</head>\n<body class=\"{body_class}\">\n");
    out
}

const FOOT: &str = "</body>\n</html>\n";

fn join_page(user: Option<&str>, room: Option<&str>, problem: Option<&str>) -> String {
    let mut out = head("edge-chat", "card-page", Some("join.js"));
    let _ = write!(
        out,
        "<main class=\"card\">\n\
         <h1><img src=\"{icon}\" alt=\"\" width=\"32\" height=\"32\"> edge-chat</h1>\n\
         <p class=\"lead\">Realtime chat served entirely from the edge.</p>\n",
        icon = assets::url("icon.svg"),
    );
    if let Some(problem) = problem {
        let _ = writeln!(
            out,
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(problem)
        );
    }
    let _ = write!(
        out,
        "<form id=\"join\" method=\"get\" action=\"/\"{given}>\n\
         <label for=\"user\">Nickname</label>\n\
         <input id=\"user\" name=\"user\" value=\"{user}\" required maxlength=\"{FROM_MAX}\" \
         pattern=\".*\\S.*\" autocomplete=\"nickname\" autofocus>\n\
         <label for=\"room\">Room</label>\n\
         <input id=\"room\" name=\"room\" value=\"{room}\" required maxlength=\"{ROOM_MAX}\" \
         pattern=\"[A-Za-z0-9._\\-]+\" autocapitalize=\"none\" autocomplete=\"off\" spellcheck=\"false\" \
         aria-describedby=\"room-hint\">\n\
         <p id=\"room-hint\" class=\"hint\">Letters, digits, <code>-</code>, <code>_</code> and \
         <code>.</code>; up to {ROOM_MAX}. Anyone who knows the name can join.</p>\n\
         <button type=\"submit\">Join</button>\n\
         </form>\n</main>\n",
        given = if room.is_some() {
            " data-room-given=\"1\""
        } else {
            ""
        },
        user = escape(user.unwrap_or_default()),
        room = escape(room.unwrap_or(DEFAULT_ROOM)),
    );
    out.push_str(FOOT);
    out
}

/// What the chat page's script needs to go live.
#[derive(Debug, Clone, Copy)]
struct Live {
    /// The id of the room's newest message: the stream resumes after it.
    newest: MessageId,
    /// How often Fanout sends keep-alives, so the page can tell a dead connection.
    keep_alive_secs: u32,
}

fn chat_page(
    room: &RoomId,
    live: Live,
    messages: &[Message],
    user: Option<&str>,
    now: OffsetDateTime,
) -> String {
    // Room ids are only [A-Za-z0-9._-]: safe in HTML and URLs as they are.
    let mut out = head(
        &format!("#{room} · edge-chat"),
        "chat-page",
        Some("chat.js"),
    );
    let hidden = |hide: bool| if hide { " hidden" } else { "" };
    let has_older = messages.first().is_some_and(|m| m.id > 1);
    let _ = write!(
        out,
        "<header class=\"bar\">\n\
         <a class=\"home\" href=\"/\"><img src=\"{icon}\" alt=\"edge-chat: join another room\" width=\"28\" height=\"28\"></a>\n\
         <h1>#{room}</h1>\n\
         <p id=\"who\" class=\"who\"{who_hidden}>You are <strong id=\"me\">{me}</strong> \
         <button type=\"button\" id=\"rename\" class=\"link\">change</button></p>\n\
         <p id=\"status\" class=\"status\" role=\"status\" data-state=\"static\">Live updates need JavaScript</p>\n\
         </header>\n\
         <main id=\"chat\" data-room=\"{room}\" data-last-event-id=\"{newest}\" \
         data-keep-alive=\"{keep_alive}\">\n\
         <div id=\"scroller\" class=\"scroller\" tabindex=\"0\" role=\"region\" aria-label=\"Messages in #{room}\">\n\
         <button type=\"button\" id=\"older\" class=\"older quiet\"{older_hidden}>Load older messages</button>\n\
         <p id=\"empty\" class=\"empty\"{empty_hidden}>No messages yet. Say hello!</p>\n\
         <ol id=\"log\" class=\"log\">\n",
        icon = assets::url("icon.svg"),
        newest = live.newest,
        keep_alive = live.keep_alive_secs,
        who_hidden = hidden(user.is_none()),
        me = escape(user.unwrap_or_default()),
        older_hidden = hidden(!has_older),
        empty_hidden = hidden(!messages.is_empty()),
    );
    for m in messages {
        message_html(&mut out, m, user, now);
    }
    let _ = write!(
        out,
        "</ol>\n</div>\n\
         <button type=\"button\" id=\"jump\" class=\"jump\" hidden>New messages ↓</button>\n\
         <div id=\"announce\" class=\"sr-only\" aria-live=\"polite\" aria-atomic=\"true\"></div>\n\
         </main>\n\
         <footer class=\"dock\">\n\
         <form id=\"nick-form\" method=\"get\" action=\"/{room}\"{nick_hidden}>\n\
         <label for=\"nick\">Choose a nickname to start chatting</label>\n\
         <div class=\"row\"><input id=\"nick\" name=\"user\" required maxlength=\"{FROM_MAX}\" autocomplete=\"nickname\">\
         <button type=\"submit\">Start</button></div>\n\
         </form>\n\
         <form id=\"composer\" class=\"composer\"{composer_hidden}>\n\
         <fieldset id=\"composer-fields\" disabled>\n\
         <label for=\"text\" class=\"sr-only\">Message</label>\n\
         <textarea id=\"text\" name=\"text\" rows=\"1\" placeholder=\"Message #{room}\" \
         aria-describedby=\"count send-error\" enterkeyhint=\"send\"></textarea>\n\
         <button type=\"submit\" id=\"send\">Send</button>\n\
         </fieldset>\n\
         <p class=\"hint\"><span id=\"send-error\" class=\"error\" role=\"alert\"></span>\
         <span id=\"count\">0 / {TEXT_MAX}</span></p>\n\
         <noscript><p class=\"hint\">Sending messages needs JavaScript.</p></noscript>\n\
         </form>\n\
         </footer>\n",
        nick_hidden = hidden(user.is_some()),
        composer_hidden = hidden(user.is_none()),
    );
    out.push_str(FOOT);
    out
}

/// One message, as `messageElement` in static/lib.js builds it.
fn message_html(out: &mut String, m: &Message, me: Option<&str>, now: OffsetDateTime) {
    let own = me == Some(m.from.as_str());
    let date = OffsetDateTime::parse(&m.date, &Rfc3339).ok();
    let _ = write!(
        out,
        "<li class=\"msg{own}\" data-id=\"{id}\" data-from=\"{from}\"><div class=\"meta\">\
         <span class=\"from\">{from}</span> <time datetime=\"{datetime}\" title=\"{title}\">{ago}</time>\
         </div><p class=\"text\">",
        own = if own { " own" } else { "" },
        id = m.id,
        from = escape(&m.from),
        datetime = escape(&m.date),
        title = escape(&date.map_or_else(|| m.date.clone(), full_date)),
        ago = escape(&date.map_or_else(|| m.date.clone(), |d| ago(d, now))),
    );
    for (is_link, span) in link_spans(&m.text) {
        if is_link {
            let url = escape(span);
            let _ = write!(
                out,
                "<a href=\"{url}\" rel=\"noopener noreferrer\" target=\"_blank\">{url}</a>"
            );
        } else {
            out.push_str(&escape(span));
        }
    }
    out.push_str("</p></li>\n");
}

fn not_found_page(path: &str) -> String {
    let mut out = head("Not found · edge-chat", "card-page", None);
    let _ = write!(
        out,
        "<main class=\"card\">\n<h1>Nothing here</h1>\n\
         <p>There is no page at <code>{}</code>.</p>\n\
         <p>A room's address is <code>/</code> followed by its name: up to {ROOM_MAX} \
         letters, digits, dashes, underscores and dots.</p>\n\
         <p><a href=\"/\">Join a room</a></p>\n</main>\n",
        escape(&truncate(path, 200)),
    );
    out.push_str(FOOT);
    out
}

fn message_page(title: &str, text: &str) -> String {
    let mut out = head(&format!("{title} · edge-chat"), "card-page", None);
    let _ = write!(
        out,
        "<main class=\"card\">\n<h1>{}</h1>\n<p>{}</p>\n<p><a href=\"/\">Back to the start</a></p>\n</main>\n",
        escape(title),
        escape(text),
    );
    out.push_str(FOOT);
    out
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

// ------------------------------------------------------------------ text

/// "just now", "5 min ago", "3 h ago", "2 d ago", then the date: as `ago` in
/// static/lib.js, which takes over once the page's script runs.
pub fn ago(date: OffsetDateTime, now: OffsetDateTime) -> String {
    let secs = (now - date).whole_seconds().max(0);
    match secs {
        0..45 => "just now".into(),
        45..3600 => format!("{} min ago", (secs / 60).max(1)),
        3600..86400 => format!("{} h ago", secs / 3600),
        86400..604800 => format!("{} d ago", secs / 86400),
        _ => date
            .format(format_description!(
                "[day padding:none] [month repr:short] [year]"
            ))
            .unwrap_or_default(),
    }
}

/// The hover title: `2026-11-22 12:53:29 UTC`.
fn full_date(date: OffsetDateTime) -> String {
    date.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
        ))
        .unwrap_or_default()
}

/// `text` cut into plain and link spans: `(true, url)` for each `http(s)://` URL. The
/// rules are `linkify` in static/lib.js: a URL runs to whitespace, `<`, `>` or `"`, and
/// drops trailing `.,:;!?'*` and unbalanced `)` or `]`.
pub fn link_spans(text: &str) -> Vec<(bool, &str)> {
    // ASCII lowercasing keeps byte offsets, so positions found in `lower` index `text`.
    let lower = text.to_ascii_lowercase();
    let mut spans = Vec::new();
    let (mut done, mut search) = (0, 0);
    while let Some(found) = lower[search..].find("http") {
        let start = search + found;
        let rest = &lower[start..];
        let scheme = if rest.starts_with("https://") {
            8
        } else if rest.starts_with("http://") {
            7
        } else {
            search = start + 4;
            continue;
        };
        let end = text[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
            .map_or(text.len(), |n| start + n);
        if end == start + scheme {
            search = start + 4;
            continue;
        }
        let url = trim_url(&text[start..end]);
        if url.len() > scheme {
            if start > done {
                spans.push((false, &text[done..start]));
            }
            spans.push((true, url));
            done = start + url.len();
        }
        search = end;
    }
    if done < text.len() {
        spans.push((false, &text[done..]));
    }
    spans
}

fn trim_url(mut url: &str) -> &str {
    while let Some(last) = url.chars().last() {
        let unbalanced = |open: char, close: char| {
            last == close && url.matches(open).count() < url.matches(close).count()
        };
        if ".,:;!?'*".contains(last) || unbalanced('(', ')') || unbalanced('[', ']') {
            url = &url[..url.len() - last.len_utf8()];
        } else {
            break;
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn paths() {
        assert_eq!(Page::parse("/"), Page::Join);
        assert_eq!(Page::parse("/lobby"), Page::Chat("lobby"));
        assert_eq!(Page::parse("/a.b-c_d"), Page::Chat("a.b-c_d"));
        assert_eq!(Page::parse("/bad room"), Page::Chat("bad room"));
        assert_eq!(Page::parse("/lobby/"), Page::NotFound);
        assert_eq!(Page::parse("/a/b"), Page::NotFound);
        assert_eq!(Page::parse("/favicon.ico"), Page::NotFound);
        assert_eq!(Page::parse("/robots.txt"), Page::Robots);
        assert_eq!(
            Page::parse("/static/app.css"),
            Page::Asset("/static/app.css")
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape("<img src=x onerror=\"a('b')\"> & co"),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt; &amp; co"
        );
    }

    fn links(text: &str) -> Vec<(bool, &str)> {
        link_spans(text)
    }

    #[test]
    fn linking() {
        assert_eq!(links("no links"), vec![(false, "no links")]);
        assert_eq!(links(""), vec![]);
        assert_eq!(
            links("see https://example.com/a?b=1&c=2."),
            vec![
                (false, "see "),
                (true, "https://example.com/a?b=1&c=2"),
                (false, ".")
            ]
        );
        assert_eq!(
            links("(http://x.org/wiki/A_(b)) and HTTPS://Y.io!"),
            vec![
                (false, "("),
                (true, "http://x.org/wiki/A_(b)"),
                (false, ") and "),
                (true, "HTTPS://Y.io"),
                (false, "!")
            ]
        );
        assert_eq!(
            links("<a href=\"https://e.com\">x</a>"),
            vec![
                (false, "<a href=\""),
                (true, "https://e.com"),
                (false, "\">x</a>")
            ]
        );
        assert_eq!(
            links("https:// http://. httpx"),
            vec![(false, "https:// http://. httpx")]
        );
        assert_eq!(
            links("javascript:alert(1) ftp://x"),
            vec![(false, "javascript:alert(1) ftp://x")]
        );
        assert_eq!(
            links("https://a.b\nhttps://c.d"),
            vec![(true, "https://a.b"), (false, "\n"), (true, "https://c.d")]
        );
        assert_eq!(
            links("ünï https://é.com/ö"),
            vec![(false, "ünï "), (true, "https://é.com/ö")]
        );
    }

    #[test]
    fn relative_times() {
        let now = datetime!(2026-11-22 12:00:00 UTC);
        let at = |secs: i64| ago(now - time::Duration::seconds(secs), now);
        assert_eq!(at(-30), "just now");
        assert_eq!(at(44), "just now");
        assert_eq!(at(45), "1 min ago");
        assert_eq!(at(150), "2 min ago");
        assert_eq!(at(3600), "1 h ago");
        assert_eq!(at(86399), "23 h ago");
        assert_eq!(at(86400 * 3), "3 d ago");
        assert_eq!(at(86400 * 30), "23 Oct 2026");
        assert_eq!(
            full_date(datetime!(2026-11-22 12:53:29.519 +1)),
            "2026-11-22 11:53:29 UTC"
        );
    }

    fn message(id: MessageId, from: &str, text: &str) -> Message {
        Message {
            id,
            from: from.into(),
            date: "2026-11-22T11:58:00.000Z".into(),
            text: text.into(),
        }
    }

    #[test]
    fn message_markup() {
        let mut out = String::new();
        let now = datetime!(2026-11-22 12:00:00 UTC);
        message_html(
            &mut out,
            &message(7, "<ann>", "<b>hi</b> https://e.com/?a=1&b=\"2\""),
            Some("<ann>"),
            now,
        );
        assert_eq!(
            out,
            "<li class=\"msg own\" data-id=\"7\" data-from=\"&lt;ann&gt;\"><div class=\"meta\">\
             <span class=\"from\">&lt;ann&gt;</span> <time datetime=\"2026-11-22T11:58:00.000Z\" \
             title=\"2026-11-22 11:58:00 UTC\">2 min ago</time></div><p class=\"text\">&lt;b&gt;hi&lt;/b&gt; \
             <a href=\"https://e.com/?a=1&amp;b=\" rel=\"noopener noreferrer\" target=\"_blank\">\
             https://e.com/?a=1&amp;b=</a>&quot;2&quot;</p></li>\n"
        );
    }

    #[test]
    fn chat_markup() {
        let room = RoomId::parse("lobby").unwrap();
        let now = datetime!(2026-11-22 12:00:00 UTC);
        let live = |newest| Live {
            newest,
            keep_alive_secs: 20,
        };
        let html = chat_page(&room, live(0), &[], None, now);
        assert!(html.contains("data-last-event-id=\"0\" data-keep-alive=\"20\""));
        assert!(html.contains("id=\"older\" class=\"older quiet\" hidden"));
        assert!(html.contains("<p id=\"empty\" class=\"empty\">"));
        assert!(html.contains("<form id=\"nick-form\" method=\"get\" action=\"/lobby\">"));
        assert!(html.contains("<form id=\"composer\" class=\"composer\" hidden>"));
        assert!(!html.contains("<script>"), "no inline script");
        let msgs = [message(2, "a", "x"), message(3, "b", "y")];
        let html = chat_page(&room, live(3), &msgs, Some("b"), now);
        assert!(html.contains("data-last-event-id=\"3\""));
        assert!(html.contains("id=\"older\" class=\"older quiet\">"));
        assert!(html.find("data-id=\"2\"").unwrap() < html.find("data-id=\"3\"").unwrap());
        assert!(html.contains("class=\"msg own\" data-id=\"3\""));
        assert!(html.contains("<form id=\"composer\" class=\"composer\">"));
        assert!(html.contains("You are <strong id=\"me\">b</strong>"));
    }

    #[test]
    fn pages_name_embedded_assets() {
        // assets::url panics on a missing file: render every page once.
        let now = datetime!(2026-11-22 12:00:00 UTC);
        join_page(Some("a\"b"), Some("r"), Some("<oops>"));
        let live = Live {
            newest: 0,
            keep_alive_secs: 20,
        };
        chat_page(&RoomId::parse("r").unwrap(), live, &[], None, now);
        not_found_page("/<x>");
        message_page("t", "m");
        assets::get("robots.txt");
    }

    #[test]
    fn csp() {
        assert_eq!(
            content_security_policy("'self' https://a.example; script-src *"),
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'self' https://a.example  script-src *"
        );
        assert_eq!(nickname_problem("ann"), None);
        assert!(nickname_problem(&"x".repeat(65)).is_some());
        assert!(nickname_problem("a\u{7}").is_some());
    }
}
