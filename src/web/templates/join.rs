//! The join page, and in passkey mode the sign-in page.

use std::fmt::Write as _;

use super::{FOOT, card_heading, head, problem_alert};
use crate::model::{FROM_MAX, ROOM_MAX};
use crate::web::DEFAULT_ROOM;
use crate::web::text::escape;

/// Who is joining: someone typing a nickname (open mode), or a signed-in person.
#[derive(Debug, Clone, Copy)]
pub enum JoinAs<'a> {
    Nickname(Option<&'a str>),
    SignedIn(&'a str),
}

/// The join form: a nickname (open mode) and a room. It submits to `/` with GET, so
/// joining works without JavaScript.
pub fn join_page(who: JoinAs, room: Option<&str>, problem: Option<&str>) -> String {
    let mut out = head("edge-chat", "card-page", Some("join.js"));
    card_heading(&mut out);
    problem_alert(&mut out, problem);
    let _ = writeln!(
        out,
        "<form id=\"join\" method=\"get\" action=\"/\"{given}>",
        given = if room.is_some() {
            " data-room-given=\"1\""
        } else {
            ""
        },
    );
    let room_autofocus = match who {
        JoinAs::Nickname(user) => {
            let _ = write!(
                out,
                "<label for=\"user\">Nickname</label>\n\
                 <input id=\"user\" name=\"user\" value=\"{user}\" required maxlength=\"{FROM_MAX}\" \
                 pattern=\".*\\S.*\" autocomplete=\"nickname\" autofocus>\n",
                user = escape(user.unwrap_or_default()),
            );
            ""
        }
        JoinAs::SignedIn(name) => {
            let _ = writeln!(
                out,
                "<p class=\"who\">Signed in as <strong id=\"me\">{name}</strong> · \
                 <a href=\"/account\">account</a> · \
                 <button type=\"button\" id=\"sign-out\" class=\"link\">sign out</button></p>",
                name = escape(name),
            );
            " autofocus"
        }
    };
    let _ = write!(
        out,
        "<label for=\"room\">Room</label>\n\
         <input id=\"room\" name=\"room\" value=\"{room}\" required maxlength=\"{ROOM_MAX}\" \
         pattern=\"[A-Za-z0-9._\\-]+\" autocapitalize=\"none\" autocomplete=\"off\" spellcheck=\"false\" \
         aria-describedby=\"room-hint\"{room_autofocus}>\n\
         <p id=\"room-hint\" class=\"hint\">Letters, digits, <code>-</code>, <code>_</code> and \
         <code>.</code>; up to {ROOM_MAX}. Anyone who knows the name can join.</p>\n\
         <button type=\"submit\">Join</button>\n\
         </form>\n</main>\n",
        room = escape(room.unwrap_or(DEFAULT_ROOM)),
    );
    out.push_str(FOOT);
    out
}

/// Passkey mode's front door: create an account (a name, then a passkey) or sign in
/// with a passkey (no name needed; the name field also offers passkeys as autofill).
/// `next` is where to go afterwards, already checked to be a path on this site; the
/// front door itself leads on to the default room.
pub fn sign_in_page(next: &str) -> String {
    let lobby = format!("/{DEFAULT_ROOM}");
    let next = if next == "/" { &lobby } else { next };
    let mut out = head("Sign in · edge-chat", "card-page", Some("auth.js"));
    card_heading(&mut out);
    let _ = write!(
        out,
        "<div id=\"auth\" data-next=\"{next}\">\n\
         <p id=\"auth-error\" class=\"error\" role=\"alert\" hidden></p>\n\
         <section aria-labelledby=\"signin-title\">\n\
         <h2 id=\"signin-title\">Sign in</h2>\n\
         <form id=\"signin\">\n\
         <label for=\"signin-name\">Name <span class=\"hint\">(optional)</span></label>\n\
         <input id=\"signin-name\" name=\"username\" maxlength=\"{FROM_MAX}\" \
         autocomplete=\"username webauthn\" autocapitalize=\"none\" spellcheck=\"false\" autofocus>\n\
         <button type=\"submit\">Sign in with a passkey</button>\n\
         </form>\n\
         </section>\n\
         <section aria-labelledby=\"signup-title\">\n\
         <h2 id=\"signup-title\">Create an account</h2>\n\
         <form id=\"signup\">\n\
         <label for=\"signup-name\">Name</label>\n\
         <input id=\"signup-name\" name=\"name\" required maxlength=\"{FROM_MAX}\" \
         pattern=\".*\\S.*\" autocomplete=\"off\" spellcheck=\"false\">\n\
         <button type=\"submit\">Create account with a passkey</button>\n\
         </form>\n\
         <p class=\"hint\">Your device keeps the passkey (fingerprint, face or screen lock); \
         there is no password.</p>\n\
         </section>\n\
         <noscript><p class=\"error\">Passkeys need JavaScript.</p></noscript>\n\
         </div>\n</main>\n",
        next = escape(next),
    );
    out.push_str(FOOT);
    out
}

/// `GET /invites/{token}` for a token that works: join the room titled `title` (a button
/// static/invite.js sends as `POST /invites/{token}`), or sign in first and come back.
pub fn invite_page(title: &str, token: &str, signed_in: bool) -> String {
    let title = escape(title);
    let mut out = head(
        &format!("Join {title} · edge-chat"),
        "card-page",
        Some("invite.js"),
    );
    card_heading(&mut out);
    let _ = writeln!(
        out,
        "<div id=\"invite\" data-token=\"{token}\">\n<h2>You are invited to {title}</h2>",
        token = escape(token),
    );
    if signed_in {
        let _ = writeln!(
            out,
            "<p id=\"invite-error\" class=\"error\" role=\"alert\"></p>\n\
             <button type=\"button\" id=\"accept\">Join {title}</button>"
        );
    } else {
        let _ = writeln!(
            out,
            "<p>Sign in (or create an account) first: you come back here afterwards.</p>\n\
             <p><a href=\"/?next={next}\">Sign in to join</a></p>",
            next = urlencoding::encode(&format!("/invites/{token}")),
        );
    }
    out.push_str("</div>\n</main>\n");
    out.push_str(FOOT);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_page_names_where_to_go_next() {
        let html = sign_in_page("/lobby?x=\"1\"");
        assert!(
            html.contains("data-next=\"/lobby?x=&quot;1&quot;\""),
            "{html}"
        );
        assert!(html.contains("autocomplete=\"username webauthn\""));
        assert!(!html.contains("<script>"), "no inline script");
        assert!(sign_in_page("/").contains("data-next=\"/lobby\""));
    }

    #[test]
    fn signed_in_join_page_asks_only_for_a_room() {
        let html = join_page(JoinAs::SignedIn("<ann>"), None, None);
        assert!(html.contains("Signed in as <strong id=\"me\">&lt;ann&gt;</strong>"));
        assert!(!html.contains("id=\"user\""));
        let html = join_page(JoinAs::Nickname(None), None, None);
        assert!(html.contains("<input id=\"user\" name=\"user\" value=\"\""));
    }

    #[test]
    fn invite_page_offers_to_join_or_to_sign_in_first() {
        let html = invite_page("<Team>", "p_x.1.0.s", true);
        assert!(
            html.contains("<h2>You are invited to &lt;Team&gt;</h2>"),
            "{html}"
        );
        assert!(html.contains("data-token=\"p_x.1.0.s\""));
        assert!(html.contains("id=\"accept\">Join &lt;Team&gt;</button>"));
        let html = invite_page("Team", "p_x.1.0.s", false);
        assert!(
            html.contains("href=\"/?next=%2Finvites%2Fp_x.1.0.s\""),
            "{html}"
        );
        assert!(!html.contains("id=\"accept\""));
    }
}
