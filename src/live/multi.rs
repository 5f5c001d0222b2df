//! One stream for several rooms (`GET /events/?channel=a&channel=b`), as the Django
//! seed's django-eventstream served it, with its composite event ids.
//!
//! # Event ids
//! An event id names a position in every room of the stream: `a:5,b:7` (room, `:`,
//! the id of the last event of that room the client has, rooms joined by `,`; room
//! names never contain `:` or `,`). A client resuming with it gets exactly what came
//! after each position; a room the id does not name starts live.
//!
//! # Why Fanout writes the ids
//! A published item is the same bytes for every subscriber, but the composite id after
//! a message in room `a` depends on where each subscriber is in `b`. So the item's
//! content says `id: %I`, and the stream's hold asks Fanout (Pushpin's `build-id`
//! filter) to render `%I` from its own per-channel last ids with the format the hold set
//! (`Grip-Set-Meta: id_format="a:%(multi-a)s,b:%(multi-b)s"`). Content passed through
//! that filter treats `%` as special, so every `%` in the data is written `%%`.
//!
//! # Channels
//! Multi-room streams hold `multi-{room}` channels, one per room, each with its own
//! `prev-id`, so Fanout's gap recovery works per room. They are separate from the
//! `room-{room}` channels because their content differs (the filter, the room in the
//! data); a message is published to both, in separate calls (`api::publish_new`): the
//! filter and `%I` are Pushpin's and Fastly does not document them, so if the publish
//! API refused these items, only multi-room streams would miss the message live, never
//! the room's own subscribers.
//!
//! # Links
//! Pushpin shares one fetch of a `Grip-Link` among streams asking for the same path and
//! `Grip-Last`, whatever the query, so a link's path carries the whole composite
//! position (which also names the rooms): `/events/next/a:5%2Cb:7/`. Commas are
//! percent-encoded there because `Grip-Link` is a comma-separated header.

use super::backlog::{Then, catch_up as room_catch_up};
use super::publish::Item;
use super::sse;
use crate::model::{Invalid, MessageId, RoomId, parse_id as parse_message_id};
use crate::store::{Rooms, StoreError};

/// Most rooms one stream may carry (Fanout's subscriptions per connection are bounded).
pub const ROOMS_MAX: usize = 10;
/// The Pushpin filter that renders composite ids.
pub const BUILD_ID: &str = "build-id";

/// Where a stream is in each of its rooms, in the stream's room order.
pub type Positions = Vec<(RoomId, MessageId)>;

/// How long a POP remembers that the publish API refused a call carrying multi-room
/// items (see [`refused`]).
const REFUSED_MEMORY: std::time::Duration = std::time::Duration::from_secs(600);
const REFUSED_KEY: &str = "edge-chat:multi-items-refused";

/// Whether the publish API refused a call with multi-room items in it lately at this POP:
/// then they go in calls of their own (`api::publish_new`), so that no refusal of them
/// can hold back a room's own items.
pub fn refused() -> bool {
    crate::cache::read(REFUSED_KEY).is_some()
}

/// Remembers such a refusal.
pub fn remember_refused() {
    log::error!("the publish API refused a call with multi-room items: sending them apart");
    if let Err(e) = crate::cache::write(REFUSED_KEY, REFUSED_MEMORY, b"1") {
        log::warn!("multi-room refusal not remembered: {e}");
    }
}

pub use super::channels::multi as channel;

/// The rooms of `?channel=` values: 1 to 10 distinct valid room ids.
pub fn parse_rooms(values: &[String]) -> Result<Vec<RoomId>, Invalid> {
    if values.is_empty() || values.len() > ROOMS_MAX {
        return Err(Invalid::new(
            "channel",
            format!(
                "Name 1 to {ROOMS_MAX} rooms, each as a channel parameter (it has {}).",
                values.len()
            ),
        ));
    }
    let mut rooms: Vec<RoomId> = Vec::with_capacity(values.len());
    for value in values {
        let room = RoomId::parse(value).map_err(|e| Invalid::new("channel", e.message))?;
        if rooms.contains(&room) {
            return Err(Invalid::new(
                "channel",
                format!("The room '{room}' is named twice."),
            ));
        }
        rooms.push(room);
    }
    Ok(rooms)
}

/// `a:5,b:7`.
pub fn format_id(positions: &[(RoomId, MessageId)]) -> String {
    let parts: Vec<String> = positions
        .iter()
        .map(|(r, id)| format!("{r}:{id}"))
        .collect();
    parts.join(",")
}

/// Parses a composite id (commas may come percent-encoded, as in a link's path).
pub fn parse_id(raw: &str) -> Option<Positions> {
    let raw = raw.replace("%2C", ",").replace("%2c", ",");
    let mut positions: Positions = Vec::new();
    for part in raw.split(',') {
        let (room, id) = part.trim().rsplit_once(':')?;
        let room = RoomId::parse(room).ok()?;
        if positions.iter().any(|(r, _)| *r == room) || positions.len() == ROOMS_MAX {
            return None;
        }
        positions.push((room, parse_message_id(id)?));
    }
    Some(positions)
}

/// The id as a path segment of a link.
pub fn path_id(positions: &[(RoomId, MessageId)]) -> String {
    format_id(positions).replace(',', "%2C")
}

/// The `id_format` a hold gives Fanout's `build-id` filter.
pub fn id_format(rooms: &[RoomId]) -> String {
    let parts: Vec<String> = rooms
        .iter()
        .map(|r| format!("{r}:%({})s", channel(r)))
        .collect();
    parts.join(",")
}

