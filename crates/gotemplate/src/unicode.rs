//! Character classes and case mapping exactly as Go's `unicode`, `strings` and
//! `strconv` packages do them, from tables generated from Go itself
//! ([`unicode_tables`](super::unicode_tables)). Rust's own `char` methods follow a
//! newer Unicode and map case fully (`ß` → `SS`); Go maps rune by rune (`ß` stays).

use super::unicode_tables as t;

fn in_table(table: &[(u32, u32)], c: char) -> bool {
    let c = c as u32;
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// `strconv.IsPrint`.
pub(crate) fn is_print(c: char) -> bool {
    in_table(t::PRINT, c)
}

/// `unicode.IsLetter`.
pub(crate) fn is_letter(c: char) -> bool {
    in_table(t::LETTER, c)
}

/// `unicode.IsUpper`.
pub(crate) fn is_upper(c: char) -> bool {
    in_table(t::UPPER, c)
}

/// `unicode.IsLower`.
pub(crate) fn is_lower(c: char) -> bool {
    in_table(t::LOWER, c)
}

/// `unicode.IsTitle`.
pub(crate) fn is_title(c: char) -> bool {
    in_table(t::TITLE, c)
}

/// `unicode.IsDigit`.
pub(crate) fn is_digit(c: char) -> bool {
    in_table(t::DIGIT, c)
}

/// `unicode.IsNumber`.
pub(crate) fn is_number(c: char) -> bool {
    in_table(t::NUMBER, c)
}

/// `unicode.IsPunct`.
pub(crate) fn is_punct(c: char) -> bool {
    in_table(t::PUNCT, c)
}

/// `unicode.IsSpace`.
pub(crate) fn is_space(c: char) -> bool {
    in_table(t::SPACE, c)
}

#[derive(Clone, Copy)]
enum Case {
    Upper = 0,
    Lower = 1,
    Title = 2,
}

/// Go's `unicode.to`.
fn to(case: Case, c: char) -> char {
    let r = c as u32;
    let found = t::CASE_RANGES.binary_search_by(|&(lo, hi, _)| {
        if hi < r {
            std::cmp::Ordering::Less
        } else if lo > r {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    });
    let Ok(i) = found else { return c };
    let (lo, _, delta) = t::CASE_RANGES[i];
    let d = delta[case as usize];
    let mapped = if d == t::UPPER_LOWER {
        lo + (((r - lo) & !1) | (case as u32 & 1))
    } else {
        r.wrapping_add_signed(d)
    };
    char::from_u32(mapped).unwrap_or(c)
}

/// `unicode.ToUpper`.
pub(crate) fn to_upper(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    to(Case::Upper, c)
}

/// `unicode.ToLower`.
pub(crate) fn to_lower(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    to(Case::Lower, c)
}

/// `unicode.ToTitle`.
pub(crate) fn to_title(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    to(Case::Title, c)
}

/// `strings.ToUpper`.
pub(crate) fn upper(s: &str) -> String {
    s.chars().map(to_upper).collect()
}

/// `strings.ToLower`.
pub(crate) fn lower(s: &str) -> String {
    s.chars().map(to_lower).collect()
}

/// `strings.Title`'s `isSeparator`.
pub(crate) fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if is_letter(c) || is_digit(c) {
        return false;
    }
    is_space(c)
}

/// `strings.Title`: the first letter of every word to title case.
pub(crate) fn title(s: &str) -> String {
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_separator(prev) { to_title(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

/// goutils' `SwapCase` (Sprig's `swapcase`): upper and title case to lower, lower case
/// to upper, and to title case at the start of a word.
pub(crate) fn swap_case(s: &str) -> String {
    let mut word_start = true;
    s.chars()
        .map(|c| {
            if is_upper(c) || is_title(c) {
                word_start = false;
                to_lower(c)
            } else if is_lower(c) {
                let out = if word_start { to_title(c) } else { to_upper(c) };
                word_start = false;
                out
            } else {
                word_start = is_space(c);
                c
            }
        })
        .collect()
}

/// `strings.TrimSpace`.
pub(crate) fn trim_space(s: &str) -> &str {
    s.trim_matches(is_space)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_case_rune_by_rune_as_go_does() {
        assert_eq!(upper("straße"), "STRAßE");
        assert_eq!(lower("ǅ"), "ǆ");
        assert_eq!(to_title('ǆ'), 'ǅ');
        assert_eq!(upper("ǆ"), "Ǆ");
        assert_eq!(title("hello wORLD"), "Hello WORLD");
        assert_eq!(title("a-b_c d.e"), "A-B_c D.E");
        assert_eq!(t::UNICODE_VERSION, "13.0.0");
    }

    #[test]
    fn classifies_as_strconv_does() {
        assert!(is_print(' ') && is_print('é') && !is_print('\u{a0}') && !is_print('\u{200b}'));
        assert!(is_space('\u{85}') && is_space('\u{3000}') && !is_space('\u{200b}'));
    }
}
