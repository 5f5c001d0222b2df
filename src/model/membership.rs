//! Private rooms and direct messages: who may read a room, as pure rules.
//!
//! A room is private by the shape of its id, which only the service hands out: `p_` and
//! 20 random characters for a private room, `dm_` and 20 characters derived from the pair
//! for a direct message (`store::memberships` makes them). Public ids cannot take those
//! shapes by chance of use, as nobody may create a room of either shape: an id of that
//! shape that names no room record is a room nobody is a member of (404, like one that
//! does not exist). A public room needs no lookup at all.

use serde::{Deserialize, Serialize};

use super::message::clean;
use super::{Invalid, RoomId};

/// The prefixes of private rooms' and direct messages' ids.
pub const PRIVATE_PREFIX: &str = "p_";
pub const DM_PREFIX: &str = "dm_";
/// Random characters after the prefix (a-z0-9: ~103 bits), so an id cannot be guessed.
pub const ID_RANDOM_LEN: usize = 20;
/// Members one room holds (its record is read on every request to it).
pub const MEMBERS_MAX: usize = 200;
/// Longest room title (characters), as a name.
pub const TITLE_MAX: usize = 64;

impl RoomId {
    /// Whether only members may read and write the room.
    pub fn is_private(&self) -> bool {
        let id = self.to_string();
        id.starts_with(PRIVATE_PREFIX) || id.starts_with(DM_PREFIX)
    }
}

/// A private room's record: its title, kind and members (the owner first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    pub title: String,
    /// A direct message between its two members: nobody may be added or removed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dm: bool,
    pub members: Vec<Member>,
    /// Invite links carry the epoch they were made in; revoking them all raises it.
    #[serde(default)]
    pub invite_epoch: u32,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: String,
    pub name: String,
    /// `owner` or `member`.
    pub role: String,
}

/// Why a change to a room's members is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Only the owner (or a site admin) may do this.
    NotAllowed,
    /// A direct message's members are fixed.
    Dm,
    /// Already a member (adding) or not one (removing).
    AlreadyMember,
    NotMember,
    /// The owner cannot be removed.
    Owner,
    Full,
}

pub const OWNER: &str = "owner";
pub const MEMBER: &str = "member";

/// A title: the message-text rules, 1 to `TITLE_MAX` visible characters on one line.
pub fn parse_title(raw: Option<&str>) -> Result<String, Invalid> {
    let title = clean("title", raw, TITLE_MAX, false)?;
    if !title.chars().any(|c| !c.is_whitespace()) {
        return Err(Invalid::new("title", "A title needs a visible character."));
    }
    Ok(title)
}

impl RoomInfo {
    pub fn new(title: String, owner: Member) -> Self {
        Self {
            title,
            dm: false,
            members: vec![owner],
            invite_epoch: 0,
        }
    }

    pub fn member(&self, user_id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.user_id == user_id)
    }

    pub fn is_owner(&self, user_id: &str) -> bool {
        self.member(user_id).is_some_and(|m| m.role == OWNER)
    }

    /// Adds `member`, as `actor` (`admin`: a site admin).
    pub fn add(&mut self, actor: &str, admin: bool, member: Member) -> Result<(), Refusal> {
        if self.dm {
            return Err(Refusal::Dm);
        }
        if !(admin || self.is_owner(actor)) {
            return Err(Refusal::NotAllowed);
        }
        if self.member(&member.user_id).is_some() {
            return Err(Refusal::AlreadyMember);
        }
        if self.members.len() >= MEMBERS_MAX {
            return Err(Refusal::Full);
        }
        self.members.push(member);
        Ok(())
    }

    /// Removes the member named `name`, as `actor`: the owner or an admin removes anyone
    /// but the owner; a member removes themself (leaving). The one removed.
    pub fn remove(&mut self, actor: &str, admin: bool, name: &str) -> Result<Member, Refusal> {
        if self.dm {
            return Err(Refusal::Dm);
        }
        let at = (self.members.iter())
            .position(|m| m.name == name)
            .ok_or(Refusal::NotMember)?;
        let target = &self.members[at];
        if target.role == OWNER {
            return Err(Refusal::Owner);
        }
        if !(admin || self.is_owner(actor) || target.user_id == actor) {
            return Err(Refusal::NotAllowed);
        }
        Ok(self.members.remove(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::room;

    fn member(id: &str, role: &str) -> Member {
        Member {
            user_id: id.into(),
            name: format!("n-{id}"),
            role: role.into(),
        }
    }

    #[test]
    fn private_ids_by_shape() {
        assert!(room("p_abc").is_private());
        assert!(room("dm_abc").is_private());
        assert!(!room("lobby").is_private());
        assert!(!room("p-abc").is_private());
    }

    #[test]
    fn titles() {
        assert_eq!(parse_title(Some("  Plans ")).unwrap(), "Plans");
        for bad in [
            None,
            Some(""),
            Some("   "),
            Some("a\nb"),
            Some(&*"x".repeat(65)),
        ] {
            assert_eq!(parse_title(bad).unwrap_err().field, "title", "{bad:?}");
        }
    }

    #[test]
    fn owners_add_and_remove_members_leave() {
        let mut r = RoomInfo::new("t".into(), member("o", OWNER));
        assert_eq!(
            r.add("x", false, member("a", MEMBER)),
            Err(Refusal::NotAllowed)
        );
        r.add("o", false, member("a", MEMBER)).unwrap();
        assert_eq!(
            r.add("o", false, member("a", MEMBER)),
            Err(Refusal::AlreadyMember)
        );
        r.add("admin", true, member("b", MEMBER)).unwrap();
        assert_eq!(r.remove("a", false, "n-b"), Err(Refusal::NotAllowed));
        assert_eq!(r.remove("o", false, "n-o"), Err(Refusal::Owner));
        assert_eq!(r.remove("a", false, "n-a").unwrap().user_id, "a");
        assert_eq!(r.remove("o", false, "n-zz"), Err(Refusal::NotMember));
        assert_eq!(r.remove("o", false, "n-b").unwrap().user_id, "b");
        assert!(r.member("b").is_none() && r.is_owner("o"));
    }

    #[test]
    fn a_dm_is_fixed() {
        let mut r = RoomInfo::new("t".into(), member("a", MEMBER));
        r.members.push(member("b", MEMBER));
        r.dm = true;
        assert_eq!(r.add("a", true, member("c", MEMBER)), Err(Refusal::Dm));
        assert_eq!(r.remove("a", true, "n-b"), Err(Refusal::Dm));
    }
}
