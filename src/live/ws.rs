//! WebSocket-over-HTTP (GRIP): how Fanout turns a WebSocket into plain HTTP requests,
//! and the JSON frames a socket carries. Pure: no host calls, so all of it is
//! unit-tested.
//!
//! Fanout holds the socket and calls the service once per batch of socket events with
//! `Content-Type: application/websocket-events`. The body is a sequence of events:
//!
//! ```text
//! OPEN\r\n                       the client connected (first request only)
//! TEXT <hex length>\r\n<bytes>\r\n a text frame      BINARY: the same, binary
//! PING / PONG [<hex>\r\n<bytes>]\r\n
//! CLOSE <hex>\r\n<2-byte code + reason>\r\n          the client closed
//! DISCONNECT\r\n                 the connection is gone without a close
//! ```
//!
//! The response body is events in the same syntax, sent to the client. Its first answer
//! must start with `OPEN` and carry `Sec-WebSocket-Extensions: grip`; a text frame that
//! starts with `c:` is then a control message to Fanout (`{"type":"subscribe",
//! "channel":…}`), and a frame for the client must start with `m:` (the prefix is
//! removed; an unprefixed frame is dropped). Published `ws-message` content goes to
//! the client as it is.
//!
//! Frames to the client are the SSE events in JSON, derived from the SSE frame itself
//! ([`from_sse`]) so that every event a room stream has (messages, resets, and whatever
//! is added later) reaches a socket in the same form: `{"event":"message","id":"5",
//! "data":{…}}`. Ephemeral events (presence, typing) have no `id`.

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// One WebSocket-over-HTTP event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsEvent {
    pub kind: String,
    pub content: Vec<u8>,
}

impl WsEvent {
    pub fn new(kind: &str, content: impl Into<Vec<u8>>) -> Self {
        Self {
            kind: kind.to_owned(),
            content: content.into(),
        }
    }

    pub fn text(content: impl Into<String>) -> Self {
        Self::new("TEXT", content.into().into_bytes())
    }

    /// A text frame for the client (`m:` + the frame: see the module docs).
    pub fn to_client(frame: &str) -> Self {
        Self::text(format!("m:{frame}"))
    }

    /// `CLOSE` with a status code and a reason (at most 123 bytes, as a close frame allows).
    pub fn close(code: u16, reason: &str) -> Self {
        let mut content = code.to_be_bytes().to_vec();
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        content.extend_from_slice(&reason.as_bytes()[..end]);
        Self::new("CLOSE", content)
    }

    /// A close event's status code, if it has one.
    pub fn close_code(&self) -> Option<u16> {
        (self.content.len() >= 2).then(|| u16::from_be_bytes([self.content[0], self.content[1]]))
    }
}

/// The body is not a sequence of events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

/// Parses a request body into its events.
pub fn parse_events(mut body: &[u8]) -> Result<Vec<WsEvent>, Malformed> {
    let mut events = Vec::new();
    while !body.is_empty() {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or(Malformed("an event line has no CRLF"))?;
        let line = std::str::from_utf8(&body[..line_end])
            .map_err(|_| Malformed("event line not UTF-8"))?;
        body = &body[line_end + 2..];
        let (kind, len) = match line.split_once(' ') {
            None => (line, None),
            Some((kind, hex)) => {
                let len = usize::from_str_radix(hex, 16)
                    .map_err(|_| Malformed("event length is not hex"))?;
                (kind, Some(len))
            }
        };
        if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Malformed("unknown event type"));
        }
        let content = match len {
            None => Vec::new(),
            Some(len) => {
                if body.len() < len + 2 || &body[len..len + 2] != b"\r\n" {
                    return Err(Malformed("event content is cut short"));
                }
                let content = body[..len].to_vec();
                body = &body[len + 2..];
                content
            }
        };
        events.push(WsEvent {
            kind: kind.to_owned(),
            content,
        });
    }
    Ok(events)
}

