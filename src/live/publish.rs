//! Publishing events to their room's Fanout channel.
//!
//! One item per message, with `id` = n and `prev-id` = n-1: Fanout delivers items in id
//! order and, on a gap, fetches the stream's recovery link instead of skipping ahead.
//! The POST that stored the message starts the publish, answers its client, and only
//! then waits for the publish API: a slow or failed publish never delays or fails the
//! post. Subscribers still get the message through prev-id recovery or their next
//! resume, because the message is already in KV.
//!
//! A `429` or `5xx` from the publish API, or no answer at all, is retried a few times
//! with a short backoff inside the same request (after the poster has its answer), so a
//! blip does not cost every subscriber a recovery round trip. Where there is more than
//! one item to send they go in one call: Fastly's API counts calls, not items. Every
//! call and retry is a backend request, and an execution may send only a few
//! (`budget`): each publish is given a bound and stops at it.

use std::time::{Duration, Instant};

use fastly::http::request::PendingRequest;
use fastly::http::{Method, StatusCode, header};
use fastly::{Request, Response};
use serde_json::json;

use super::channels::room as channel;
use super::event::Event;
use super::sse::{frame, placeholder};
use super::{poll, ws};
use crate::budget;
use crate::config::Config;
use crate::headers::HeaderText;
use crate::model::{MessageId, RoomId};

/// The backend the publish API is reached through (fastly.toml).
pub const PUBLISH_BACKEND: &str = "publisher";
/// Pauses before each retry; four attempts in about 1.7 s at most.
const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(400),
    Duration::from_millis(1200),
];
/// The longest `Retry-After` honoured; a longer one is not worth holding the request for.
const RETRY_AFTER_MAX: Duration = Duration::from_secs(2);

/// One GRIP publish item: what each kind of subscriber of `channel` receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub channel: String,
    /// `id` and `prev-id`: set for the entries of a room's sequence, `None` for
    /// ephemeral events (presence, typing), which go to channels held without a prev-id.
    pub id: Option<String>,
    pub prev_id: Option<String>,
    /// The SSE frame an `http-stream` subscriber receives.
    pub content: String,
    /// Pushpin content filters the stream content needs (`build-id`, see `live::multi`).
    pub filters: &'static [&'static str],
    /// The frame a WebSocket subscriber receives (`ws-message`), if any.
    pub ws: Option<String>,
    /// The JSON body that answers a held long-poll (`http-response`), if any.
    pub response: Option<String>,
    /// What the item does besides: nothing, or end what it reaches (see [`Ending`]).
    pub ending: Ending,
}

/// How an item ends a subscription (a member removed from a private room): `Refuse`
/// answers a held long-poll 404 with `response` (streams and sockets get the content
/// as usual); `Close` closes streams and sockets (1008, the item's `content` the reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    No,
    Refuse,
    Close,
}

impl Item {
    /// Entry `id` of a room's sequence: its event, or a placeholder for one nobody is
    /// told about (a deleted message), so the ids after it still follow on. Every
    /// transport holding the room's channel gets it: SSE, WebSocket and long-poll.
    pub fn entry(room: &RoomId, id: MessageId, event: Option<&Event>) -> Self {
        let content = event.map_or_else(|| placeholder().to_owned(), frame);
        let ws = event.map(|_| ws::from_sse(&content));
        let response = match event {
            Some(Event::Message(m)) => poll::answer(std::slice::from_ref(m), &[], id, false),
            _ => poll::entry_answer(ws.as_deref(), id),
        };
        Self {
            channel: channel(room),
            id: Some(id.to_string()),
            prev_id: Some((id - 1).to_string()),
            content,
            filters: &[],
            ws,
            response: Some(response),
            ending: Ending::No,
        }
    }

