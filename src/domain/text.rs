//! User text as names and output need it: one Unicode form, something visible, nothing that
//! breaks a line, a file format or a terminal.

use std::borrow::Cow;

use icu_normalizer::ComposingNormalizer;

/// `text` in Unicode normalization form C. "informática" typed with a combining accent (NFD, as
/// macOS file names and some keyboards give it) and with the precomposed "á" look the same and
/// are the same name once both are NFC.
pub fn nfc(text: &str) -> Cow<'_, str> {
    ComposingNormalizer::new_nfc().normalize(text)
}

/// Characters that take no space and show nothing: zero-width spaces and joiners, the word
/// joiner, invisible operators, the byte-order mark, the soft hyphen, directional marks.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Whether `text` has at least one character that shows: not only spaces, control characters
/// and zero-width ones. A label made of a zero-width space looks like no label at all.
pub fn has_visible(text: &str) -> bool {
    text.chars().any(|c| !c.is_whitespace() && !c.is_control() && !is_invisible(c))
}

/// `text` safe to print on a terminal: control characters other than line breaks and tabs are
/// written as escapes (`\u{1b}`), so stored text cannot move the cursor, clear the screen or
/// hide what is printed after it.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().map(|c| if c.is_control() && c != '\n' && c != '\t' { c.escape_unicode().to_string() } else { c.to_string() }).collect())
}

/// `text` on one line with no control characters (each becomes a space): for table cells,
/// chart labels and XML, where a control character breaks the layout or the file (XML 1.0
/// allows none but tab and line breaks, and a chart's label is one line).
pub fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect())
}

/// `text` as one table cell or chart label: [`one_line`], cut to `max` characters with an
/// ellipsis.
pub fn cell(text: &str, max: usize) -> String {
    let flat = one_line(text);
    if flat.chars().count() <= max {
        return flat.into_owned();
    }
    format!("{}…", flat.chars().take(max.saturating_sub(1)).collect::<String>())
}

/// Names that differ only in accents, case or Unicode form ("informatica" and "informática"):
/// probably one label typed twice. Pairs of positions in `names`, each pair once.
pub fn near_duplicates<S: AsRef<str>>(names: &[S]) -> Vec<(usize, usize)> {
    let folded: Vec<String> = names.iter().map(|n| fold(n.as_ref())).collect();
    let mut pairs = Vec::new();
    for i in 0..folded.len() {
        for j in i + 1..folded.len() {
            if folded[i] == folded[j] {
                pairs.push((i, j));
            }
        }
    }
    pairs
}

/// Text without accents or case: decomposed (NFD), combining marks dropped, lower-cased. Names
/// and searches compare in it, so "aristoteles" finds "Aristóteles".
pub fn fold(name: &str) -> String {
    icu_normalizer::DecomposingNormalizer::new_nfd()
        .normalize(name.trim())
        .chars()
        .filter(|c| !('\u{0300}'..='\u{036F}').contains(c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// What two texts share when they are the same text written twice: compatibility form (NFKC:
/// full-width letters, ligatures and non-breaking spaces as their plain forms), lower case,
/// invisible characters dropped, every run of white space one space, trimmed. Accents and
/// punctuation stay: "está" and "esta" are different words. Exact duplicates share this key.
pub fn duplicate_key(text: &str) -> String {
    let plain = ComposingNormalizer::new_nfkc().normalize(text);
    let mut key = String::with_capacity(plain.len());
    for word in plain.split(char::is_whitespace).filter(|w| !w.is_empty()) {
        let word: String = word.chars().filter(|&c| !is_invisible(c)).flat_map(char::to_lowercase).collect();
        if word.is_empty() {
            continue;
        }
        if !key.is_empty() {
            key.push(' ');
        }
        key.push_str(&word);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_in_one_form_and_must_show_something() {
        assert_eq!(nfc("informa\u{301}tica"), "informática");
        assert!(!has_visible("\u{200B}") && !has_visible(" \u{FEFF}\t") && has_visible("a\u{200B}"));
        assert_eq!(printable("a\u{1b}[2Jb\u{0}c\nd"), "a\\u{1b}[2Jb\\u{0}c\nd");
        assert_eq!(one_line("a\nb\u{7}c"), "a b c");
        assert_eq!(cell("una\tfrase larga", 8), "una fra…");
        assert_eq!(cell("corta", 8), "corta");
        assert_eq!(near_duplicates(&["informatica", "deportes", "Informática", "informa\u{301}tica"]), [(0, 2), (0, 3), (2, 3)]);
    }

    #[test]
    fn duplicate_keys_ignore_case_spacing_form_and_invisible_characters_but_not_accents() {
        let key = duplicate_key("  El  Perro\u{00A0}ladra\u{200B}.\n");
        assert_eq!(key, "el perro ladra.");
        assert_eq!(duplicate_key("el perro ladra."), key);
        assert_eq!(duplicate_key("ＥＬ perro ladra."), key, "full-width letters are their plain forms");
        assert_eq!(duplicate_key("informa\u{301}tica"), duplicate_key("Informática"));
        assert_ne!(duplicate_key("está"), duplicate_key("esta"));
        assert_ne!(duplicate_key("el perro ladra"), key, "punctuation stays");
        assert_eq!(duplicate_key(" \u{200B} "), "");
    }
}
