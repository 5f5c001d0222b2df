//! Settings from the Config Store and secrets from the Secret Store. The code is the
//! same locally and in production; only these values differ (fastly.toml
//! `[local_server]` vs `[setup]`). Every key is listed in README.md.
//!
//! A request opens the Config Store once (`http::serve`) and reads each key at most
//! once: values are kept for the rest of the request (a Compute execution may make only
//! 32 Config Store lookups; `budget` counts them, and the secrets read, for
//! `Server-Timing`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use fastly::config_store::ConfigStore;
use fastly::secret_store::SecretStore;

use crate::budget;
use crate::decimal;

pub const CONFIG_STORE: &str = "edge_chat_config";
pub const SECRET_STORE: &str = "edge_chat_secrets";

/// Defaults for keys the Config Store does not set.
const DEFAULT_KEEP_ALIVE_SECS: u64 = 20;
const DEFAULT_HEARTBEAT_SECS: u64 = 30;
const DEFAULT_RETENTION_DAYS: u64 = 30;
const DEFAULT_SESSION_HOURS: u64 = 24;
/// How long a session token is believed without a KV check (`session_check_secs`):
/// the bound on how long a signed-out session may still read and a held stream
/// of it may last, five minutes, less a minute of slack for Fanout's link timers.
const DEFAULT_SESSION_CHECK_SECS: u64 = 240;
const SESSION_CHECK_MAX: u64 = 300;
const DEFAULT_CHALLENGE_SECS: u64 = 300;
/// How recent a passkey check account changes need (`reauth_secs`): five minutes, long
/// enough to add a passkey and mint a key after signing in, short enough that a stolen
/// cookie alone cannot.
const DEFAULT_REAUTH_SECS: u64 = 300;
const DEFAULT_RP_NAME: &str = "edge-chat";
/// Shortest `session_key` accepted: HS256 wants at least as many bytes as its output.
const SESSION_KEY_MIN: usize = 32;
/// Shortest `admin_key` accepted: a guessable key would be worse than none.
const ADMIN_KEY_MIN: usize = 16;
const DEFAULT_EDIT_MINUTES: u64 = 15;
/// The longest edit window a setting may give: a week.
const EDIT_MINUTES_MAX: u64 = 10_080;
const DEFAULT_PUBLISH_URL: &str = "https://api.fastly.com/service/{service_id}/publish/";
const DEFAULT_GRIP_ISS: &str = "fastly:{service_id}";

pub struct Config {
    store: Option<ConfigStore>,
    /// Values already read in this request (`None`: not set).
    read: RefCell<HashMap<&'static str, Option<String>>>,
}

/// Who may read and post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Signed-in people (passkeys) and API keys only; a message is from its poster.
    Passkey,
    /// The Django demo's contract: anyone reads and posts under any nickname.
    Open,
}

/// How Fanout (or Pushpin) signs its call-backs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GripKey {
    /// Pushpin: a shared secret.
    Hs256(Vec<u8>),
    /// Fastly Fanout: Fastly's public key, PEM.
    Es256(String),
    /// Nothing usable is configured: every signature is rejected.
    Missing,
}

impl Config {
    pub fn open() -> Self {
        let store = ConfigStore::try_open(CONFIG_STORE).ok();
        if store.is_none() {
            log::warn!("Config Store '{CONFIG_STORE}' is not linked; using defaults");
        }
        Self {
            store,
            read: RefCell::default(),
        }
    }

    fn get(&self, key: &'static str) -> Option<String> {
        if let Some(value) = self.read.borrow().get(key) {
            return value.clone();
        }
        let value = self
            .store
            .as_ref()
            .and_then(|store| {
                budget::config_lookup();
                store.try_get(key).ok().flatten()
            })
            .filter(|v| !v.trim().is_empty());
        self.read.borrow_mut().insert(key, value.clone());
        value
    }

