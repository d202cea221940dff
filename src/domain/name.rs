//! The form of a person's name that name search compares: one rule, used both for the
//! name index the store keeps and for what a caller searches for, so the two always agree.
//!
//! Staff type names as they hear or read them, not as the record was keyed in. What is
//! folded is what makes two spellings of one name differ without being different names:
//! - white space is dropped: Chinese names have none, and a stray space typed in a
//!   spreadsheet (`王 小明`) must not hide 王小明; for names in Latin letters it means
//!   `John Smith` is searched as `johnsmith`, which a prefix search still finds by
//!   `john` or `johnsm`;
//! - full-width ASCII (`ＡＢＣ`, as Chinese input methods type it) becomes ASCII, and
//!   letters are lower-cased;
//! - the middle dots that separate the parts of transliterated and minority names
//!   (买买提·艾力, typed as `·`, `・`, `•`, `‧` or `･`) become one, `·`;
//! - control characters (which validation refuses anyway) are dropped.
//!
//! Nothing else is folded: traditional and simplified characters are different strings,
//! as they are on the identity card.

/// The search form of `name` (see the module documentation). Never contains 0x00, so an
/// index key can end it with a 0x00 byte.
pub fn name_search_form(name: &str) -> String {
    let mut form = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_whitespace() || c.is_control() {
            continue;
        }
        let c = match c {
            // Full-width forms of the printable ASCII characters.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{30FB}' | '\u{2022}' | '\u{2027}' | '\u{FF65}' | '\u{2219}' => '\u{B7}',
            c => c,
        };
        form.extend(c.to_lowercase());
    }
    form
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spellings_of_one_name_share_a_form() {
        assert_eq!(name_search_form("王小明"), "王小明");
        assert_eq!(name_search_form(" 王 小明\u{3000}"), "王小明");
        assert_eq!(name_search_form("John  Smith"), "johnsmith");
        assert_eq!(name_search_form("ＪＯＨＮ"), "john");
        assert_eq!(name_search_form("买买提・艾力"), "买买提·艾力");
        assert_eq!(
            name_search_form("买买提•艾力"),
            name_search_form("买买提·艾力")
        );
        assert_ne!(name_search_form("王小明"), name_search_form("王曉明"));
        assert_eq!(name_search_form(" \t"), "");
    }

    proptest! {
        #[test]
        fn the_form_is_stable_and_has_no_zero_byte(name in "\\PC{0,20}") {
            let form = name_search_form(&name);
            prop_assert!(!form.as_bytes().contains(&0));
            prop_assert_eq!(name_search_form(&form), form.clone());
        }

        #[test]
        fn a_prefix_of_a_name_gives_a_prefix_of_its_form(name in "[\\p{Han}a-zA-Z ·]{0,12}", cut in 0usize..12) {
            let prefix: String = name.chars().take(cut).collect();
            prop_assert!(name_search_form(&name).starts_with(&name_search_form(&prefix)));
        }
    }
}
