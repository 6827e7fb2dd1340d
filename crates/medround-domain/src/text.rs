//! What people type into a form: spaces tidied, and whether a text is one a colleague can read.

/// Runs of spaces, tabs and line breaks become one space, with none at either end.
pub fn tidy(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Not empty, at most `max` characters, and no control characters.
pub fn readable(s: &str, max: usize) -> bool {
    let n = s.chars().count();
    n > 0 && n <= max && !s.chars().any(char::is_control)
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
    }
}
