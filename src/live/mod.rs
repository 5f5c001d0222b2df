//! Live rooms: what a (re)connecting subscriber is sent before it goes live, how that is
//! framed, how Fanout is told to hold the connection, and how new events reach it.
//!
//! * `event`: a room stream's events, whatever carries them.
//! * `resume`: where a subscription starts (`Last-Event-ID`, `?lastEventId=`, `Grip-Last`).
//! * `backlog`: the catch-up plan and the messages it needs from the store.
//! * `sse`: Server-Sent Events framing of those events.
//! * `channels`: the names of the Fanout channels (a leaf every other module may use).
//! * `grip`: the GRIP instructions that make Fanout hold a stream.
//! * `publish`: items sent to the publish API when something happens in a room.
//! * `unpublished`: what a POP failed to publish, so the next post sends it too.
//! * `multi`: one stream for several rooms, with composite ids Fanout renders.
//! * `presence`: who is here and who is typing (ephemeral, on a channel of its own).
//! * `ws`: WebSocket-over-HTTP events and the JSON frames a socket carries.
//! * `poll`: long-poll answers, immediate or published.
//!
//! Nothing here knows about routes or HTTP status codes: the `http` layer puts these
//! pieces together for each transport.

pub mod backlog;
pub mod channels;
pub mod event;
pub mod grip;
pub mod multi;
pub mod poll;
pub mod presence;
#[cfg(test)]
mod props;
pub mod publish;
pub mod resume;
pub mod sse;
pub mod unpublished;
pub mod ws;