/// A room stream's SSE frame as a multi-room stream frame: its id replaced by `id` (if it
/// had one) and `"room"` added to its JSON data.
pub fn frame(room: &RoomId, single: &str, id: &str) -> String {
    let mut out = String::new();
    for line in single.lines().filter(|l| !l.is_empty()) {
        if line.starts_with("id:") {
            out.push_str(&format!("id: {id}\n"));
        } else if let Some(data) = line.strip_prefix("data: {") {
            let sep = if data.starts_with('}') { "" } else { "," };
            out.push_str(&format!("data: {{\"room\":\"{room}\"{sep}{data}\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push('\n');
    out
}

/// The event id of a room stream's frame, if it has one.
fn frame_id(single: &str) -> Option<MessageId> {
    single
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .and_then(parse_message_id)
}

/// The item entry `id` of a room is published as to multi-room streams, from the room
/// stream's frame (`content`): Fanout writes its id.
pub fn item(room: &RoomId, id: MessageId, content: &str) -> Item {
    let escaped = frame(room, content, "\u{0}").replace('%', "%%");
    Item {
        channel: channel(room),
        id: Some(id.to_string()),
        prev_id: Some((id - 1).to_string()),
        content: escaped.replace('\u{0}', "%I"),
        filters: &[BUILD_ID],
        ws: None,
        response: None,
        ending: crate::live::publish::Ending::No,
    }
}

/// What a (re)connecting multi-room subscriber is sent before it goes live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatchUp {
    /// Where the stream starts in each room, before the frames.
    pub start: Positions,
    /// The backlog's SSE frames, each with the composite id after it.
    pub frames: String,
    /// Where the stream is after the frames.
    pub end: Positions,
    /// Some room has more stored than one response carries: fetch the next page.
    pub cut: bool,
}

/// Reads each room's backlog after its start (`None`: live), room by room, up to a
/// page (`backlog::BACKLOG_MAX`) per room.
///
/// `is_link`: Fanout fetched this page (`backlog::catch_up`'s `fanout_saw_more`).
pub fn catch_up(
    rooms: &Rooms,
    starts: &[(RoomId, Option<MessageId>)],
    is_link: bool,
) -> Result<CatchUp, StoreError> {
    let mut plans = Vec::with_capacity(starts.len());
    for (room, after) in starts {
        plans.push((room, *after, room_catch_up(rooms, room, *after, is_link)?));
    }
    let start: Positions = plans
        .iter()
        .map(|(room, after, plan)| {
            let live = match plan.then {
                Then::Hold { prev_id } => prev_id,
                Then::Continue { .. } => 0,
            };
            ((*room).clone(), after.unwrap_or(live))
        })
        .collect();
    let mut end = start.clone();
    let mut frames = String::new();
    let mut cut = false;
    for (n, (room, _, plan)) in plans.iter().enumerate() {
        for event in &plan.events {
            // The room's position after an event is the id its room stream gives it,
            // whatever kind of event it is.
            let single = sse::frame(event);
            if let Some(id) = frame_id(&single) {
                end[n].1 = id;
            }
            frames.push_str(&frame(room, &single, &format_id(&end)));
        }
        end[n].1 = match plan.then {
            Then::Hold { prev_id } => prev_id,
            Then::Continue { last_sent } => {
                cut = true;
                last_sent
            }
        };
    }
    Ok(CatchUp {
        start,
        frames,
        end,
        cut,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::room;

    #[test]
    fn composite_ids() {
        let p = parse_id("a:5,b.c:0").unwrap();
        assert_eq!(p, vec![(room("a"), 5), (room("b.c"), 0)]);
        assert_eq!(format_id(&p), "a:5,b.c:0");
        assert_eq!(path_id(&p), "a:5%2Cb.c:0");
        assert_eq!(parse_id("a:5%2Cb.c:0"), Some(p));
        for bad in [
            "", "a", "a:", "a:x", "a:1,a:2", ":1", "a b:1", "a:-1", "a:1,,b:2",
        ] {
            assert_eq!(parse_id(bad), None, "{bad:?}");
        }
        let eleven: Vec<String> = (0..11).map(|n| format!("r{n}:1")).collect();
        assert_eq!(parse_id(&eleven.join(",")), None);
        assert_eq!(
            id_format(&[room("a"), room("b")]),
            "a:%(multi-a)s,b:%(multi-b)s"
        );
    }

    #[test]
    fn room_lists() {
        let list = |v: &[&str]| parse_rooms(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(list(&["a", "b"]).unwrap(), vec![room("a"), room("b")]);
        for bad in [&[][..], &["a", "a"], &["a", "bad room"], &["events"]] {
            assert_eq!(list(bad).unwrap_err().field, "channel", "{bad:?}");
        }
        let ten: Vec<String> = (0..10).map(|n| format!("r{n}")).collect();
        assert!(parse_rooms(&ten).is_ok());
        let eleven: Vec<String> = (0..11).map(|n| format!("r{n}")).collect();
        assert!(parse_rooms(&eleven).is_err());
    }

    #[test]
    fn frames_name_their_room() {
        let single = "event: message\nid: 5\ndata: {\"id\":5}\n\n";
        assert_eq!(
            frame(&room("a"), single, "a:5,b:2"),
            "event: message\nid: a:5,b:2\ndata: {\"room\":\"a\",\"id\":5}\n\n"
        );
        assert_eq!(
            frame(&room("a"), "event: x\ndata: {}\n\n", "z"),
            "event: x\ndata: {\"room\":\"a\"}\n\n"
        );
    }
}
