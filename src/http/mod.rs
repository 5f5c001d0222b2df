//! The HTTP boundary: where each request goes, and the one place responses leave.
//!
//! * `routes`: the one route table (API, pages, assets) and path builders.
//! * `api`: the JSON and SSE API under `/rooms/`.
//! * `error`: `ApiError`, the JSON error every failure becomes.
//! * `body`: bounded bodies, forms and query numbers.
//! * `client`: taking the client request without trusting its URL.
//! * `deployment`: the 503 of a deployment left with placeholders (`deploy`).
//!
//! The config is opened once per request here and handed down.

mod access;
pub mod api;
mod body;
pub mod client;
mod deployment;
pub mod error;
#[cfg(test)]
mod props;
pub mod routes;
mod throttle;

use fastly::http::{Method, StatusCode, header};
use fastly::{Request, Response};

use self::api::private::gate::{self, Use};
use self::body::query_pairs;
use self::error::ApiError;
use self::routes::{AuthRoute, Route};
use crate::auth::{self, csrf};
use crate::config::{AuthMode, Config};
use crate::headers::HeaderText;
use crate::model::RoomId;
use crate::timing::KvMeter;
use crate::web::{self, Identity, assets};

/// Longest POP name taken from the environment or a test header (POP codes are 3-4).
const POP_MAX: usize = 32;

/// The POP a local test says this request stands in for (config `pop_header` names the
/// header; never honoured in production, see `Config::pop_header`).
pub fn simulated_pop(req: &Request, config: &Config) -> Option<String> {
    let name = config.pop_header()?;
    let name = fastly::http::HeaderName::from_bytes(name.trim().as_bytes()).ok()?;
    req.header_text(name)
        .filter(|pop| valid_pop(pop))
        .map(str::to_owned)
}