    /// Where to POST publish items (`publish_url`): the Fastly publish API in
    /// production, Pushpin's `/publish/` locally. Sent through the `publisher` backend.
    pub fn publish_url(&self) -> String {
        expand(
            &self
                .get("publish_url")
                .unwrap_or_else(|| DEFAULT_PUBLISH_URL.into()),
        )
    }

    /// The `Fastly-Key` for the publish API (secret `publish_token`).
    pub fn publish_token(&self) -> Option<String> {
        secret("publish_token")
    }

    /// The issuer a Grip-Sig must carry (`grip_iss`).
    pub fn grip_issuer(&self) -> String {
        expand(
            &self
                .get("grip_iss")
                .unwrap_or_else(|| DEFAULT_GRIP_ISS.into()),
        )
    }

    /// The Grip-Sig key: `grip_alg` = `HS256` takes secret `grip_key`; `ES256` (the
    /// default) takes the PEM in `grip_public_key`.
    pub fn grip_key(&self) -> GripKey {
        let alg = self.get("grip_alg").unwrap_or_else(|| "ES256".into());
        match alg.trim().to_ascii_uppercase().as_str() {
            "HS256" => {
                secret("grip_key").map_or(GripKey::Missing, |k| GripKey::Hs256(k.into_bytes()))
            }
            "ES256" => self
                .get("grip_public_key")
                .map_or(GripKey::Missing, |pem| GripKey::Es256(unescape_pem(&pem))),
            other => {
                log::error!("unknown grip_alg {other:?}; rejecting all Grip-Sigs");
                GripKey::Missing
            }
        }
    }

    /// A whole number from `range`, or `default` when unset or out of range.
    fn number(&self, key: &'static str, range: RangeInclusive<u64>, default: u64) -> u64 {
        self.get(key)
            .and_then(|v| v.trim().parse().ok())
            .filter(|n| range.contains(n))
            .unwrap_or(default)
    }

    /// Idle seconds before Fanout sends an SSE keep-alive (`keep_alive_secs`).
    pub fn keep_alive_secs(&self) -> u32 {
        self.number("keep_alive_secs", 1..=3600, DEFAULT_KEEP_ALIVE_SECS) as u32
    }

    /// How long messages live in KV (`retention_days`).
    pub fn retention(&self) -> Duration {
        let days = self.number("retention_days", 1..=3650, DEFAULT_RETENTION_DAYS);
        Duration::from_secs(days * 24 * 3600)
    }

    /// Origins besides the service's own that may send unsafe requests and run passkey
    /// ceremonies (`rp_origins`, comma-separated, e.g. `https://chat.example.com`).
    pub fn allowed_origins(&self) -> Vec<String> {
        list(self.get("rp_origins"))
            .into_iter()
            .map(|o| o.trim_end_matches('/').to_owned())
            .collect()
    }

    /// Who may use the chat (`auth_mode`): `passkey` (the default) or `open`.
    pub fn auth_mode(&self) -> AuthMode {
        match self.get("auth_mode").as_deref().map(str::trim) {
            Some("open") => AuthMode::Open,
            Some("passkey") | None => AuthMode::Passkey,
            Some(other) => {
                log::error!("unknown auth_mode {other:?}; requiring passkeys");
                AuthMode::Passkey
            }
        }
    }

    /// The WebAuthn relying party id (`rp_id`): the site's domain. Unset, the host the
    /// request came to (without its port) serves.
    pub fn rp_id(&self, request_host: &str) -> String {
        self.get("rp_id")
            .map(|id| id.trim().to_owned())
            .unwrap_or_else(|| request_host.to_owned())
    }

    /// `rp_id` as configured, `None` when unset: the deployment check (`deploy`) judges
    /// the setting itself, not the request's host that stands in for it.
    pub fn rp_id_setting(&self) -> Option<String> {
        self.get("rp_id").map(|id| id.trim().to_owned())
    }

    /// The name passkey managers show for this site (`rp_name`).
    pub fn rp_name(&self) -> String {
        self.get("rp_name")
            .unwrap_or_else(|| DEFAULT_RP_NAME.into())
    }