    /// The items that end `channel`'s subscriptions, saying why: a `stream-error`
    /// (`condition`, `text`), an `error` frame and a 404 for a long-poll, then the close.
    pub fn ending(channel: String, condition: &str, text: &str) -> [Self; 2] {
        let data = json!({ "condition": condition, "text": text });
        let refuse = Self {
            channel: channel.clone(),
            id: None,
            prev_id: None,
            content: format!("event: stream-error\nid: error\ndata: {data}\n\n"),
            filters: &[],
            ws: Some(json!({"event": "error", "data": data}).to_string()),
            response: Some(json!({"error": "not_found", "message": text}).to_string()),
            ending: Ending::Refuse,
        };
        let close = Self {
            content: text.to_owned(),
            ws: None,
            response: None,
            ending: Ending::Close,
            ..refuse.clone()
        };
        [refuse, close]
    }
}

/// The publish API body: GRIP's `items`, each with its formats.
pub fn publish_body(items: &[Item]) -> String {
    let items: Vec<_> = items
        .iter()
        .map(|item| {
            let mut stream = json!({ "content": item.content });
            if !item.filters.is_empty() {
                stream["content-filters"] = json!(item.filters);
            }
            let mut formats = json!({ "http-stream": stream });
            if let Some(ws) = &item.ws {
                formats["ws-message"] = json!({ "content": ws });
            }
            if item.ending == Ending::Close {
                formats = json!({
                    "http-stream": { "action": "close" },
                    "ws-message": { "action": "close", "code": 1008, "reason": item.content },
                });
            }
            let code = if item.ending == Ending::Refuse {
                404
            } else {
                200
            };
            if let Some(body) = &item.response {
                formats["http-response"] = json!({
                    "code": code,
                    "headers": { "Content-Type": "application/json", "Cache-Control": "no-store" },
                    "body": body,
                });
            }
            let mut out = json!({ "channel": item.channel, "formats": formats });
            if let (Some(id), Some(prev_id)) = (&item.id, &item.prev_id) {
                out["id"] = json!(id);
                out["prev-id"] = json!(prev_id);
            }
            out
        })
        .collect();
    json!({ "items": items }).to_string()
}

/// Items per publish call: a backlog republished after an outage goes in several calls,
/// each well under Fanout's message size limits (about 200 B a message).
pub const ITEMS_PER_CALL: usize = 50;
/// Backend requests one publish may send when its caller sets no other bound: its calls
/// and up to three retries.
const RETRIES_MAX: u32 = RETRY_DELAYS.len() as u32;
/// No new attempt starts this long after a publish started: together with the publish
/// backend's first-byte timeout it bounds the time a request spends after its answer
/// (Fastly stops a trial account's execution at 60 s).
const PUBLISH_TIME_MAX: Duration = Duration::from_secs(10);

/// A run of publish calls, sent one after another in order: the first is started before
/// the poster's response is sent, the rest (a republished backlog) follow. Every call
/// and every retry is one backend request, taken from the execution's budget
/// (`budget::backend_request`) and from this publish's own bound; when either is spent,
/// the publish stops and says how many of its calls went out.
pub struct Publish {
    url: String,
    token: Option<String>,
    /// One body per call, in id order.
    bodies: Vec<String>,
    /// What is being published, for log lines (`room/id`).
    what: String,
    pending: Option<PendingRequest>,
    /// Requests this publish may still send (reserved in the budget, see `finish`).
    left: u32,
    started: Instant,
    /// Whether the publish API refused a call outright (a 4xx other than 429).
    refused: bool,
}

impl Publish {
    /// Starts publishing `items` with up to three retries in all (within what the
    /// execution has left); a failure to send is retried by [`Publish::finish`].
    pub fn start(config: &Config, what: String, items: &[Item]) -> Self {
        Self::start_within(config, what, items, u32::MAX)
    }

    /// Starts publishing `items`, sending at most `requests` backend requests (calls and
    /// retries; never more than its calls and three retries) in all. They are reserved
    /// in the execution's budget at once, so the response about to be sent reports them.
    pub fn start_within(config: &Config, what: String, items: &[Item], requests: u32) -> Self {
        let calls = items.len().div_ceil(ITEMS_PER_CALL) as u32;
        let left = requests
            .min(calls + RETRIES_MAX)
            .min(budget::backend_left());
        budget::reserve_backend(left);
        let mut publish = Self {
            url: config.publish_url(),
            token: config.publish_token(),
            bodies: items.chunks(ITEMS_PER_CALL).map(publish_body).collect(),
            what,
            pending: None,
            left,
            started: Instant::now(),
            refused: false,
        };
        publish.pending = publish.send(0);
        publish
    }

