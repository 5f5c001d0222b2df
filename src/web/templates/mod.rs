//! The pages' markup, written by hand: every untrusted string goes through
//! `text::escape` on its way in, and the markup of a message matches what
//! `messageElement` in `static/lib.js` builds for live ones.
//!
//! A template crate (maud, askama) was considered: the output would differ in
//! whitespace from what the unit tests and lib.js pin down, for no gain in safety here,
//! where escaping already happens in one function.
//!
//! * `chat`: a room's page.
//! * `join`: the join page, and in passkey mode the sign-in page and an invite link's.
//! * `account`: your passkeys and API keys.

mod account;
mod chat;
mod join;

use std::fmt::Write as _;

use super::assets;
use super::text::{escape, truncate};
use crate::model::ROOM_MAX;

pub use account::account_page;
pub use chat::{Identity, Live, chat_page};
pub use join::{JoinAs, invite_page, join_page, sign_in_page};

/// `<!doctype html>` up to and including `<body class=...>`.
pub(super) fn head(title: &str, body_class: &str, script: Option<&str>) -> String {
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

/// The edge-chat heading every card page opens with.
fn card_heading(out: &mut String) {
    let _ = write!(
        out,
        "<main class=\"card\">\n\
         <h1><img src=\"{icon}\" alt=\"\" width=\"32\" height=\"32\"> edge-chat</h1>\n\
         <p class=\"lead\">Realtime chat served entirely from the edge.</p>\n",
        icon = assets::url("icon.svg"),
    );
}

/// A problem to show above a form, if there is one.
fn problem_alert(out: &mut String, problem: Option<&str>) {
    if let Some(problem) = problem {
        let _ = writeln!(
            out,
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(problem)
        );
    }
}

pub fn not_found_page(path: &str) -> String {
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

pub fn message_page(title: &str, text: &str) -> String {
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

/// A deployment that cannot work yet: each setting to fix, for its operator.
pub fn misconfigured_page(problems: &[String]) -> String {
    let mut out = head("Not configured yet · edge-chat", "card-page", None);
    out.push_str(
        "<main class=\"card\">\n<h1>This chat is not configured yet</h1>\n\
         <p>The service was deployed with placeholder settings, so it cannot work. \
         Whoever runs it must fix:</p>\n<ul>\n",
    );
    for problem in problems {
        let _ = writeln!(out, "<li>{}</li>", escape(problem));
    }
    out.push_str("</ul>\n<p>See README.md, \"Deploy to Fastly\".</p>\n</main>\n");
    out.push_str(FOOT);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RoomId;
    use time::macros::datetime;

    #[test]
    fn pages_name_embedded_assets() {
        // assets::url panics on a missing file: render every page once.
        let now = datetime!(2026-11-22 12:00:00 UTC);
        join_page(JoinAs::Nickname(Some("a\"b")), Some("r"), Some("<oops>"));
        let live = Live {
            newest: 0,
            keep_alive_secs: 20,
            heartbeat_secs: 30,
            edit_secs: 900,
        };
        let room = RoomId::parse("r").unwrap();
        chat_page(&room, live, &[], Identity::Nickname(None), now);
        chat_page(&room, live, &[], Identity::SignedIn("ann"), now);
        sign_in_page("/");
        invite_page("t", "p_x.1.0.s", true);
        account_page("ann", "AAAAAAAAAAAAAAAAAAAAAA");
        not_found_page("/<x>");
        message_page("t", "m");
        assert!(misconfigured_page(&["<rp_id>".into()]).contains("<li>&lt;rp_id&gt;</li>"));
        assets::get("robots.txt");
    }
}
