//! Free-text fields (names, schools, approval documents, notes): one rule for all of
//! them: trimmed, at most so many characters, no control characters.

/// A trimmed text of at most `max` characters without control characters; may be empty.
pub(crate) fn optional_text(raw: &str, max: usize) -> Result<String, String> {
    let value = raw.trim();
    let len = value.chars().count();
    if len > max {
        return Err(format!("must be at most {max} characters, got {len}"));
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(value.to_string())
}

/// As [`optional_text`], and not empty.
pub(crate) fn required_text(raw: &str, max: usize) -> Result<String, String> {
    let value = optional_text(raw, max)?;
    if value.is_empty() {
        return Err("is required".into());
    }
    Ok(value)
}

/// A refused value as an error message may repeat it: quoted, unless it could be an
/// identity number (a run of 5 or more letters and digits with a digit in it, the shortest
/// a passport number has), typed into the wrong field. Such a value is only measured:
/// errors travel to clients, logs and screens, and an identity number must not.
pub fn shown(raw: &str) -> String {
    let could_be_identity = raw
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|run| run.len() >= 5 && run.bytes().any(|b| b.is_ascii_digit()));
    match could_be_identity {
        false => format!("{raw:?}"),
        true => format!("the value given ({} characters)", raw.chars().count()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_trimmed_bounded_and_printable() {
        assert_eq!(optional_text("  a b ", 3), Ok("a b".into()));
        assert_eq!(optional_text("", 3), Ok(String::new()));
        assert!(required_text(" ", 3).unwrap_err().contains("required"));
        assert!(optional_text("四个汉字", 3)
            .unwrap_err()
            .contains("at most 3"));
        assert_eq!(optional_text("四个字", 3), Ok("四个字".into()));
        assert!(optional_text("a\u{0}b", 9).unwrap_err().contains("control"));
    }

    #[test]
    fn values_that_could_be_identity_numbers_are_not_repeated() {
        assert_eq!(shown("2020-13-45"), "\"2020-13-45\"");
        assert_eq!(shown("yesterday"), "\"yesterday\"");
        assert_eq!(
            shown("11010519491231002X"),
            "the value given (18 characters)"
        );
        assert_eq!(shown("E1234"), "the value given (5 characters)");
    }
}
