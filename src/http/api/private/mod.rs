//! Private rooms and direct messages (passkey mode; every endpoint 404 in open mode).
//!
//! * `gate`: whether a request may touch a room: members only for private rooms, site
//!   admins too when moderating; everyone else gets the 404 of a room that does not
//!   exist. Public rooms pass without a lookup.
//! * `rooms`: making a private room, its members, and direct messages.
//! * `invites`: signed, expiring invite links.
//! * `me`: the caller's rooms on every device, and whom they block.
//!
//! Rules are `model::membership`'s, records `store::memberships`'.

pub mod gate;
pub mod invites;
pub mod me;
pub mod rooms;
