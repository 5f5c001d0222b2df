//! Accounts in the KV Store: people, their passkeys and API keys, and pending passkey
//! ceremonies.
//!
//! ```text
//! namekey:<b64url(sha256(key))>  → {"user_id"}                     Add: a name is taken once
//! name:<b64url(lowercased name)>  → {"user_id"}   the same, for names taken before keys
//! user:<user id>                  → User (name, passkeys, API keys, sessions ended)
//!                                   rewritten by generation
//! cred:<b64url(sha256(cred id))>  → Credential (public key, sign count, owner)
//! apikey:<b64url(sha256(key))>    → ApiKeyOwner
//! chal:<b64url(challenge)>        → Challenge, with a TTL          answered at most once:
//! chal-used:<b64url(challenge)>   → {}  Add, with a TTL            the Add decides
//! ```
//!
//! Names are unique by their key (`model::name::key`: "Ann", "аnn" with a Cyrillic а and
//! "ＡＮＮ" are one name), hashed to fit any name in a KV key, and are reserved with
//! `InsertMode::Add` before anything else is written, so two sign-ups racing for a name
//! cannot both win. Accounts made before keys hold a `name:` record (the name ASCII-
//! lowercased) and no `namekey:` one: a sign-up checks both (the old one only for its
//! exact, ASCII-case-folded spelling), and a lookup by name reads both, the old one
//! first, so such an account keeps its name, its sign-in by name and its admin listing. Credential ids can be up to 1023 bytes, too long
//! for a KV key, so they are keyed by their hash. Checking a session reads none of this;
//! an API key costs two lookups (its record, and its owner's, which must still list it).
//!
//! A passkey or API key is usable only while both its own record exists and its owner's
//! record lists it, and the steps that make or end it are ordered so that a failure
//! between them never leaves one that works but cannot be seen or revoked: adding
//! writes the record first and lists it second (undone if listing fails); removing
//! marks the entry `removing` (which ends its use at once, and is what "your last
//! passkey" counts against, so two removals racing cannot both pass that check),
//! deletes the record, then unlists it: a failure at any step leaves a dead entry that
//! is still listed and can be removed again. A sign-up gives its name back only once no
//! record of its credential is left.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};

use super::StoreError;
use super::kv::{Kv, Versioned};
use crate::timing::KvMeter;

/// Rewrites of a user record retried after losing to a concurrent one.
const UPDATE_ATTEMPTS: usize = 8;
/// Shortest TTL given to a challenge's KV keys (its own `expires` is what is enforced).
const CHALLENGE_TTL_MIN: Duration = Duration::from_secs(60);
/// How long a used challenge is remembered: longer than any challenge lives
/// (`challenge_secs` is at most 600).
const USED_TTL: Duration = Duration::from_secs(600);
/// Bytes of every challenge issued. A response naming a challenge of another size
/// names none of ours, and is not looked up: its key could exceed KV's 1024 bytes.
pub const CHALLENGE_LEN: usize = 32;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub created: String,
    pub passkeys: Vec<PasskeyRef>,
    pub api_keys: Vec<ApiKeyInfo>,
    /// Sessions that began under an earlier epoch are over (`store::sessions`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub session_epoch: u32,
    /// Sessions signed out one by one, as `<end>.<id>`, remembered until they would have
    /// ended anyway (strings: no serde code of their own, `store::sessions`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ended_sessions: Vec<String>,
    /// The private rooms and direct messages they are in (an index: each room's own
    /// record decides, `store::memberships`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rooms: Vec<String>,
    /// People they blocked: no direct message from them, their messages hidden.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked: Vec<Blocked>,
}

/// Someone an account blocked. The id decides (direct messages); the name, which never
/// changes, is what pages hide, so hiding needs no lookup per blocked person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    pub id: String,
    pub name: String,
}

impl User {
    /// Whether API key `key_id` is listed and not being revoked: usable.
    pub fn lists_key(&self, key_id: &str) -> bool {
        self.api_keys.iter().any(|k| k.id == key_id && !k.removing)
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One of a user's passkeys: its credential id (base64url) and when it was added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyRef {
    pub id: String,
    pub created: String,
    /// Being removed (see the module doc): listed, but no longer usable.
    #[serde(default, skip_serializing_if = "is_false")]
    pub removing: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyInfo {
    pub id: String,
    pub name: String,
    pub created: String,
    /// The stored key's hash (never shown; needed to delete its record).
    pub hash: String,
    /// Being revoked (see the module doc): listed, but no longer usable.
    #[serde(default, skip_serializing_if = "is_false")]
    pub removing: bool,
}

fn is_false(flag: &bool) -> bool {
    !*flag
}

/// A passkey's public half and what is checked on every use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub user_id: String,
    /// The owner's name, so a sign-in needs no second lookup.
    pub name: String,
    /// SEC1 uncompressed P-256 point, base64url.
    pub public_key: String,
    pub sign_count: u32,
    pub created: String,
    pub last_used: Option<String>,
}

/// Whose an API key is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyOwner {
    pub key_id: String,
    pub user_id: String,
    pub name: String,
}

