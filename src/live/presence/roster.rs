//! A room's roster at one POP, and the changes it owes the room: pure, no host calls.
//!
//! The roster maps each name heard at this POP to when it lapses (its last heartbeat
//! plus [`Timing::expire`]). Heartbeats only move that time; what subscribers are told is
//! the *changes*: a name that was not here joins, a `gone` or a lapsed name leaves.
//! Changes wait in `pending` until the room's cap lets a publish through
//! ([`Roster::take`]), so a burst of arrivals is coalesced rather than lost, and a join
//! and a leave of one name that were never published cancel out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Timing;

/// A change subscribers are told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Join,
    Leave,
}

/// One room at one POP (kept whole in the POP's Core Cache).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster {
    /// Name → when it lapses, seconds since the epoch.
    here: BTreeMap<String, u64>,
    /// Changes not published yet (the room's cap was reached), by name.
    #[serde(default)]
    pending: BTreeMap<String, Change>,
    /// When this POP last wrote its summary for other POPs (`remote`).
    #[serde(default)]
    pub summarized: u64,
    /// Whether who is here changed since that summary.
    #[serde(default)]
    pub changed: bool,
}

impl Roster {
    /// A heartbeat of `name` at `now`: here until `now + expire`; a join if it was not.
    pub fn beat(&mut self, name: &str, now: u64, timing: Timing) {
        self.lapse(now);
        if self
            .here
            .insert(name.to_owned(), now + timing.expire())
            .is_none()
        {
            self.owe(name, Change::Join);
        }
    }

    /// `name` said goodbye.
    pub fn leave(&mut self, name: &str, now: u64) {
        self.lapse(now);
        if self.here.remove(name).is_some() {
            self.owe(name, Change::Leave);
        }
    }

    /// Names whose heartbeats stopped (a page gone without its beacon) leave now: the
    /// lazy leave, found by whichever request reads the roster next.
    pub fn lapse(&mut self, now: u64) {
        let lapsed: Vec<String> = self
            .here
            .iter()
            .filter(|&(_, &until)| until <= now)
            .map(|(name, _)| name.clone())
            .collect();
        for name in lapsed {
            self.here.remove(&name);
            self.owe(&name, Change::Leave);
        }
    }

    /// Records a change to publish. The opposite change still unpublished cancels it:
    /// nobody was told the first, so nobody needs the second.
    fn owe(&mut self, name: &str, change: Change) {
        self.changed = true;
        match self.pending.get(name) {
            Some(&owed) if owed != change => {
                self.pending.remove(name);
            }
            _ => {
                self.pending.insert(name.to_owned(), change);
            }
        }
    }

    /// Whether there are changes waiting to be published.
    pub fn owes(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Takes up to `max` waiting changes, to publish now.
    pub fn take(&mut self, max: usize) -> Vec<(String, Change)> {
        let taken: Vec<(String, Change)> = self
            .pending
            .iter()
            .take(max)
            .map(|(name, change)| (name.clone(), *change))
            .collect();
        for (name, _) in &taken {
            self.pending.remove(name);
        }
        taken
    }

    /// Who is here at `now`, by name.
    pub fn names(&self, now: u64) -> Vec<String> {
        self.here
            .iter()
            .filter(|&(_, &until)| until > now)
            .map(|(name, _)| name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timing = Timing { heartbeat: 30 };

    #[test]
    fn heartbeats_owe_a_join_once_and_nothing_after() {
        let mut r = Roster::default();
        r.beat("ann", 100, T);
        assert_eq!(r.take(50), [("ann".to_owned(), Change::Join)]);
        r.beat("ann", 130, T);
        r.beat("ann", 160, T);
        assert!(!r.owes(), "a heartbeat of someone here is not a change");
        assert_eq!(r.names(160), ["ann"]);
    }

    #[test]
    fn a_lapsed_name_leaves_once_when_the_roster_is_next_read() {
        let mut r = Roster::default();
        r.beat("ann", 100, T);
        r.beat("bob", 100, T);
        r.take(50);
        r.beat("bob", 140, T);
        let later = 100 + T.expire();
        assert_eq!(r.names(later), ["bob"], "lapsed names are not shown");
        assert!(
            !r.owes(),
            "nothing is owed until the roster is next written"
        );
        r.beat("bob", later, T);
        assert_eq!(r.take(50), [("ann".to_owned(), Change::Leave)]);
        r.lapse(later + 1);
        assert!(!r.owes(), "one leave, not one per read");
        assert_eq!(r.names(later + 1), ["bob"]);
    }

    #[test]
    fn unpublished_opposites_cancel_and_the_rest_wait() {
        let mut r = Roster::default();
        r.beat("ann", 100, T);
        r.leave("ann", 101);
        assert!(!r.owes(), "a join nobody heard of needs no leave");
        r.leave("nobody", 101);
        assert!(!r.owes());
        for name in ["a", "b", "c"] {
            r.beat(name, 102, T);
        }
        assert_eq!(r.take(2).len(), 2);
        assert_eq!(r.take(2), [("c".to_owned(), Change::Join)]);
        // Published, then gone and back before the leave went out: nothing to say.
        r.leave("a", 103);
        r.beat("a", 104, T);
        assert!(!r.owes());
        assert!(r.changed);
    }

    #[test]
    fn rosters_survive_the_cache_as_json() {
        let mut r = Roster::default();
        r.beat("ann", 100, T);
        let back: Roster = serde_json::from_slice(&serde_json::to_vec(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        // A roster written before pending changes existed still reads.
        let old: Roster = serde_json::from_str(r#"{"here":{"bob":200}}"#).unwrap();
        assert_eq!(old.names(150), ["bob"]);
    }
}