/// A response body of events.
pub fn encode_events(events: &[WsEvent]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        out.extend_from_slice(e.kind.as_bytes());
        if !e.content.is_empty() || e.kind == "TEXT" {
            out.extend_from_slice(format!(" {:x}\r\n", e.content.len()).as_bytes());
            out.extend_from_slice(&e.content);
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The control message that subscribes the socket to `channel`.
pub fn subscribe(channel: &str) -> WsEvent {
    WsEvent::text(format!(
        "c:{}",
        json!({"type": "subscribe", "channel": channel})
    ))
}

/// The control message that has Fanout send a `keep-alive` frame after `secs` of
/// silence, as SSE streams get one: a page can tell a dead socket from a quiet room.
pub fn keep_alive(secs: u32) -> WsEvent {
    let frame = json!({"event": "keep-alive", "data": ""}).to_string();
    WsEvent::text(format!(
        "c:{}",
        json!({"type": "keep-alive", "content": frame, "timeout": secs})
    ))
}

/// An SSE frame (`event:`, `id:`, `data:` lines) as a socket's JSON frame:
/// `{"event": name, "id": id (if any), "data": parsed data (or its text)}`.
pub fn from_sse(frame: &str) -> String {
    let mut event = "message";
    let mut id = None;
    let mut data: Vec<&str> = Vec::new();
    for line in frame.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = value,
            "id" => id = Some(value),
            "data" => data.push(value),
            _ => {}
        }
    }
    let data = data.join("\n");
    let mut out = Map::new();
    out.insert("event".into(), Value::from(event));
    if let Some(id) = id {
        out.insert("id".into(), Value::from(id));
    }
    let value = serde_json::from_slice(data.as_bytes()).unwrap_or(Value::String(data));
    out.insert("data".into(), value);
    Value::Object(out).to_string()
}

/// Close codes (RFC 6455 §7.4.1).
pub const CLOSE_NORMAL: u16 = 1000;
/// The frame's type is not one this service accepts (binary).
pub const CLOSE_UNSUPPORTED: u16 = 1003;
/// The frame breaks the protocol's rules (not the JSON expected, someone else's name).
pub const CLOSE_POLICY: u16 = 1008;
/// Longest text frame accepted from a client (the HTTP body limit).
pub const FRAME_MAX: usize = 16 * 1024;

/// What a client may send over its socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    /// `{"type":"message","text":…}`, plus `"from"` in open mode as the form has it.
    Message {
        from: Option<String>,
        text: Option<String>,
    },
    /// `{"type":"typing"}`, plus `"from"` in open mode.
    Typing { from: Option<String> },
    /// `{"type":"resume","after":n}`: send what came after `n` (the client saw a gap).
    Resume { after: u64 },
}

/// Why a client frame is refused: the close code and a reason for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: u16,
    pub reason: String,
}

impl Refusal {
    pub fn policy(reason: impl Into<String>) -> Self {
        Self {
            code: CLOSE_POLICY,
            reason: reason.into(),
        }
    }
}

/// Parses a client's text frame.
pub fn parse_client_frame(text: &[u8]) -> Result<ClientFrame, Refusal> {
    #[derive(Deserialize)]
    #[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
    enum Wire {
        Message {
            from: Option<String>,
            text: Option<String>,
        },
        Typing {
            from: Option<String>,
        },
        Resume {
            after: u64,
        },
    }
    if text.len() > FRAME_MAX {
        return Err(Refusal::policy(format!(
            "Frames are at most {FRAME_MAX} bytes."
        )));
    }
    let wire: Wire = serde_json::from_slice(text).map_err(|e| {
        Refusal::policy(format!(
            "Expected a JSON object with \"type\" message, typing or resume: {e}."
        ))
    })?;
    Ok(match wire {
        Wire::Message { from, text } => ClientFrame::Message { from, text },
        Wire::Typing { from } => ClientFrame::Typing { from },
        Wire::Resume { after } => ClientFrame::Resume { after },
    })
}