/// What a ceremony's challenge was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    Register,
    Login,
    AddPasskey,
    /// A signed-in person's passkey check before an account change (step-up).
    Reauth,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub purpose: Purpose,
    /// The account being created or extended, or the one a named sign-in is for.
    pub user_id: Option<String>,
    /// The name asked for at registration.
    pub name: Option<String>,
    /// Unix seconds after which an answer is refused.
    pub expires: i64,
}

/// A sign-up that failed at the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateFailed {
    pub error: StoreError,
    /// Whether the credential's record may still exist.
    pub credential_left: bool,
}

#[derive(Serialize, Deserialize)]
struct NameOwner {
    user_id: String,
}

/// The accounts of one request.
pub struct Accounts<'a> {
    kv: Kv<'a>,
}

/// The record that holds a name: by its key, which can be many times the name's length
/// (U+FDFA alone is 18 characters), so hashed.
pub fn name_key(name: &str) -> String {
    let key = crate::model::name::key(name);
    format!(
        "namekey:{}",
        B64.encode(hmac_sha256::Hash::hash(key.as_bytes()))
    )
}

/// The record of a name taken before keys: the name ASCII-lowercased.
fn legacy_name_key(name: &str) -> String {
    format!("name:{}", B64.encode(name.to_ascii_lowercase()))
}

/// The id in a challenge's KV keys; `None` for a challenge this service never issues.
fn challenge_id(challenge: &[u8]) -> Option<String> {
    (challenge.len() == CHALLENGE_LEN).then(|| B64.encode(challenge))
}

/// The KV key of a credential id (base64url, as WebAuthn JSON carries it).
fn cred_key(credential_id: &str) -> String {
    format!(
        "cred:{}",
        B64.encode(hmac_sha256::Hash::hash(credential_id.as_bytes()))
    )
}

impl<'a> Accounts<'a> {
    pub fn open(meter: &'a KvMeter) -> Result<Self, StoreError> {
        Ok(Self {
            kv: Kv::open(meter)?,
        })
    }

