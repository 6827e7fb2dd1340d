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
        // Arabic and Hebrew names are text, not formatting.
        assert!(readable("\u{0641}\u{0627}\u{0637}\u{0645}\u{0629}", 20));
    }
}