/// A frame telling the client why what it sent was refused, keeping the socket open:
/// the same JSON as the HTTP API's errors.
pub fn error_frame(code: &str, message: &str, field: Option<&str>) -> String {
    let mut data = json!({"error": code, "message": message});
    if let Some(field) = field {
        data["field"] = Value::from(field);
    }
    json!({"event": "error", "data": data}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse_and_encode() {
        let body = b"OPEN\r\nTEXT 5\r\nhello\r\nPING\r\nCLOSE 2\r\n\x03\xe8\r\nDISCONNECT\r\n";
        let events = parse_events(body).unwrap();
        let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["OPEN", "TEXT", "PING", "CLOSE", "DISCONNECT"]);
        assert_eq!(events[1].content, b"hello");
        assert_eq!(events[3].close_code(), Some(1000));
        assert_eq!(encode_events(&events), body);
        // Content may hold CRLFs: the length decides.
        let events = parse_events(b"TEXT 4\r\na\r\nb\r\n").unwrap();
        assert_eq!(events[0].content, b"a\r\nb");
        assert_eq!(encode_events(&[WsEvent::text("")]), b"TEXT 0\r\n\r\n");
        for bad in [
            &b"OPEN"[..],
            b"TEXT 9\r\nshort\r\n",
            b"TEXT zz\r\nx\r\n",
            b"open\r\n",
            b"TEXT 1\r\nab\r\n",
            b"\r\n",
        ] {
            assert!(parse_events(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_events(b"").unwrap(), []);
    }

    #[test]
    fn close_reasons_are_cut_at_a_character() {
        let e = WsEvent::close(1008, &"é".repeat(100));
        assert_eq!(e.close_code(), Some(1008));
        assert_eq!(e.content.len(), 2 + 122);
        assert!(std::str::from_utf8(&e.content[2..]).is_ok());
    }

    #[test]
    fn sse_frames_become_json_frames() {
        let frame = "event: message\nid: 5\ndata: {\"id\":5,\"text\":\"a\\nb\"}\n\n";
        let json: Value = serde_json::from_str(&from_sse(frame)).unwrap();
        assert_eq!(
            json,
            json!({"event": "message", "id": "5", "data": {"id": 5, "text": "a\nb"}})
        );
        let json: Value = serde_json::from_str(&from_sse("event: stream-open\ndata:\n\n")).unwrap();
        assert_eq!(json, json!({"event": "stream-open", "data": ""}));
        assert!(from_sse("event: x\ndata: {}").starts_with('{'), "never c:");
        assert_eq!(
            subscribe("room-a").content,
            br#"c:{"channel":"room-a","type":"subscribe"}"#
        );
    }

    #[test]
    fn client_frames() {
        assert_eq!(
            parse_client_frame(br#"{"type":"message","text":"hi","from":"ann"}"#),
            Ok(ClientFrame::Message {
                from: Some("ann".into()),
                text: Some("hi".into())
            })
        );
        assert_eq!(
            parse_client_frame(br#"{"type":"typing"}"#),
            Ok(ClientFrame::Typing { from: None })
        );
        assert_eq!(
            parse_client_frame(br#"{"type":"resume","after":3}"#),
            Ok(ClientFrame::Resume { after: 3 })
        );
        for bad in [
            &br#"not json"#[..],
            br#"[]"#,
            br#"{"type":"shout"}"#,
            br#"{"text":"no type"}"#,
            br#"{"type":"message","text":5}"#,
            br#"{"type":"typing","extra":1}"#,
            br#"{"type":"resume","after":-1}"#,
        ] {
            let refusal = parse_client_frame(bad).unwrap_err();
            assert_eq!(refusal.code, CLOSE_POLICY, "{bad:?}");
        }
        let huge = format!(r#"{{"type":"message","text":"{}"}}"#, "x".repeat(FRAME_MAX));
        assert_eq!(
            parse_client_frame(huge.as_bytes()).unwrap_err().code,
            CLOSE_POLICY
        );
    }
}
