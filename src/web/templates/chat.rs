//! A room's chat page.

use std::fmt::Write as _;

use time::OffsetDateTime;

use super::{FOOT, head};
use crate::model::membership::DM_PREFIX;
use crate::model::{FROM_MAX, Message, MessageId, RoomId, TEXT_MAX, parse_date};
use crate::web::text::{ago, escape, full_date, link_spans};
use crate::web::{HISTORY, assets};

/// Who is here, your rooms and the transport picker: filled in and shown by the
/// page's scripts (static/presence.js, roomlist.js, live.js), so hidden without them.
/// Who is here is a count opening the list on demand (a popover), so that a room of any
/// size keeps one line of the header.
const LIVE_BAR: &str = "<div id=\"presence\" class=\"presence\" hidden><button type=\"button\" id=\"here-count\" \
class=\"here\" popovertarget=\"here-list\" aria-expanded=\"false\"></button>\
<ul id=\"here-list\" class=\"people\" popover aria-label=\"Who is here\"></ul> \
<span id=\"presence-note\" class=\"note\" aria-live=\"polite\"></span></div>\n\
<nav id=\"rooms\" class=\"rooms\" aria-label=\"Your rooms\" hidden><ul id=\"room-list\"></ul></nav>\n\
<label class=\"transport\" hidden>Live via <select id=\"transport\"><option value=\"sse\">SSE</option>\
<option value=\"ws\">WebSocket</option><option value=\"poll\">long-poll</option></select></label>\n";

/// What the chat page's script needs to go live, and to offer moderation.
#[derive(Debug, Clone, Copy)]
pub struct Live {
    /// The id of the room's newest message: the stream resumes after it.
    pub newest: MessageId,
    /// How often Fanout sends keep-alives, so the page can tell a dead connection.
    pub keep_alive_secs: u32,
    /// How often the page says it is here (`presence_heartbeat_secs`).
    pub heartbeat_secs: u64,
    /// How long after posting its author may edit a message (passkey mode only).
    pub edit_secs: u64,
}