    /// How long a sign-in lasts: `session_secs` if set (the tests shorten it), else
    /// `session_hours`.
    pub fn session_lifetime(&self) -> Duration {
        let hours = self.number("session_hours", 1..=24 * 365, DEFAULT_SESSION_HOURS);
        let secs = self.number("session_secs", 5..=24 * 365 * 3600, hours * 3600);
        Duration::from_secs(secs)
    }

    /// How long a private room's invite link works (`invite_hours`, default 72).
    pub fn invite_lifetime(&self) -> Duration {
        Duration::from_secs(self.number("invite_hours", 1..=24 * 365, 72) * 3600)
    }

    /// How long a session's token is believed without a KV check, and how often a held
    /// stream's session or API key is checked again (`session_check_secs`, at most 300).
    pub fn session_check(&self) -> Duration {
        let range = 1..=SESSION_CHECK_MAX;
        Duration::from_secs(self.number("session_check_secs", range, DEFAULT_SESSION_CHECK_SECS))
    }

    /// How recent the session's passkey check must be for adding or removing a passkey
    /// or minting or revoking an API key (`reauth_secs`; the tests shorten it).
    pub fn reauth_window(&self) -> Duration {
        Duration::from_secs(self.number("reauth_secs", 1..=86_400, DEFAULT_REAUTH_SECS))
    }

    /// How long a passkey ceremony's challenge may be answered (`challenge_secs`; the
    /// tests shorten it to see a late answer refused).
    pub fn challenge_lifetime(&self) -> Duration {
        Duration::from_secs(self.number("challenge_secs", 1..=600, DEFAULT_CHALLENGE_SECS))
    }

    /// People who may delete anyone's messages and clear rooms (`admins`, a comma list of
    /// account names; passkey mode).
    /// Exactly "example" is the Fastly CLI's default for an empty `[setup]` item, not a
    /// name anyone chose: it is ignored (and logged), or whoever signs up as "example"
    /// would moderate (`deploy`).
    pub fn admins(&self) -> Vec<String> {
        let admins = self.get("admins");
        if admins.as_deref().is_some_and(crate::deploy::is_cli_default) {
            log::error!(
                "Config Store {CONFIG_STORE}: admins is the Fastly CLI's default {:?}, not a name: ignored (set it with fastly config-store-entry update)",
                crate::deploy::CLI_DEFAULT
            );
            return Vec::new();
        }
        list(admins)
    }

    /// The bearer token that makes any request an admin's (secret `admin_key`, at least
    /// 16 characters): the one way to moderate in open mode, and for scripts.
    pub fn admin_key(&self) -> Option<String> {
        secret("admin_key").filter(|k| k.len() >= ADMIN_KEY_MIN)
    }

    /// How long after posting its author may edit a message (`edit_minutes`, may be
    /// fractional: the tests use a few seconds).
    pub fn edit_window(&self) -> Duration {
        let millionths = self
            .get("edit_minutes")
            .and_then(|v| decimal::millionths(v.trim()))
            .filter(|&m| m <= EDIT_MINUTES_MAX * decimal::ONE)
            .unwrap_or(DEFAULT_EDIT_MINUTES * decimal::ONE);
        // A millionth of a minute is 60 µs.
        Duration::from_micros(millionths * 60)
    }

    /// Words masked with asterisks in new and edited messages (`blocked_words`, a comma
    /// list; matched whole and without regard to case).
    pub fn blocked_words(&self) -> Vec<String> {
        list(self.get("blocked_words"))
    }

    /// A rate limit, if set: `post_rate`, `auth_rate` or `moderation_rate`, written
    /// `<count>/<seconds>` (e.g. `20/10`). See `limits` for why unset means none.
    pub fn rate(&self, key: &'static str) -> Option<Rate> {
        self.get(key).and_then(|v| Rate::parse(&v))
    }

