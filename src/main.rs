//! edge-chat: a realtime chat that runs entirely on Fastly Compute.
//!
//! Rooms and messages live in a KV Store (`store`), live streams are held by Fanout
//! (`grip`, `events`), and each new message is published through the Fastly publish
//! API (`publish`). `routes` decides where a request goes.

mod api;
mod assets;
mod config;
mod error;
mod events;
mod grip;
mod model;
mod pages;
mod publish;
mod routes;
mod sse;
mod store;
mod timing;

use fastly::Request;

/// Not `#[fastly::main]`: a request handed to Fanout gets no response from us, and a
/// POST keeps running after its response is sent, to wait for its publish.
fn main() {
    init_logging();
    routes::serve(Request::from_client());
}

/// Log lines go to the `edge_chat` log endpoint if the service has one, and to stderr,
/// which `fastly log-tail` and Viceroy's console show.
fn init_logging() {
    let _ = log_fastly::Logger::builder()
        .max_level(log::LevelFilter::Info)
        .default_endpoint("edge_chat")
        .echo_stderr(true)
        .try_init();
}
