//! The account page: your passkeys and API keys. The lists are filled in by
//! `static/auth.js` from `/auth/me` and `/auth/api-keys`, so the page itself holds
//! nothing but your name and account id (the id is what an operator lists in `admins`:
//! unlike a name, nobody can choose it or take it over).

use std::fmt::Write as _;

use super::{FOOT, head};
use crate::model::FROM_MAX;
use crate::web::text::escape;

pub fn account_page(name: &str, account_id: &str) -> String {
    let mut out = head("Your account · edge-chat", "card-page", Some("auth.js"));
    let _ = write!(
        out,
        "<main class=\"card\" id=\"account\">\n\
         <h1>Your account</h1>\n\
         <p class=\"who\">Signed in as <strong id=\"me\">{name}</strong> · <a href=\"/\">rooms</a> · \
         <button type=\"button\" id=\"sign-out\" class=\"link\">sign out</button></p>\n\
         <p class=\"hint\">Account id: <code id=\"account-id\">{account_id}</code> \
         (an operator lists it in <code>admins</code> to make you a moderator).</p>\n\
         <p id=\"auth-error\" class=\"error\" role=\"alert\" hidden></p>\n\
         <section aria-labelledby=\"passkeys-title\">\n\
         <h2 id=\"passkeys-title\">Passkeys</h2>\n\
         <ul id=\"passkeys\" class=\"items\"></ul>\n\
         <button type=\"button\" id=\"add-passkey\">Add a passkey</button>\n\
         </section>\n\
         <section aria-labelledby=\"keys-title\">\n\
         <h2 id=\"keys-title\">API keys</h2>\n\
         <p class=\"hint\">A program sends one as <code>Authorization: Bearer &lt;key&gt;</code> \
         and acts as you.</p>\n\
         <ul id=\"api-keys\" class=\"items\"></ul>\n\
         <form id=\"new-key\">\n\
         <label for=\"key-name\">New key's name</label>\n\
         <div class=\"row\"><input id=\"key-name\" name=\"name\" required maxlength=\"{FROM_MAX}\" \
         pattern=\".*\\S.*\"><button type=\"submit\">Create key</button></div>\n\
         </form>\n\
         <div id=\"new-key-shown\" class=\"secret\" hidden>\n\
         <p>Copy this key now: it is shown only once.</p>\n\
         <p><code id=\"new-key-secret\"></code> \
         <button type=\"button\" id=\"copy-key\" class=\"quiet\">Copy</button></p>\n\
         </div>\n\
         </section>\n\
         <section aria-labelledby=\"sessions-title\">\n\
         <h2 id=\"sessions-title\">Sessions</h2>\n\
         <p class=\"hint\">Ends this session and every other one of your account, on every \
         device (removing a passkey does too, except here).</p>\n\
         <button type=\"button\" id=\"sign-out-everywhere\">End all sessions</button>\n\
         </section>\n\
         </main>\n",
        name = escape(name),
        account_id = escape(account_id),
    );
    out.push_str(FOOT);
    out
}
