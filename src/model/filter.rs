//! The word filter: blocked words masked before a message is stored.

use super::name::key;

/// `text` with every whole-word occurrence of a `blocked` word replaced by as many
/// asterisks as it has characters. A word is a run of letters and digits, so "class" is
/// not masked for "ass", and "BAD!" is for "bad". Words are compared by their name key
/// (`model::name`): without regard to case, width or look-alike letters, so "ＢＡＤ" and
/// "bаd" (Cyrillic а) are masked too. (It also spares the wasm Unicode's lowercase
/// tables, 7 KB of package, which nothing else needs.)
pub fn mask(text: &str, blocked: &[String]) -> String {
    if blocked.is_empty() {
        return text.to_owned();
    }
    let blocked: Vec<String> = blocked.iter().map(|w| key(w)).collect();
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if !word.is_empty() && blocked.contains(&key(word)) {
            out.extend(std::iter::repeat_n('*', word.chars().count()));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn whole_words_without_regard_to_case() {
        let blocked = words(&["darn", "heck"]);
        assert_eq!(mask("Darn it, HECK!", &blocked), "**** it, ****!");
        assert_eq!(mask("darned heckle", &blocked), "darned heckle");
        assert_eq!(mask("darn\nheck", &blocked), "****\n****");
        assert_eq!(mask("x-darn-y", &blocked), "x-****-y");
        assert_eq!(mask("nothing here", &[]), "nothing here");
        assert_eq!(mask("Ärger", &words(&["ärger"])), "*****");
    }

    #[test]
    fn width_and_look_alike_letters_do_not_hide_a_word() {
        let blocked = words(&["darn"]);
        assert_eq!(mask("ＤＡＲＮ", &blocked), "****");
        assert_eq!(mask("d\u{0430}rn!", &blocked), "****!");
        assert_eq!(
            mask("Dar\u{0301}n", &blocked),
            "Dar\u{0301}n",
            "another letter"
        );
    }
}
