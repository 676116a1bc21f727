//! open_clip's prompt cleaning (`open_clip.tokenizer.basic_clean` and `whitespace_clean`):
//! ftfy, Python's `html.unescape` twice, then whitespace runs to one space.

use super::html_entities::{INVALID_CHARREFS, INVALID_CODEPOINTS, NAMED};

/// open_clip's text cleaning modes (`open_clip.tokenizer.get_clean_fn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleaning {
    /// `clean='whitespace'`: ftfy, HTML unescaping, whitespace runs to one space. SigLIP.
    Whitespace,
    /// `clean='lower'`: as `Whitespace`, then lower case. The CLIP `SimpleTokenizer`.
    Lower,
}

impl Cleaning {
    pub fn apply(self, text: &str) -> String {
        let cleaned = clean_whitespace(&basic_clean(text));
        match self {
            Cleaning::Whitespace => cleaned,
            Cleaning::Lower => cleaned.to_lowercase(),
        }
    }
}

/// Python's `str.isspace`: Unicode White_Space plus the separators U+001C to U+001F.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// open_clip's `basic_clean`: `ftfy.fix_text` with its default settings, `html.unescape`
/// twice, then trimming. `plsfix` ports ftfy 6, except that it leaves ANSI terminal escapes
/// in place, so they are removed first, as ftfy's `remove_terminal_escapes` step does.
pub fn basic_clean(text: &str) -> String {
    let fixed = plsfix::fix_text(&remove_terminal_escapes(text), None);
    let twice = html_unescape(&html_unescape(&fixed));
    twice.trim_matches(is_python_space).to_string()
}

/// open_clip's `whitespace_clean`: runs of whitespace (by Python's `str.split` rules) become
/// one space, and the ends are trimmed.
pub fn clean_whitespace(text: &str) -> String {
    text.split(is_python_space).filter(|word| !word.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Removes ANSI escapes `ESC [ digits-and-semicolons letter`, as ftfy's `remove_terminal_escapes`.
pub fn remove_terminal_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("\u{1b}[") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let parameters = after.find(|c: char| !(c.is_ascii_digit() || c == ';')).unwrap_or(after.len());
        match after[parameters..].chars().next() {
            Some(letter) if letter.is_ascii_alphabetic() => rest = &after[parameters + 1..],
            _ => {
                out.push_str("\u{1b}[");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Python's `html.unescape`: HTML5 named references (legacy names also without `;`, and the
/// longest such prefix of an unknown name), decimal and hexadecimal references with the
/// HTML5 replacements for invalid numbers.
pub fn html_unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(position) = rest.find('&') {
        out.push_str(&rest[..position]);
        let after = &rest[position + 1..];
        match character_reference(after) {
            Some((replacement, consumed)) => {
                out.push_str(&replacement);
                rest = &after[consumed..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes the reference that starts right after an `&`; returns the text and the bytes
/// used, or `None` when Python's pattern does not match there.
fn character_reference(after: &str) -> Option<(String, usize)> {
    if let Some(number) = after.strip_prefix('#') {
        let (digits, radix, skip) = match number.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16, 2),
            None => (number, 10, 1),
        };
        let length = digits.find(|c: char| !c.is_digit(radix)).unwrap_or(digits.len());
        if length == 0 {
            return None;
        }
        let semicolon = usize::from(digits[length..].starts_with(';'));
        // Values past U+10FFFF all decode to U+FFFD, so saturating is exact.
        let value = digits[..length].chars().fold(0u64, |acc, c| acc.saturating_mul(u64::from(radix)).saturating_add(u64::from(c.to_digit(radix).expect("digit"))));
        return Some((numeric_reference(value), skip + length + semicolon));
    }

    // `[^\t\n\f <&#;]{1,32};?`: up to 32 characters, then an optional semicolon.
    let mut end = 0;
    for (count, (index, c)) in after.char_indices().enumerate() {
        if count == 32 || matches!(c, '\t' | '\n' | '\u{c}' | ' ' | '<' | '&' | '#' | ';') {
            break;
        }
        end = index + c.len_utf8();
    }
    if end == 0 {
        return None;
    }
    let name_end = if after[end..].starts_with(';') { end + 1 } else { end };
    let name = &after[..name_end];
    if let Some(text) = lookup(name) {
        return Some((text.to_string(), name_end));
    }
    // The longest prefix of at least two characters that is a legacy name, then the rest.
    let boundaries: Vec<usize> = name.char_indices().map(|(i, _)| i).skip(2).collect();
    for &cut in boundaries.iter().rev() {
        if let Some(text) = lookup(&name[..cut]) {
            return Some((format!("{text}{}", &name[cut..]), name_end));
        }
    }
    None
}

fn lookup(name: &str) -> Option<&'static str> {
    NAMED.binary_search_by(|(key, _)| (*key).cmp(name)).ok().map(|index| NAMED[index].1)
}

fn numeric_reference(value: u64) -> String {
    if let Ok(index) = INVALID_CHARREFS.binary_search_by(|(key, _)| u64::from(*key).cmp(&value)) {
        return INVALID_CHARREFS[index].1.to_string();
    }
    if (0xD800..=0xDFFF).contains(&value) || value > 0x10FFFF {
        return '\u{FFFD}'.to_string();
    }
    if INVALID_CODEPOINTS.binary_search(&(value as u32)).is_ok() {
        return String::new();
    }
    char::from_u32(value as u32).map(String::from).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_runs_collapse() {
        assert_eq!(clean_whitespace("  a\t\tb\n c\u{3000}d  "), "a b c d");
        assert_eq!(clean_whitespace("a\u{1f}b"), "a b");
        assert_eq!(clean_whitespace("   "), "");
    }

    /// Expected values from Python 3.11 `html.unescape`.
    #[test]
    fn html_unescape_matches_python() {
        let cases = [
            ("fish &amp chips", "fish & chips"),
            ("&amp;lt;", "&lt;"),
            ("&notit;", "¬it;"),
            ("&eacute &eacute; &Eacute", "é é É"),
            ("&#233;&#xE9;&#XE9", "ééé"),
            ("&#0; &#128; &#x80;", "\u{FFFD} € €"),
            ("&#xD800; &#1114112; &#99999999999999999999;", "\u{FFFD} \u{FFFD} \u{FFFD}"),
            ("a&#1;b &#x7f;", "ab "),
            ("&unknown; & &#; &#x;", "&unknown; & &#; &#x;"),
            ("&NotNestedGreaterGreater;", "\u{2AA2}\u{338}"),
        ];
        for (input, expected) in cases {
            assert_eq!(html_unescape(input), expected, "{input:?}");
        }
    }

    #[test]
    fn terminal_escapes_are_removed() {
        assert_eq!(remove_terminal_escapes("a\u{1b}[31mred\u{1b}[0m b\u{1b}[1;2x"), "ared b");
        assert_eq!(remove_terminal_escapes("\u{1b}[ not an escape"), "\u{1b}[ not an escape");
    }
}