/// Who is reading the page.
#[derive(Debug, Clone, Copy)]
pub enum Identity<'a> {
    /// Open mode: the nickname a `?user=` link brought, if any (the page asks otherwise).
    Nickname(Option<&'a str>),
    /// Passkey mode: the signed-in name, which is who every message sent is from.
    SignedIn(&'a str),
    /// Passkey mode, signed in as one of config `admins`: the page offers to delete any
    /// message and to clear the room.
    Admin(&'a str),
}

pub fn chat_page(
    room: &RoomId,
    live: Live,
    messages: &[Message],
    identity: Identity,
    now: OffsetDateTime,
) -> String {
    let (user, who) = match identity {
        Identity::Nickname(user) => (
            user,
            "You are <strong id=\"me\">{me}</strong> \
             <button type=\"button\" id=\"rename\" class=\"link\">change</button>",
        ),
        Identity::SignedIn(name) | Identity::Admin(name) => (
            Some(name),
            "Signed in as <strong id=\"me\">{me}</strong> · <a href=\"/account\">account</a> · \
             <button type=\"button\" id=\"sign-out\" class=\"link\">sign out</button>",
        ),
    };
    // Passkey mode: authors delete and edit their own messages, admins delete any and
    // clear the room (the script adds the controls). Open mode has no authors, and its
    // only admins are scripts holding the admin key: no controls at all.
    let auth = match identity {
        Identity::Nickname(_) => String::new(),
        Identity::SignedIn(_) | Identity::Admin(_) => format!(
            " data-auth=\"passkey\" data-edit-secs=\"{}\"{}",
            live.edit_secs,
            if matches!(identity, Identity::Admin(_)) {
                " data-admin"
            } else {
                ""
            }
        ),
    };
    // A private room (passkey mode only) is named by its title, which its script fills
    // in from `GET /me/rooms` (the page costs no lookup for it); its id means nothing.
    let dm = room.to_string().starts_with(DM_PREFIX);
    let (shown, private) = match (room.is_private(), dm) {
        (false, _) => (format!("#{room}"), ""),
        (true, false) => ("Private room".to_owned(), " data-private=\"room\""),
        (true, true) => ("Direct message".to_owned(), " data-private=\"dm\""),
    };
    // Room ids are only [A-Za-z0-9._-]: safe in HTML and URLs as they are.
    let mut out = head(
        &format!("{shown} · edge-chat"),
        "chat-page",
        Some("chat.js"),
    );
    let hidden = |hide: bool| if hide { " hidden" } else { "" };
    // The page covers the newest HISTORY ids, messages or not (deleted messages and
    // moderation events take ids too): "load older" goes on from the first of them.
    let covered_from = live.newest.saturating_sub(HISTORY - 1).max(1);
    let has_older = covered_from > 1;
    let _ = write!(
        out,
        "<header class=\"bar\">\n\
         <a class=\"home\" href=\"/\"><img src=\"{icon}\" alt=\"edge-chat: join another room\" width=\"28\" height=\"28\"></a>\n\
         <h1>{shown}</h1>\n\
         <p id=\"who\" class=\"who\"{who_hidden}>{who}</p>\n\
         <p id=\"status\" class=\"status\" role=\"status\" data-state=\"static\">Live updates need JavaScript</p>\n\
         {live_bar}\
         </header>\n\
         <main id=\"chat\" data-room=\"{room}\" data-last-event-id=\"{newest}\" \
         data-keep-alive=\"{keep_alive}\" data-heartbeat=\"{heartbeat}\"{auth}{private}>\n\
         <div id=\"scroller\" class=\"scroller\" tabindex=\"0\" role=\"region\" aria-label=\"Messages in {shown}\">\n\
         <button type=\"button\" id=\"older\" class=\"older quiet\" data-before=\"{covered_from}\"{older_hidden}>Load older messages</button>\n\
         <p id=\"empty\" class=\"empty\"{empty_hidden}>No messages yet. Say hello!</p>\n\
         <ol id=\"log\" class=\"log\">\n",
        icon = assets::url("icon.svg"),
        newest = live.newest,
        keep_alive = live.keep_alive_secs,
        heartbeat = live.heartbeat_secs,
        live_bar = LIVE_BAR,
        who_hidden = hidden(user.is_none()),
        who = who.replace("{me}", &escape(user.unwrap_or_default())),
        older_hidden = hidden(!has_older),
        empty_hidden = hidden(!messages.is_empty() || has_older),
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
         <p id=\"typing\" class=\"typing\" aria-live=\"polite\"></p>\n\
         <form id=\"nick-form\" method=\"get\" action=\"/{room}\"{nick_hidden}>\n\
         <label for=\"nick\">Choose a nickname to start chatting</label>\n\
         <div class=\"row\"><input id=\"nick\" name=\"user\" required maxlength=\"{FROM_MAX}\" autocomplete=\"nickname\">\
         <button type=\"submit\">Start</button></div>\n\
         </form>\n\
         <form id=\"composer\" class=\"composer\"{composer_hidden}>\n\
         <fieldset id=\"composer-fields\" disabled>\n\
         <label for=\"text\" class=\"sr-only\">Message</label>\n\
         <textarea id=\"text\" name=\"text\" rows=\"1\" placeholder=\"Message {shown}\" \
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
    let date = parse_date(&m.date);
    let _ = write!(
        out,
        "<li class=\"msg{own}\" data-id=\"{id}\" data-from=\"{from}\"><div class=\"meta\">\
         <span class=\"from\">{from}</span> <time datetime=\"{datetime}\" title=\"{title}\">{ago}</time>",
        own = if own { " own" } else { "" },
        id = m.id,
        from = escape(&m.from),
        datetime = escape(&m.date),
        title = escape(&date.map_or_else(|| m.date.clone(), full_date)),
        ago = escape(&date.map_or_else(|| m.date.clone(), |d| ago(d, now))),
    );
    if let Some(edited) = &m.edited {
        let when = parse_date(edited).map_or_else(|| edited.clone(), full_date);
        let _ = write!(
            out,
            " <span class=\"edited\" title=\"Edited {}\">edited</span>",
            escape(&when)
        );
    }
    out.push_str("</div><div class=\"text\">");
    for (is_link, span) in link_spans(&m.text) {
        if is_link {
            let url = escape(span);
            let _ = write!(
                out,
                "<a href=\"{url}\" rel=\"noopener noreferrer nofollow\" target=\"_blank\">{url}</a>"
            );
        } else {
            out.push_str(&escape(span));
        }
    }
    out.push_str("</div></li>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn message(id: MessageId, from: &str, text: &str) -> Message {
        Message {
            id,
            from: from.into(),
            date: "2026-11-22T11:58:00.000Z".into(),
            text: text.into(),
            edited: None,
            mentions: Vec::new(),
            reply_to: None,
            reactions: Vec::new(),
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
             title=\"2026-11-22 11:58:00 UTC\">2 min ago</time></div><div class=\"text\">&lt;b&gt;hi&lt;/b&gt; \
             <a href=\"https://e.com/?a=1&amp;b=\" rel=\"noopener noreferrer nofollow\" target=\"_blank\">\
             https://e.com/?a=1&amp;b=</a>&quot;2&quot;</div></li>\n"
        );
    }

    #[test]
    fn chat_markup() {
        let room = RoomId::parse("lobby").unwrap();
        let now = datetime!(2026-11-22 12:00:00 UTC);
        let live = |newest| Live {
            newest,
            keep_alive_secs: 20,
            heartbeat_secs: 30,
            edit_secs: 900,
        };
        let html = chat_page(&room, live(0), &[], Identity::Nickname(None), now);
        assert!(html.contains("data-last-event-id=\"0\" data-keep-alive=\"20\""));
        assert!(html.contains("id=\"older\" class=\"older quiet\" data-before=\"1\" hidden"));
        assert!(html.contains("<p id=\"empty\" class=\"empty\">"));
        assert!(html.contains("<form id=\"nick-form\" method=\"get\" action=\"/lobby\">"));
        assert!(html.contains("<form id=\"composer\" class=\"composer\" hidden>"));
        assert!(!html.contains("<script>"), "no inline script");
        let msgs = [message(2, "a", "x"), message(3, "b", "y")];
        let html = chat_page(&room, live(3), &msgs, Identity::Nickname(Some("b")), now);
        assert!(html.contains("data-last-event-id=\"3\""));
        // Ids 1 ..= 3 are all on the page: message 1 is deleted, not older.
        assert!(html.contains("id=\"older\" class=\"older quiet\" data-before=\"1\" hidden>"));
        assert!(html.find("data-id=\"2\"").unwrap() < html.find("data-id=\"3\"").unwrap());
        assert!(html.contains("class=\"msg own\" data-id=\"3\""));
        assert!(html.contains("<form id=\"composer\" class=\"composer\">"));
        assert!(html.contains("You are <strong id=\"me\">b</strong>"));
        assert!(!html.contains("data-auth") && !html.contains("data-admin"));
        let html = chat_page(&room, live(60), &[], Identity::Nickname(Some("b")), now);
        // Ids 11 ..= 60 hold no message (all deleted): older ones may still be there.
        assert!(html.contains("id=\"older\" class=\"older quiet\" data-before=\"11\">"));
        assert!(html.contains("<p id=\"empty\" class=\"empty\" hidden>"));
        let html = chat_page(&room, live(3), &msgs, Identity::SignedIn("b"), now);
        assert!(html.contains(" data-auth=\"passkey\" data-edit-secs=\"900\">"));
        let html = chat_page(&room, live(3), &msgs, Identity::Admin("b"), now);
        assert!(html.contains(" data-auth=\"passkey\" data-edit-secs=\"900\" data-admin>"));
        assert!(html.contains("Signed in as <strong id=\"me\">b</strong>"));
        assert!(!html.contains("data-private"));
        // A private room is named by its title, which the script fills in: not by its id.
        let private = RoomId::parse("p_aaaaaaaaaaaaaaaaaaaa").unwrap();
        let html = chat_page(&private, live(3), &msgs, Identity::SignedIn("b"), now);
        assert!(html.contains(" data-edit-secs=\"900\" data-private=\"room\">"));
        assert!(html.contains("<h1>Private room</h1>") && !html.contains("#p_"));
        let dm = RoomId::parse("dm_aaaaaaaaaaaaaaaaaaaa").unwrap();
        let html = chat_page(&dm, live(3), &msgs, Identity::SignedIn("b"), now);
        assert!(html.contains(" data-private=\"dm\">") && html.contains("<h1>Direct message</h1>"));
    }

    #[test]
    fn edited_messages_say_so() {
        let mut out = String::new();
        let now = datetime!(2026-11-22 12:00:00 UTC);
        let edited = Message {
            edited: Some("2026-11-22T11:59:30.000Z".into()),
            ..message(8, "ann", "fixed")
        };
        message_html(&mut out, &edited, None, now);
        assert_eq!(
            out,
            "<li class=\"msg\" data-id=\"8\" data-from=\"ann\"><div class=\"meta\">\
             <span class=\"from\">ann</span> <time datetime=\"2026-11-22T11:58:00.000Z\" \
             title=\"2026-11-22 11:58:00 UTC\">2 min ago</time> <span class=\"edited\" \
             title=\"Edited 2026-11-22 11:59:30 UTC\">edited</span></div><div class=\"text\">fixed</div></li>\n"
        );
    }
}