    /// Whether `name`, or a name with its key, or (taken before keys) its exact
    /// spelling, is someone's: one or two reads.
    pub fn name_taken(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.kv.get::<NameOwner>(&name_key(name))?.is_some()
            || self.kv.get::<NameOwner>(&legacy_name_key(name))?.is_some())
    }

    /// Who holds `name`. Always two reads, whether found or not, so that a name's
    /// existence shows in no cost (sign-in's decoys depend on it). A name taken before
    /// keys is matched first: its holder keeps it even if a look-alike was taken since.
    pub fn user_id_for_name(&self, name: &str) -> Result<Option<String>, StoreError> {
        // Longer than any name may be: nobody's, and its key could pass KV's 1,024 bytes.
        if name.chars().count() > crate::model::FROM_MAX {
            return Ok(None);
        }
        let legacy = self.kv.get::<NameOwner>(&legacy_name_key(name))?;
        let current = self.kv.get::<NameOwner>(&name_key(name))?;
        Ok(legacy.or(current).map(|o| o.user_id))
    }

    /// Takes `name` for `user_id`; `false` when it is someone else's already.
    pub fn reserve_name(&self, name: &str, user_id: &str) -> Result<bool, StoreError> {
        let owner = NameOwner {
            user_id: user_id.to_owned(),
        };
        self.kv.add(&name_key(name), &owner, None)
    }

    pub fn release_name(&self, name: &str) -> Result<(), StoreError> {
        self.kv.delete(&name_key(name))
    }

    /// Creates a user with their first passkey. `false` when the credential id is
    /// already registered (nothing is written then). On a store failure the
    /// credential's record is removed again if it was written; `CreateFailed` says
    /// whether one may be left (then the name must stay taken).
    pub fn create_user(&self, user: &User, credential: &Credential) -> Result<bool, CreateFailed> {
        let cred = cred_key(&user.passkeys[0].id);
        match self.kv.add(&cred, credential, None) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(error) => return Err(self.undo_credential(&cred, &user.id, error)),
        }
        match self.kv.add(&format!("user:{}", user.id), user, None) {
            Ok(true) => Ok(true),
            // 16 random bytes collided: nothing of this sign-up may stay.
            Ok(false) => Err(self.undo_credential(&cred, &user.id, StoreError::Busy)),
            Err(error) => Err(self.undo_credential(&cred, &user.id, error)),
        }
    }

    /// Removes the credential record `key` if it is `user_id`'s (a failed write may or
    /// may not have landed; a record of someone else's is never touched).
    fn undo_credential(&self, key: &str, user_id: &str, error: StoreError) -> CreateFailed {
        let undone = self
            .kv
            .get::<Credential>(key)
            .and_then(|found| match found {
                Some(c) if c.user_id == user_id => self.kv.delete(key),
                _ => Ok(()),
            });
        CreateFailed {
            error,
            credential_left: undone.is_err(),
        }
    }

    pub fn user(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        self.kv.get(&format!("user:{user_id}"))
    }

    /// Applies `change` to the user record and writes it back unless another request
    /// rewrote it meanwhile, in which case it reads again and retries. `change` may
    /// refuse with `Err(reason)`, which is returned untouched.
    pub fn update_user<R>(
        &self,
        user_id: &str,
        change: impl FnMut(&mut User) -> Result<(), R>,
    ) -> Result<Result<User, R>, StoreError> {
        let key = format!("user:{user_id}");
        self.kv
            .update(&key, UPDATE_ATTEMPTS, change)?
            .ok_or(StoreError::Busy)
    }

    pub fn credential(
        &self,
        credential_id: &str,
    ) -> Result<Option<Versioned<Credential>>, StoreError> {
        self.kv.get_versioned(&cred_key(credential_id))
    }

    /// Adds a passkey record; `false` when the id is registered already.
    pub fn add_credential(
        &self,
        credential_id: &str,
        credential: &Credential,
    ) -> Result<bool, StoreError> {
        self.kv.add(&cred_key(credential_id), credential, None)
    }

    /// Records a use; `false` when another sign-in with it got there first.
    pub fn touch_credential(
        &self,
        credential_id: &str,
        credential: &Credential,
        generation: u64,
    ) -> Result<bool, StoreError> {
        self.kv
            .replace(&cred_key(credential_id), credential, generation)
    }

    pub fn delete_credential(&self, credential_id: &str) -> Result<(), StoreError> {
        self.kv.delete(&cred_key(credential_id))
    }

    pub fn add_api_key(&self, hash: &str, owner: &ApiKeyOwner) -> Result<bool, StoreError> {
        self.kv.add(&format!("apikey:{hash}"), owner, None)
    }

    pub fn api_key(&self, hash: &str) -> Result<Option<ApiKeyOwner>, StoreError> {
        self.kv.get(&format!("apikey:{hash}"))
    }

    pub fn delete_api_key(&self, hash: &str) -> Result<(), StoreError> {
        self.kv.delete(&format!("apikey:{hash}"))
    }

    /// Stores a challenge until it expires.
    pub fn put_challenge(
        &self,
        challenge: &[u8; CHALLENGE_LEN],
        record: &Challenge,
        lifetime: Duration,
    ) -> Result<(), StoreError> {
        let ttl = lifetime.max(CHALLENGE_TTL_MIN);
        let key = format!("chal:{}", B64.encode(challenge));
        match self.kv.add(&key, record, Some(ttl))? {
            true => Ok(()),
            // 32 random bytes do not collide; if they did, refuse rather than overwrite.
            false => Err(StoreError::Busy),
        }
    }

    /// The challenge's record, consumed: a second call for the same challenge, even a
    /// concurrent one, gets `None`, and so does a challenge that was never issued.
    pub fn take_challenge(&self, challenge: &[u8]) -> Result<Option<Challenge>, StoreError> {
        let Some(id) = challenge_id(challenge) else {
            return Ok(None);
        };
        let Some(record) = self.kv.get::<Challenge>(&format!("chal:{id}"))? else {
            return Ok(None);
        };
        if !self
            .kv
            .add(&format!("chal-used:{id}"), &(), Some(USED_TTL))?
        {
            return Ok(None);
        }
        self.kv.delete(&format!("chal:{id}"))?;
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests;
