//! Text for people: HTML escaping, relative times and links in messages. Each rule has
//! a twin in `static/lib.js`, which takes over once the page's script runs; keep them in
//! step.

use time::OffsetDateTime;

use crate::model::format_date;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// "just now", "5 min ago", "3 h ago", "2 d ago", then the date: as `ago` in
/// static/lib.js, which takes over once the page's script runs.
pub fn ago(date: OffsetDateTime, now: OffsetDateTime) -> String {
    let secs = (now - date).whole_seconds().max(0);
    match secs {
        0..45 => "just now".into(),
        45..3600 => format!("{} min ago", (secs / 60).max(1)),
        3600..86400 => format!("{} h ago", secs / 3600),
        86400..604800 => format!("{} d ago", secs / 86400),
        _ => {
            let month = MONTHS[usize::from(u8::from(date.month()) - 1)];
            format!("{} {month} {}", date.day(), date.year())
        }
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The hover title: `2026-11-22 12:53:29 UTC`, the stored form without its `T` and
/// milliseconds.
pub fn full_date(date: OffsetDateTime) -> String {
    let stamp = format_date(date);
    // `format_date` writes ASCII `YYYY-MM-DDTHH:MM:SS.mmmZ`: these byte ranges are fields.
    format!("{} {} UTC", &stamp[..10], &stamp[11..19])
}

/// `text` cut into plain and link spans: `(true, url)` for each `http(s)://` URL. The
/// rules are `urlAt` in static/format.js: a URL runs to whitespace, `<`, `>` or `"`, and
/// drops trailing `.,:;!?'*_` (punctuation, or a closing emphasis marker) and unbalanced
/// `)` or `]`. Pages format these again (format.js): this is the page without scripts.
pub fn link_spans(text: &str) -> Vec<(bool, &str)> {
    // ASCII lowercasing keeps byte offsets, so positions found in `lower` index `text`.
    let lower = text.to_ascii_lowercase();
    let mut spans = Vec::new();
    let (mut done, mut search) = (0, 0);
    while let Some(found) = lower[search..].find("http") {
        let start = search + found;
        let rest = &lower[start..];
        let scheme = if rest.starts_with("https://") {
            8
        } else if rest.starts_with("http://") {
            7
        } else {
            search = start + 4;
            continue;
        };
        let end = text[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
            .map_or(text.len(), |n| start + n);
        if end == start + scheme {
            search = start + 4;
            continue;
        }
        let url = trim_url(&text[start..end]);
        if url.len() > scheme {
            if start > done {
                spans.push((false, &text[done..start]));
            }
            spans.push((true, url));
            done = start + url.len();
        }
        search = end;
    }
    if done < text.len() {
        spans.push((false, &text[done..]));
    }
    spans
}

fn trim_url(mut url: &str) -> &str {
    while let Some(last) = url.chars().last() {
        let unbalanced = |open: char, close: char| {
            last == close && url.matches(open).count() < url.matches(close).count()
        };
        if ".,:;!?'*_".contains(last) || unbalanced('(', ')') || unbalanced('[', ']') {
            url = &url[..url.len() - last.len_utf8()];
        } else {
            break;
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn escaping() {
        assert_eq!(
            escape("<img src=x onerror=\"a('b')\"> & co"),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt; &amp; co"
        );
    }

    fn links(text: &str) -> Vec<(bool, &str)> {
        link_spans(text)
    }

    #[test]
    fn linking() {
        assert_eq!(links("no links"), vec![(false, "no links")]);
        assert_eq!(links(""), vec![]);
        assert_eq!(
            links("see https://example.com/a?b=1&c=2."),
            vec![
                (false, "see "),
                (true, "https://example.com/a?b=1&c=2"),
                (false, ".")
            ]
        );
        assert_eq!(
            links("(http://x.org/wiki/A_(b)) and HTTPS://Y.io!"),
            vec![
                (false, "("),
                (true, "http://x.org/wiki/A_(b)"),
                (false, ") and "),
                (true, "HTTPS://Y.io"),
                (false, "!")
            ]
        );
        assert_eq!(
            links("<a href=\"https://e.com\">x</a>"),
            vec![
                (false, "<a href=\""),
                (true, "https://e.com"),
                (false, "\">x</a>")
            ]
        );
        assert_eq!(
            links("https:// http://. httpx"),
            vec![(false, "https:// http://. httpx")]
        );
        assert_eq!(
            links("javascript:alert(1) ftp://x"),
            vec![(false, "javascript:alert(1) ftp://x")]
        );
        assert_eq!(
            links("https://a.b\nhttps://c.d"),
            vec![(true, "https://a.b"), (false, "\n"), (true, "https://c.d")]
        );
        // A closing italic marker is not part of the link (static/format.js agrees).
        assert_eq!(
            links("_see https://e.com/a_b_"),
            vec![(false, "_see "), (true, "https://e.com/a_b"), (false, "_")]
        );
        assert_eq!(
            links("ünï https://é.com/ö"),
            vec![(false, "ünï "), (true, "https://é.com/ö")]
        );
    }

    #[test]
    fn relative_times() {
        let now = datetime!(2026-11-22 12:00:00 UTC);
        let at = |secs: i64| ago(now - time::Duration::seconds(secs), now);
        assert_eq!(at(-30), "just now");
        assert_eq!(at(44), "just now");
        assert_eq!(at(45), "1 min ago");
        assert_eq!(at(150), "2 min ago");
        assert_eq!(at(3600), "1 h ago");
        assert_eq!(at(86399), "23 h ago");
        assert_eq!(at(86400 * 3), "3 d ago");
        assert_eq!(at(86400 * 30), "23 Oct 2026");
        assert_eq!(
            full_date(datetime!(2026-11-22 12:53:29.519 +1)),
            "2026-11-22 11:53:29 UTC"
        );
    }

    proptest::proptest! {
        #[test]
        fn link_spans_partition_the_text(text in "(\\PC|\\s|https?://[a-z./()?&=]{0,12}){0,12}") {
            let spans = link_spans(&text);
            let joined: String = spans.iter().map(|(_, s)| *s).collect();
            proptest::prop_assert_eq!(&joined, &text);
            for (_, url) in spans.iter().filter(|(is_link, _)| *is_link) {
                let lower = url.to_ascii_lowercase();
                let scheme = if lower.starts_with("https://") { 8 } else { 7 };
                proptest::prop_assert!(lower.starts_with("http"), "{url:?}");
                proptest::prop_assert!(url.len() > scheme, "{url:?}");
                proptest::prop_assert!(!url.contains(|c: char| c.is_whitespace() || "<>\"".contains(c)));
            }
        }
    }
}