    /// Sends call `call`, if this publish and the execution may still send a request and
    /// there is time left; `None` otherwise (or if sending failed).
    fn send(&mut self, call: usize) -> Option<PendingRequest> {
        if call >= self.bodies.len() || !self.may_send() {
            return None;
        }
        self.left -= 1;
        budget::unreserve_backend(1);
        if !budget::backend_request() {
            return None;
        }
        let mut req = Request::new(Method::POST, &self.url)
            .with_header(header::CONTENT_TYPE, "application/json")
            .with_body(self.bodies[call].clone())
            .with_pass(true);
        if let Some(token) = &self.token {
            req.set_header("Fastly-Key", token);
        }
        req.send_async(PUBLISH_BACKEND)
            .inspect_err(|e| log::warn!("publish of {} not sent: {e}", self.what))
            .ok()
    }

    /// Whether another attempt may start: requests left, and time.
    fn may_send(&self) -> bool {
        self.left > 0 && self.started.elapsed() < PUBLISH_TIME_MAX
    }

    /// Waits for every call, in order, retrying what is worth retrying while the bound
    /// allows; returns how many calls (from the first) reached the publish API. A failure
    /// is logged.
    pub fn finish(self) -> usize {
        self.finish_noting_refusal().0
    }

    /// As [`Publish::finish`], and whether the call that stopped it was refused outright
    /// (a 4xx other than 429: retrying the same body cannot help).
    pub fn finish_noting_refusal(mut self) -> (usize, bool) {
        let mut sent = 0;
        for call in 0..self.bodies.len() {
            if call > 0 {
                self.pending = self.send(call);
            }
            if !self.finish_call(call) {
                break;
            }
            sent += 1;
        }
        // What was reserved and not needed is given back.
        budget::unreserve_backend(self.left);
        (sent, self.refused)
    }

    fn finish_call(&mut self, call: usize) -> bool {
        for (attempt, delay) in RETRY_DELAYS.iter().enumerate() {
            let outcome = self.pending.take().map(PendingRequest::wait);
            let pause = match outcome {
                Some(Ok(resp)) if resp.get_status().is_success() => return true,
                Some(Ok(resp)) if !is_retriable(resp.get_status()) => {
                    self.refused = true;
                    self.log_refusal(resp);
                    return false;
                }
                Some(Ok(resp)) => retry_after(&resp).unwrap_or(*delay),
                Some(Err(e)) => {
                    log::warn!(
                        "publish of {} failed (attempt {}): {e}",
                        self.what,
                        attempt + 1
                    );
                    *delay
                }
                None => *delay,
            };
            if !self.may_send() {
                break;
            }
            std::thread::sleep(pause);
            self.pending = self.send(call);
        }
        match self.pending.take().map(PendingRequest::wait) {
            Some(Ok(resp)) if resp.get_status().is_success() => return true,
            Some(Ok(resp)) => self.log_refusal(resp),
            Some(Err(e)) => log::error!("publish of {} failed: {e}", self.what),
            None => log::error!("publish of {} stopped: no request or time left", self.what),
        }
        false
    }

    fn log_refusal(&self, mut resp: Response) {
        let status = resp.get_status();
        let body = resp.take_body_str_lossy();
        log::error!("publish of {} refused: {status} {}", self.what, body.trim());
    }
}

/// Rate limited or a server-side failure: another try may well succeed.
fn is_retriable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// A `Retry-After` in seconds, if present and short enough to wait for.
fn retry_after(resp: &Response) -> Option<Duration> {
    let secs: u64 = resp.header_text(header::RETRY_AFTER)?.trim().parse().ok()?;
    Some(Duration::from_secs(secs).min(RETRY_AFTER_MAX))
}

#[cfg(test)]
mod tests;
