//! `GET /events/?channel=a&channel=b…`: one SSE stream of several rooms (the room list
//! of the UI counts unread messages with it). Handed to Fanout like a room's stream;
//! the call-back replays each room's backlog after the stream's composite position and
//! holds every room's `multi-` channel with its own prev-id (see `live::multi`).

use fastly::http::Method;
use fastly::{Request, Response};

use super::events::verified_callback;
use super::holder::{self, Refusal};
use super::private::gate::{self, Use};
use crate::config::Config;
use crate::headers::{HeaderText, all_values};
use crate::http::body::{query_pairs, query_param};
use crate::http::error::ApiError;
use crate::http::routes::multi_page_path;
use crate::http::send;
use crate::live::grip::{self, keep_alive_and_link};
use crate::live::multi::{self, BUILD_ID, Positions};
use crate::live::resume::grip_last_id;
use crate::live::sse;
use crate::model::{Invalid, MessageId, RoomId, parse_id};
use crate::store::Rooms;
use crate::timing::KvMeter;

/// `page`: the composite position in a link's path (`/events/next/{id}/`).
pub fn serve(req: Request, page: Option<&str>, config: &Config, meter: &KvMeter) {
    if req.get_method() != Method::GET {
        return send(Err(ApiError::method_not_allowed("GET")), meter);
    }
    let rooms = match stream_rooms(&req, page) {
        Ok(rooms) => rooms,
        Err(e) => return send(Err(e), meter),
    };
    // A stream naming a private room is its members' only (404 like a room that is not).
    // (A link's are checked by its pass, `holder`, which ends the stream instead.)
    let link = page.is_some() && req.contains_header("Grip-Sig");
    for room in rooms.iter().filter(|r| r.is_private() && !link) {
        if let Err(outsider) = gate::admit(&req, room, Use::Member, config, meter) {
            return send(Err(outsider), meter);
        }
    }
    if let Some(req) = verified_callback(req, config, meter) {
        let answer = Rooms::open(meter, config.retention())
            .map_err(ApiError::from)
            .and_then(|store| subscribe(&req, &rooms, page, &store, config, meter));
        send(answer, meter);
    }
}

/// The stream's rooms: the `channel` parameters, or for a link the rooms its position
/// names. 400 unless there are 1 to 10 distinct valid ones.
fn stream_rooms(req: &Request, page: Option<&str>) -> Result<Vec<RoomId>, ApiError> {
    if let Some(raw) = page {
        let positions = multi::parse_id(raw)
            .ok_or_else(|| Invalid::new("channel", "This link's position is not a stream id."))?;
        return Ok(positions.into_iter().map(|(room, _)| room).collect());
    }
    let values: Vec<String> = query_pairs(req)
        .into_iter()
        .filter(|(k, _)| k == "channel")
        .map(|(_, v)| v)
        .collect();
    Ok(multi::parse_rooms(&values)?)
}

/// Where the stream starts in each room: `None` is live. A client's request resumes
/// from `Last-Event-ID`, else `?lastEventId=`, else Fanout's `Grip-Last`; a link from
/// the later of its path's position and `Grip-Last`, room by room (recovery only moves
/// forward). `Err` carries a malformed id.
fn starts(
    req: &Request,
    rooms: &[RoomId],
    page: Option<&str>,
) -> Result<Vec<(RoomId, Option<MessageId>)>, String> {
    let grip_last = all_values(req, "Grip-Last").unwrap_or_default();
    let fanout_has =
        |room: &RoomId| grip_last_id(&grip_last, &multi::channel(room)).and_then(parse_id);
    let given = match page {
        Some(raw) => Some(raw.to_owned()),
        None => req
            .header_text("Last-Event-ID")
            .map(str::to_owned)
            .filter(|v| !v.trim().is_empty())
            .or_else(|| query_param(req, "lastEventId").filter(|v| !v.trim().is_empty())),
    };
    let positions: Positions = match &given {
        Some(raw) => multi::parse_id(raw).ok_or_else(|| raw.clone())?,
        None => Vec::new(),
    };
    let is_link = page.is_some();
    Ok(rooms
        .iter()
        .map(|room| {
            let said = positions.iter().find(|(r, _)| r == room).map(|(_, id)| *id);
            let start = match (said, fanout_has(room)) {
                (Some(a), Some(b)) if is_link => Some(a.max(b)),
                (Some(a), _) => Some(a),
                (None, b) if given.is_none() || is_link => b,
                (None, _) => None,
            };
            (room.clone(), start)
        })
        .collect())
}

/// The body a subscriber is sent first, and how Fanout holds the stream after it.
fn subscribe(
    req: &Request,
    rooms: &[RoomId],
    page: Option<&str>,
    store: &Rooms,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    let is_link = page.is_some();
    let recheck = match holder::admit(req, config, meter, is_link, rooms) {
        Ok(recheck) => recheck,
        Err(Refusal::Api(e)) => return Err(e),
        Err(Refusal::Ended(error)) => {
            let open = if is_link { "" } else { sse::stream_open() };
            return Ok(grip::event_stream(format!("{open}{error}")));
        }
    };
    let recheck = recheck.as_ref();
    let starts = match starts(req, rooms, page) {
        Ok(starts) => starts,
        Err(raw) => {
            let open = if is_link { "" } else { sse::stream_open() };
            let error = sse::stream_error(&format!(
                "Invalid event id {raw:?}: expected room:id pairs joined by commas."
            ));
            return Ok(grip::event_stream(format!("{open}{error}")));
        }
    };
    let catch_up = multi::catch_up(store, &starts, is_link)?;
    let mut body = String::new();
    if !is_link {
        // With an id, so a client that came without one can resume from here.
        let start_id = multi::format_id(&catch_up.start);
        body.push_str(&format!("event: stream-open\nid: {start_id}\ndata:\n\n"));
    }
    body.push_str(&catch_up.frames);
    let mut resp = grip::event_stream(body);
    let next = format!("{}?link=next", multi_page_path(&catch_up.end));
    if catch_up.cut && !is_link {
        grip::continue_at(&mut resp, &next, recheck);
        return Ok(resp);
    }
    // A held stream's pages are holds themselves (Pushpin 1.36 aborts otherwise).
    for (room, id) in &catch_up.end {
        resp.append_header(
            "Grip-Channel",
            format!("{}; prev-id={id}; filter={BUILD_ID}", multi::channel(room)),
        );
    }
    resp.set_header("Grip-Hold", "stream");
    resp.set_header(
        "Grip-Set-Meta",
        format!("id_format=\"{}\"", multi::id_format(rooms)),
    );
    let link = if catch_up.cut {
        next
    } else {
        format!("{next}&recover=true")
    };
    keep_alive_and_link(
        &mut resp,
        config.keep_alive_secs(),
        &link,
        catch_up.cut,
        recheck,
    );
    Ok(resp)
}