/// A POP name: 1 to `POP_MAX` letters, digits and dashes.
pub fn valid_pop(pop: &str) -> bool {
    !pop.is_empty()
        && pop.len() <= POP_MAX
        && pop.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

pub fn serve(req: Request) {
    let meter = KvMeter::default();
    let config = Config::open();
    auth::standing::take_cookie();
    web::headers::note_https(auth::is_secure(&req));
    crate::store::simulate(config.kv_delay(), config.kv_list_order());
    crate::store::simulate_pop(simulated_pop(&req, &config).as_deref());
    let faults = config.kv_fault_header();
    crate::store::fail_kv(faults.and_then(|h| req.header_text(h.as_str())));
    let path = req.get_path().to_owned();
    let route = Route::parse(&path);
    if let Some(refused) = deployment::refusal(&req, &route, &config) {
        return send(Ok(refused), &meter);
    }
    // A socket's handshake is checked by its handler, as a write (api::ws); Fanout's
    // call-backs for it carry the handshake's Origin but reach us at Fanout's host.
    let socket = matches!(route, Route::Ws(_));
    if !socket && is_cross_site(&req, &config, req.get_method()) {
        let refused = ApiError::forbidden("Cross-site requests cannot change anything here.");
        return send(Err(refused), &meter);
    }
    // Fanout's socket call-backs are POSTs from Fanout's address, not the client's; the
    // messages they carry pass the post limits like any post (api::ws).
    // Erasure steps are the service's own requests, signed (api::moderation::erasure).
    if !req.get_method().is_safe()
        && !socket
        && !matches!(route, Route::Erasure(_))
        && let Err(flooding) = throttle::flood_guard(&req, &config)
    {
        return send(Err(flooding), &meter);
    }
    // Private rooms: members only (admins moderating), on every path that names a room.
    if let Some((raw, use_)) = room_use(&route, req.get_method()).filter(|_| !is_link(&req, &route))
        && let Ok(room) = RoomId::parse(raw)
        && let Err(outsider) = gate::admit(&req, &room, use_, &config, &meter)
    {
        if matches!(route, Route::Chat(_)) && outsider.status == StatusCode::NOT_FOUND {
            return send(Ok(web::not_found(req.get_path(), &config)), &meter);
        }
        return send(Err(outsider), &meter);
    }
    match route {
        Route::Rooms => send(api::private::rooms::create(req, &config, &meter), &meter),
        Route::Dms => send(api::private::rooms::direct(req, &config, &meter), &meter),
        Route::MyRooms => send(api::private::me::rooms(req, &config, &meter), &meter),
        Route::Blocks(name) => send(api::private::me::blocks(req, name, &config, &meter), &meter),
        Route::MyEvents(page) => api::me_events::serve(req, page, &config, &meter),
        Route::Invite(token) => send(
            api::private::invites::join(req, token, &config, &meter),
            &meter,
        ),
        Route::Invites(raw) => {
            let answer = RoomId::parse(raw)
                .map_err(ApiError::from)
                .and_then(|room| api::private::invites::manage(req, &room, &config, &meter));
            send(answer, &meter)
        }
        Route::Members(raw, name) => {
            let answer = RoomId::parse(raw)
                .map_err(ApiError::from)
                .and_then(|room| api::private::rooms::members(req, &room, name, &config, &meter));
            send(answer, &meter)
        }
        Route::Messages(room) => api::messages::serve(req, room, &config, &meter),
        Route::Message(room, id) => api::moderation::serve_message(req, room, id, &config, &meter),
        Route::Reactions(room, id, emoji) => {
            api::reactions::serve(req, [room, id], emoji, &config, &meter)
        }
        Route::Events(room, page) => api::events::serve(req, room, page, &config, &meter),
        Route::MultiEvents(page) => api::multi_events::serve(req, page, &config, &meter),
        Route::Ws(room) => api::ws::serve(req, room, &config, &meter),
        Route::Presence(room) => api::presence::serve(req, room, &config, &meter),
        Route::Erasure(room) => api::moderation::erasure::serve(req, room, &config, &meter),
        Route::Auth(route) => {
            let answer = match config.auth_mode() {
                AuthMode::Passkey => ceremony_allowed(&req, route, &config).and_then(|()| {
                    if route.is_account() {
                        api::account::serve(req, route, &config, &meter)
                    } else {
                        api::auth::serve(req, route, &config, &meter)
                    }
                }),
                AuthMode::Open => Err(ApiError::not_found()),
            };
            send(answer, &meter)
        }
        Route::ApiNotFound => send(Err(ApiError::not_found()), &meter),
        page => send(Ok(pages(&req, page, &config, &meter)), &meter),
    }
}

/// A link Fanout fetches to continue a stream: its pass is checked, membership too, by
/// the stream's own handler (`api::holder`), which ends the stream rather than answer 404.
fn is_link(req: &Request, route: &Route) -> bool {
    matches!(route, Route::Events(_, Some(_)))
        || matches!(route, Route::Events(_, None))
            && query_pairs(req)
                .iter()
                .any(|(k, v)| k == "link" && v == "next")
}

/// The room a route names and what it does there, for the private-room gate: deleting,
/// editing, clearing and erasing are moderation, which admins may do in any room.
fn room_use<'a>(route: &Route<'a>, method: &Method) -> Option<(&'a str, Use)> {
    let moderates = matches!(*method, Method::DELETE | Method::PATCH);
    match *route {
        Route::Messages(room) | Route::Message(room, _) if moderates => Some((room, Use::Moderate)),
        Route::Erasure(room) => Some((room, Use::Moderate)),
        Route::Messages(room)
        | Route::Message(room, _)
        | Route::Reactions(room, _, _)
        | Route::Events(room, _)
        | Route::Ws(room)
        | Route::Presence(room)
        | Route::Chat(room) => Some((room, Use::Member)),
        _ => None,
    }
}