    /// The production flood guard's limit (`flood_rps`: requests per second per client
    /// address, over 10 s, by Edge Rate Limiting; unset: off).
    pub fn flood_rps(&self) -> Option<u32> {
        self.get("flood_rps")
            .and_then(|v| v.trim().parse().ok())
            .filter(|&rps| rps > 0)
    }

    /// The limit on presence requests (`presence_rate`: heartbeats, typing and leaves,
    /// per identity as `post_rate` counts; unset: none).
    pub fn presence_rate(&self) -> Option<Rate> {
        self.rate("presence_rate")
    }

    /// How often a page heartbeats (`presence_heartbeat_secs`, 30 by default); every
    /// presence time derives from it (`live::presence::Timing`). Tests shorten it.
    pub fn presence_heartbeat_secs(&self) -> u64 {
        self.number("presence_heartbeat_secs", 1..=300, DEFAULT_HEARTBEAT_SECS)
    }

    /// The key session tokens are signed with (secret `session_key`), never anything a
    /// browser could learn. `None` refuses every session: no key, no sign-in.
    pub fn session_key(&self) -> Option<Vec<u8>> {
        secret("session_key")
            .map(String::into_bytes)
            .filter(|k| k.len() >= SESSION_KEY_MIN)
    }

    /// CSP `frame-ancestors` for HTML pages (`frame_ancestors`).
    pub fn frame_ancestors(&self) -> String {
        self.get("frame_ancestors")
            .unwrap_or_else(|| "'self'".into())
    }
}

/// `count` events per `per`: a limit a caller may not exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl Rate {
    pub const fn new(count: u32, secs: u64) -> Self {
        Self {
            count,
            per: Duration::from_secs(secs),
        }
    }

    /// `20/10`: 20 per 10 seconds (both whole, positive, a day at most).
    fn parse(text: &str) -> Option<Self> {
        let (count, secs) = text.trim().split_once('/')?;
        let count: u32 = count
            .trim()
            .parse()
            .ok()
            .filter(|c| (1..=10_000).contains(c))?;
        let secs: u64 = secs
            .trim()
            .parse()
            .ok()
            .filter(|s| (1..=86_400).contains(s))?;
        Some(Rate::new(count, secs))
    }
}

/// A comma-separated list, trimmed, without empty items.
fn list(value: Option<String>) -> Vec<String> {
    value
        .map(|v| {
            v.split(',')
                .map(|item| item.trim().to_owned())
                .filter(|item| !item.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// A secret's plaintext, or `None` when the store, the secret or its text is missing.
/// Read from the store at most once per execution (each read is a lookup `budget`
/// counts: a socket call-back that publishes several messages asks for the publish token
/// each time).
fn secret(name: &'static str) -> Option<String> {
    thread_local! {
        static READ: RefCell<HashMap<&'static str, Option<String>>> = RefCell::default();
    }
    if let Some(known) = READ.with_borrow(|read| read.get(name).cloned()) {
        return known;
    }
    budget::config_lookup();
    let value = read_secret(name);
    READ.with_borrow_mut(|read| read.insert(name, value.clone()));
    value
}

fn read_secret(name: &str) -> Option<String> {
    let store = SecretStore::open(SECRET_STORE).ok()?;
    let value = store.try_get(name).ok()??;
    let text = String::from_utf8(value.try_plaintext().ok()?.to_vec()).ok()?;
    Some(text).filter(|t| !t.is_empty())
}

/// Replaces `{service_id}` with this service's id, so one config value serves every
/// service the package is deployed to.
fn expand(template: &str) -> String {
    let service_id = std::env::var("FASTLY_SERVICE_ID").unwrap_or_default();
    template.replace("{service_id}", &service_id)
}

/// Config Store values are single strings; a PEM pasted with literal `\n` still works.
fn unescape_pem(pem: &str) -> String {
    pem.replace("\\n", "\n")
}

mod local;
#[cfg(test)]
mod tests;
