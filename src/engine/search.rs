//! What search finds an instance or a case by, as words: Vietnamese folded to plain letters
//! (`Quyết định 45/2026/QĐ-CCTHADS` is `quyet dinh 45 2026 qd cc thads`), so that a query
//! typed without its diacritics finds the text with them, on each backend alike.
//!
//! Who may find what is written as words too: each agency that may see an instance, and the
//! office that holds a case, are words of their own (see [`party_word`], [`office_word`]), so
//! that the index itself answers "of those this caller may see" and a search never reads what
//! it may not show.

use serde_json::{Map, Value};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::definition::Definition;

/// Most words a query is taken with; the rest are left out.
pub const MAX_WORDS: usize = 8;

/// `text` as search words: letters without their marks (`đ` as `d`), lower case, every run of
/// anything but letters and digits a single space.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.nfd().filter(|c| !is_combining_mark(*c)) {
        let c = match c {
            'đ' | 'Đ' => 'd',
            c => c,
        };
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// The words of a query, folded, each once, at most [`MAX_WORDS`].
pub fn words(query: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in fold(query).split(' ').filter(|w| !w.is_empty()) {
        if !words.iter().any(|w| w == word) && words.len() < MAX_WORDS {
            words.push(word.to_owned());
        }
    }
    words
}

/// The word that lets `agency` find the instances it is a party to.
pub fn party_word(agency: &str) -> String {
    format!("p{}", hex::encode(agency.as_bytes()))
}

/// The word that lets `office` (and the offices above it) find the cases it holds.
pub fn office_word(office: &str) -> String {
    format!("o{}", hex::encode(office.as_bytes()))
}

/// The words of the fields an instance is found by (its numbers: the judgment's, the
/// decision's, the register entry's), as its definition marks them `searchable`, in the
/// order the definition declares them.
pub fn instance_words(def: &Definition, data: &Map<String, Value>) -> String {
    let words: Vec<String> = def
        .searchable_fields()
        .filter_map(|name| data.get(name).and_then(Value::as_str))
        .map(fold)
        .filter(|w| !w.is_empty())
        .collect();
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_folds_to_plain_letters() {
        assert_eq!(fold("Nguyễn Văn A"), "nguyen van a");
        assert_eq!(fold("Quyết định 45/2026/QĐ-CCTHADS"), "quyet dinh 45 2026 qd ccthads");
        assert_eq!(fold("  Đặng  Thị   Ửng, 0123-456 "), "dang thi ung 0123 456");
        assert_eq!(fold("—"), "");
    }

    #[test]
    fn a_query_is_its_words_once() {
        assert_eq!(words("nguyen  Nguyễn van"), vec!["nguyen", "van"]);
        assert_eq!(words("a b c d e f g h i j").len(), MAX_WORDS);
        assert!(words(" / - ").is_empty());
    }

    #[test]
    fn agencies_are_single_words_apart_by_kind() {
        assert_eq!(fold(&party_word("THADS-HN")), party_word("THADS-HN"));
        assert_ne!(party_word("THADS-HN"), office_word("THADS-HN"));
    }
}
