//! Where a (re)connecting subscriber resumes.

use crate::model::{MessageId, parse_id};

/// Where a subscription starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// No id given: the client has the history (SSR page or GET), live from now.
    Live,
    /// Send every message after this id first.
    After(MessageId),
    /// The id given is not a message id.
    Malformed(String),
}

/// The request's inputs that name a resume point.
#[derive(Debug, Default, Clone, Copy)]
pub struct ResumeInputs<'a> {
    pub last_event_id_header: Option<&'a str>,
    pub last_event_id_query: Option<&'a str>,
    /// `Grip-Last` header: Fanout's own record of the last id it delivered.
    pub grip_last: Option<&'a str>,
    /// The request follows one of our `Grip-Link`s: Fanout is recovering or paging, and
    /// the client's original `Last-Event-ID` (which Fanout may replay) is stale.
    pub is_link: bool,
}

/// Picks the resume point. A client's request: `Last-Event-ID`, then `?lastEventId=`,
/// then `Grip-Last`. A link request: the later of `Grip-Last` and the link's own
/// `?lastEventId=`, so recovery only ever moves forward. Fanout keeps sending the
/// `Grip-Last` of the hold it is recovering while it follows a paged backlog's links;
/// preferring it would replay the first page forever.
pub fn resume_point(inputs: ResumeInputs<'_>, channel: &str) -> Resume {
    let grip_last = inputs.grip_last.and_then(|h| grip_last_id(h, channel));
    if inputs.is_link {
        let given = [grip_last, inputs.last_event_id_query]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|v| !v.is_empty());
        let mut latest = None;
        for raw in given {
            match parse_id(raw) {
                Some(id) => latest = latest.max(Some(id)),
                None => return Resume::Malformed(raw.to_owned()),
            }
        }
        return latest.map_or(Resume::Live, Resume::After);
    }
    let candidates = [
        inputs.last_event_id_header,
        inputs.last_event_id_query,
        grip_last,
    ];
    match candidates
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|v| !v.is_empty())
    {
        None => Resume::Live,
        Some(raw) => parse_id(raw).map_or_else(|| Resume::Malformed(raw.to_owned()), Resume::After),
    }
}

/// The `last-id` for `channel` in a `Grip-Last: <channel>; last-id=<id>[, …]` header.
pub fn grip_last_id<'h>(header: &'h str, channel: &str) -> Option<&'h str> {
    header.split(',').find_map(|entry| {
        let mut parts = entry.split(';').map(str::trim);
        if parts.next()? != channel {
            return None;
        }
        parts
            .find_map(|p| p.strip_prefix("last-id="))
            .map(|v| v.trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CH: &str = "room-lobby";

    fn resume(h: Option<&str>, q: Option<&str>, g: Option<&str>, is_link: bool) -> Resume {
        let inputs = ResumeInputs {
            last_event_id_header: h,
            last_event_id_query: q,
            grip_last: g,
            is_link,
        };
        resume_point(inputs, CH)
    }

    #[test]
    fn precedence() {
        let g = Some("room-lobby; last-id=3");
        assert_eq!(resume(Some("1"), Some("2"), g, false), Resume::After(1));
        assert_eq!(resume(None, Some("2"), g, false), Resume::After(2));
        assert_eq!(resume(Some(""), Some("2"), g, false), Resume::After(2));
        assert_eq!(resume(None, None, g, false), Resume::After(3));
        assert_eq!(resume(None, None, None, false), Resume::Live);
        // Links ignore the replayed client header and take the later of Fanout's
        // record and the link's own position: recovery never moves backwards.
        assert_eq!(resume(Some("1"), Some("2"), g, true), Resume::After(3));
        assert_eq!(resume(Some("1"), Some("110"), g, true), Resume::After(110));
        assert_eq!(resume(Some("1"), Some("2"), None, true), Resume::After(2));
        assert_eq!(resume(Some("9"), None, None, true), Resume::Live);
        assert_eq!(
            resume(None, Some("x"), g, true),
            Resume::Malformed("x".into())
        );
        assert_eq!(
            resume(Some("abc"), None, None, false),
            Resume::Malformed("abc".into())
        );
        assert_eq!(
            resume(Some("-5"), None, None, false),
            Resume::Malformed("-5".into())
        );
    }

    #[test]
    fn grip_last_parsing() {
        assert_eq!(grip_last_id("room-lobby; last-id=7", CH), Some("7"));
        assert_eq!(
            grip_last_id("room-x; last-id=1, room-lobby; last-id=9", CH),
            Some("9")
        );
        assert_eq!(grip_last_id("room-lobby.x; last-id=9", CH), None);
        assert_eq!(grip_last_id("room-lobby", CH), None);
    }
}