/// Everything outside the API: pages, assets and friendly errors, always HTML for
/// page-shaped paths; other paths answer HTML only to a client that accepts it, since
/// scripts probing the API expect its JSON errors.
fn pages(req: &Request, route: Route, config: &Config, meter: &KvMeter) -> Response {
    if let Route::Asset(path) = route
        && let Some((asset, fingerprinted)) = assets::find(path)
    {
        return assets::respond(req, asset, fingerprinted);
    }
    if !matches!(*req.get_method(), Method::GET | Method::HEAD) {
        return web::method_not_allowed(config);
    }
    let query = query_pairs(req);
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    // Pages are for browsers: in passkey mode they go by the session cookie alone.
    let session = match config.auth_mode() {
        AuthMode::Passkey => Some(auth::session_of(req, config, meter)),
        AuthMode::Open => None,
    };
    match (route, session) {
        (Route::Join, None) => web::join(&query, config),
        (Route::Join, Some(Some(me))) => web::pick_room(&me.name, &query, config),
        (Route::Join, Some(None)) => web::sign_in(param("next"), config),
        (Route::Account, Some(Some(me))) => web::account(&me.name, &me.user_id, config),
        (Route::Account, Some(None)) => web::to_sign_in("/account", config),
        (Route::Robots, _) => assets::respond(req, assets::get("robots.txt"), false),
        (Route::Chat(raw), session) => match (RoomId::parse(raw), session) {
            (Ok(room), None) => {
                web::chat(&room, Identity::Nickname(param("user")), &[], config, meter)
            }
            (Ok(room), Some(Some(me))) => {
                // The page only shows admin controls; the API checks again (`auth::admins`).
                let listed = auth::admins::listed(&config.admins(), &me.user_id, &me.name);
                let who = match listed {
                    auth::admins::Listed::No => Identity::SignedIn(&me.name),
                    _ => Identity::Admin(&me.name),
                };
                web::chat(
                    &room,
                    who,
                    &blocked_names(&me.user_id, meter),
                    config,
                    meter,
                )
            }
            (Ok(room), Some(None)) => web::to_sign_in(&format!("/{room}"), config),
            (Err(_), _) => web::not_found(req.get_path(), config),
        },
        _ if !accepts_html(req) => ApiError::not_found().into_response(),
        _ => web::not_found(req.get_path(), config),
    }
}

/// Whose messages `user_id`'s pages hide (`/me/blocks/`): one lookup of their record. A
/// failed lookup hides nothing rather than failing the page; the script asks again.
fn blocked_names(user_id: &str, meter: &KvMeter) -> Vec<String> {
    let user = crate::store::Accounts::open(meter).and_then(|a| a.user(user_id));
    let blocked = user.ok().flatten().map(|u| u.blocked).unwrap_or_default();
    blocked.into_iter().map(|b| b.name).collect()
}

/// Sign-up and sign-in ceremonies are counted per client address when they start
/// (`auth_rate`), so nobody can mint challenges or probe names in bulk.
fn ceremony_allowed(req: &Request, route: AuthRoute, config: &Config) -> Result<(), ApiError> {
    match route {
        AuthRoute::RegisterOptions
        | AuthRoute::LoginOptions
        | AuthRoute::PasskeyOptions
        | AuthRoute::ReauthOptions => {
            let address = throttle::client_address(req);
            throttle::throttle(config, "auth_rate", "auth", &address)
        }
        _ => Ok(()),
    }
}

/// Whether the client reads HTML: browsers say so in `Accept` when they navigate.
fn accepts_html(req: &Request) -> bool {
    req.header_text(header::ACCEPT)
        .is_some_and(|accept| accept.contains("text/html"))
}

/// The answer to a request whose URL the SDK cannot parse (see `client`).
pub fn refuse_unreadable_url() {
    let error = ApiError::bad_request("The request target is not a URL this service can read.");
    send(Err(error), &KvMeter::default());
}

/// A request that would change something from another site (see `auth::csrf`).
/// Bearer requests are exempt: a page elsewhere cannot make a browser send our
/// `Authorization` header (that needs a CORS preflight nobody here answers), so a
/// bearer token proves the request came from a program holding it.
/// `method`: the method to judge it as (a socket's handshake is a GET that can post).
pub(crate) fn is_cross_site(req: &Request, config: &Config, method: &Method) -> bool {
    if auth::has_bearer(req) {
        return false;
    }
    let own_origin = req.get_url().origin().ascii_serialization();
    csrf::is_cross_site(
        method,
        req.header_text(header::ORIGIN),
        req.header_text("Sec-Fetch-Site"),
        &own_origin,
        &config.allowed_origins(),
    )
}

/// The one place responses leave: every one says what its type is (`nosniff`) and what
/// it cost in KV operations.
pub fn send(result: Result<Response, ApiError>, meter: &KvMeter) {
    let mut resp = result.unwrap_or_else(ApiError::into_response);
    resp.set_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    resp.set_header("Server-Timing", meter.server_timing());
    web::headers::strict_transport_security(&mut resp);
    // A session check's fresh token (or an ended session's clearing), unless the
    // response sets the session itself (sign-in, sign-out).
    if let Some(cookie) = auth::standing::take_cookie()
        && !resp.contains_header(header::SET_COOKIE)
    {
        resp.set_header(header::SET_COOKIE, cookie);
    }
    resp.send_to_client();
}
