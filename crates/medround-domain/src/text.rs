//! What people type into a form: spaces tidied, and whether a text is one a colleague can read.

/// Runs of spaces, tabs and line breaks become one space, with none at either end.
pub fn tidy(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Not empty, at most `max` characters, and no control characters or bidirectional
/// formatting characters: a right-to-left override makes a name read on screen as something
/// other than what is stored ("Trojan Source").
pub fn readable(s: &str, max: usize) -> bool {
    let n = s.chars().count();
    n > 0 && n <= max && !s.chars().any(|c| c.is_control() || is_bidi_control(c))
}

/// The bidirectional embedding, override and isolate characters (U+202A-U+202E,
/// U+2066-U+2069), and the marks that steer them (U+200E, U+200F, U+061C).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// A note as typed, less what no note needs: control characters other than line breaks and
/// tabs, and bidirectional formatting characters (pasted text often carries them). What is
/// left is what the record keeps, so every reader sees what the author saw.
pub fn plain(s: &str) -> String {
    s.chars()
        .filter(|c| !is_bidi_control(*c) && (!c.is_control() || matches!(c, '\n' | '\t')))
        .collect()
}

/// The first character in a JSON text, inside its strings or out, that no record may hold:
/// a control character other than a line break or a tab, or a bidirectional formatting
/// character, written plainly or as a `\u` escape. Records that arrive from another device
/// are refused with one (a tablet's own are made [`plain`] as they are typed).
pub fn unreadable_in_json(json: &str) -> Option<char> {
    let bad = |c: char| is_bidi_control(c) || (c.is_control() && !matches!(c, '\n' | '\t' | '\r'));
    let mut chars = json.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let c = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                    // A lone surrogate half decodes to nothing here and is checked no further:
                    // the characters refused all lie outside the surrogates.
                    if let Some(c) = c.filter(|c| bad(*c)) {
                        return Some(c);
                    }
                }
                Some('b') => return Some('\u{8}'),
                Some('f') => return Some('\u{c}'),
                _ => {}
            }
        } else if bad(c) {
            return Some(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_and_readable() {
        assert_eq!(tidy("  Edith \t\n Clarke "), "Edith Clarke");
        assert!(readable("Zoë", 3));
        assert!(!readable("Zoë", 2));
        assert!(!readable("", 10));
        assert!(!readable("a\u{7}b", 10));
        assert!(!readable("Larch\u{0}House", 20));
        assert!(!readable("Ward \u{1b}[31m", 20));
        assert!(!readable("Tablet \u{202e}A", 20));
        assert!(!readable("\u{2067}Tablet", 20));
        // Notes keep their lines and lose the formatting.
        assert_eq!(
            plain("Refused.\nSpat out \u{202e}tablet\u{7}"),
            "Refused.\nSpat out tablet"
        );
        assert_eq!(unreadable_in_json(r#"{"note":"fine\nline"}"#), None);
        assert_eq!(
            unreadable_in_json("{\"note\":\"\u{202e}x\"}"),
            Some('\u{202e}')
        );
        assert_eq!(
            unreadable_in_json(r#"{"note":"\u202Ex"}"#),
            Some('\u{202e}')
        );
        assert_eq!(
            unreadable_in_json(r#"{"note":"\u001b[2J"}"#),
            Some('\u{1b}')
        );
        assert_eq!(unreadable_in_json(r#"{"note":"a\bb"}"#), Some('\u{8}'));
        assert_eq!(unreadable_in_json(r#"{"note":"\\u202e is text"}"#), None);
        // Arabic and Hebrew names are text, not formatting.
        assert!(readable("\u{0641}\u{0627}\u{0637}\u{0645}\u{0629}", 20));
    }
}
