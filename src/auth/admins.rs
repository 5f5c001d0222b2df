//! Who may moderate everyone: the accounts the `admins` config lists.
//!
//! An entry is an account id (shown on the account page; it never changes and nobody
//! can choose it) or a name. Ids are what the README recommends: a name listed before
//! anyone holds it would go to whoever signs up with it first. A listed name is put in
//! NFC, the form names are stored in, and then compared byte for byte, never folded, so
//! a look-alike ("Ann", "аnn" with a Cyrillic а, "ann" with a variation selector) is
//! not that admin (nor can it sign up while the name is held), and it counts only
//! for the account that holds exactly that name now: the name's own record must point
//! at the asking account (one KV read, paid only by someone whose name is listed).
//! An entry shaped like an account id (base64url of 16 bytes) is only ever an id: else
//! whoever signed up with an admin's id as their name would be that admin.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use crate::config::Config;
use crate::model::name::nfc;
use crate::store::{Accounts, StoreError};
use crate::timing::KvMeter;

use super::Principal;

/// How an account appears in the `admins` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listed {
    ById,
    ByName,
    No,
}

/// Bytes of an account id (`user:` records are keyed by their base64url).
const ACCOUNT_ID_BYTES: usize = 16;

/// Whether a list entry is an account id rather than a name.
fn is_account_id(entry: &str) -> bool {
    B64.decode(entry)
        .is_ok_and(|bytes| bytes.len() == ACCOUNT_ID_BYTES)
}

/// How the account `user_id` named `name` appears in `admins` (no KV).
pub fn listed(admins: &[String], user_id: &str, name: &str) -> Listed {
    let (ids, names): (Vec<&String>, Vec<&String>) =
        admins.iter().partition(|entry| is_account_id(entry));
    if ids.iter().any(|id| *id == user_id) {
        Listed::ById
    } else if names.iter().any(|entry| nfc(entry) == name) {
        Listed::ByName
    } else {
        Listed::No
    }
}

/// Whether `principal` is an admin: listed by id, or by its exact name while it holds
/// that name.
pub fn is_admin(
    principal: &Principal,
    config: &Config,
    meter: &KvMeter,
) -> Result<bool, StoreError> {
    is_admin_account(&principal.user_id, &principal.name, config, meter)
}

/// Whether account `user_id`, named `name`, is an admin (see `is_admin`).
pub fn is_admin_account(
    user_id: &str,
    name: &str,
    config: &Config,
    meter: &KvMeter,
) -> Result<bool, StoreError> {
    match listed(&config.admins(), user_id, name) {
        Listed::ById => Ok(true),
        Listed::ByName => {
            let holder = Accounts::open(meter)?.user_id_for_name(name)?;
            Ok(holder.as_deref() == Some(user_id))
        }
        Listed::No => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_exact_names_only() {
        let bob = B64.encode([7u8; ACCOUNT_ID_BYTES]);
        let admins = vec!["ann".to_owned(), bob.clone()];
        assert_eq!(listed(&admins, "x", "ann"), Listed::ByName);
        assert_eq!(listed(&admins, &bob, "bob"), Listed::ById);
        for look_alike in [
            "Ann",
            "ANN",
            "\u{430}nn",
            "ann\u{FE0E}",
            "ann ",
            "an\u{0301}n",
        ] {
            assert_eq!(
                listed(&admins, "x", look_alike),
                Listed::No,
                "{look_alike:?}"
            );
        }
        // An id is not a name: whoever takes an admin's id as their name is no admin.
        assert_eq!(listed(&admins, "other", &bob), Listed::No);
        assert_eq!(listed(&[], "x", "ann"), Listed::No);
        // Names are stored in NFC: an entry typed decomposed names the same account.
        let zoe = vec!["Zoe\u{301}".to_owned()];
        assert_eq!(listed(&zoe, "x", "Zo\u{E9}"), Listed::ByName);
    }
}
