//! huandu/xstrings 1.3's `ToCamelCase`, `ToSnakeCase` and `ToKebabCase` (Sprig's
//! `camelcase`, `snakecase`, `kebabcase`), ported statement by statement: the word
//! splitting (`HTTPServer` → `HTTP` `Server`, `Bld4Floor` → `bld4_floor`) is theirs,
//! with Go's `unicode` classes. A U+FFFD in the input is treated as Go treats an
//! invalid byte (`utf8.RuneError`).

use super::unicode::{is_letter, is_number, is_punct, is_space, is_upper, to_lower, to_upper};

const RUNE_ERROR: char = '\u{FFFD}';

fn is_connector(r: char) -> bool {
    r == '-' || r == '_' || is_space(r)
}

/// A letter that is not a CJK ideograph.
fn is_alphabet(r: char) -> bool {
    if !is_letter(r) {
        return false;
    }
    let r = r as u32;
    !(r >= 0x3400
        && ((0x4E00..=0x9FCC).contains(&r)
            || (0x3400..=0x4D85).contains(&r)
            || (0x20000..=0x2B81D).contains(&r)))
}

/// `ToCamelCase`.
pub(crate) fn camel_case(s: &str) -> String {
    let mut buf = String::with_capacity(s.len());
    let mut chars = s.chars();
    let mut r0 = None;
    // Leading connectors stay.
    for c in chars.by_ref() {
        if !is_connector(c) {
            r0 = Some(to_upper(c));
            break;
        }
        buf.push(c);
    }
    let Some(mut r0) = r0 else {
        return buf;
    };
    for c in chars {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            buf.push(r1);
            continue;
        }
        if is_connector(r1) {
            r0 = to_upper(r0);
        } else {
            r0 = to_lower(r0);
            buf.push(r1);
        }
    }
    buf.push(r0);
    buf
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alphabet,
    Connector,
    Punct,
    Other,
}

/// The next valid rune of `s` and the bytes it and the invalid ones before it take;
/// `prev` when only invalid runes are left.
fn next_valid(s: &str, prev: char) -> (char, usize) {
    let mut size = 0;
    for c in s.chars() {
        size += c.len_utf8();
        if c != RUNE_ERROR {
            return (c, size);
        }
    }
    (prev, size)
}

/// `nextWord`: the kind of the next word, the word, and what remains.
fn next_word(s: &str) -> (Word, &str, &str) {
    if s.is_empty() {
        return (Word::Invalid, "", "");
    }
    let (mut r, mut size) = next_valid(s, RUNE_ERROR);
    let mut offset = size;
    if r == RUNE_ERROR {
        return (Word::Invalid, &s[..offset], &s[offset..]);
    }
    let mut remaining = &s[size..];
    let wt;
    // Runs while `keep` holds of the next rune.
    let run =
        |keep: &dyn Fn(char) -> bool, r: &mut char, offset: &mut usize, remaining: &mut &str| {
            while !remaining.is_empty() {
                let (next, sz) = next_valid(remaining, *r);
                *r = next;
                if !keep(next) {
                    break;
                }
                *offset += sz;
                *remaining = &remaining[sz..];
            }
        };
    if is_connector(r) {
        wt = Word::Connector;
        run(&is_connector, &mut r, &mut offset, &mut remaining);
    } else if is_punct(r) {
        wt = Word::Punct;
        run(&is_punct, &mut r, &mut offset, &mut remaining);
    } else if is_upper(r) {
        wt = Word::Upper;
        if !remaining.is_empty() {
            (r, size) = next_valid(remaining, r);
            if is_upper(r) {
                let mut prev_size = size;
                offset += size;
                remaining = &remaining[size..];
                while !remaining.is_empty() {
                    (r, size) = next_valid(remaining, r);
                    if !is_upper(r) {
                        break;
                    }
                    prev_size = size;
                    offset += size;
                    remaining = &remaining[size..];
                }
                // "HTTPStatus" is "HTTP" and "Status": the last capital starts the
                // next word.
                if !remaining.is_empty() && is_alphabet(r) {
                    offset -= prev_size;
                    remaining = &s[offset..];
                }
            } else if is_alphabet(r) {
                offset += size;
                remaining = &remaining[size..];
                run(
                    &|c| is_alphabet(c) && !is_upper(c),
                    &mut r,
                    &mut offset,
                    &mut remaining,
                );
            }
        }
    } else if is_alphabet(r) {
        wt = Word::Alphabet;
        run(
            &|c| is_alphabet(c) && !is_upper(c),
            &mut r,
            &mut offset,
            &mut remaining,
        );
    } else if is_number(r) {
        wt = Word::Number;
        run(&is_number, &mut r, &mut offset, &mut remaining);
    } else {
        wt = Word::Other;
        run(
            &|c| !(is_connector(c) || is_alphabet(c) || is_number(c) || is_punct(c)),
            &mut r,
            &mut offset,
            &mut remaining,
        );
    }
    (wt, &s[..offset], remaining)
}

fn to_lower_word(buf: &mut String, wt: Word, word: &str, connector: char) {
    if wt != Word::Upper && wt != Word::Connector {
        buf.push_str(word);
        return;
    }
    for c in word.chars() {
        if is_connector(c) {
            buf.push(connector);
        } else if is_upper(c) {
            buf.push(to_lower(c));
        } else {
            buf.push(c);
        }
    }
}

/// `camelCaseToLowerCase`: `ToSnakeCase` (`_`) and `ToKebabCase` (`-`).
pub(crate) fn lower_case(s: &str, connector: char) -> String {
    if s.is_empty() {
        return String::new();
    }
    let mut buf = String::with_capacity(s.len() + s.len() / 2);
    let (mut wt, mut word, mut remaining) = next_word(s);
    while !remaining.is_empty() {
        if wt != Word::Connector {
            to_lower_word(&mut buf, wt, word, connector);
        }
        let prev = wt;
        let last = word;
        (wt, word, remaining) = next_word(remaining);
        match prev {
            Word::Number => {
                while wt == Word::Alphabet || wt == Word::Number {
                    to_lower_word(&mut buf, wt, word, connector);
                    (wt, word, remaining) = next_word(remaining);
                }
                if wt != Word::Invalid && wt != Word::Punct && wt != Word::Connector {
                    buf.push(connector);
                }
            }
            Word::Connector => to_lower_word(&mut buf, prev, last, connector),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        buf.push(connector);
                    }
                    continue;
                }
                if remaining.is_empty() {
                    continue;
                }
                let last = word;
                (wt, word, remaining) = next_word(remaining);
                // A number followed by no letters belongs to the word before it
                // ("Bld4Floor" → "bld4_floor").
                if wt != Word::Alphabet {
                    to_lower_word(&mut buf, Word::Number, last, connector);
                    if wt != Word::Connector && wt != Word::Punct {
                        buf.push(connector);
                    }
                    continue;
                }
                // Lower-case letters after a number: a connector before the number
                // ("HTTP2xx" → "http_2xx").
                buf.push(connector);
                to_lower_word(&mut buf, Word::Number, last, connector);
                while wt == Word::Alphabet || wt == Word::Number {
                    to_lower_word(&mut buf, wt, word, connector);
                    (wt, word, remaining) = next_word(remaining);
                }
                if wt != Word::Invalid && wt != Word::Connector && wt != Word::Punct {
                    buf.push(connector);
                }
            }
        }
    }
    to_lower_word(&mut buf, wt, word, connector);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_xstrings_own_examples() {
        for (input, snake) in [
            ("FirstName", "first_name"),
            ("HTTPServer", "http_server"),
            ("NoHTTPS", "no_https"),
            ("GO_PATH", "go_path"),
            ("GO PATH", "go_path"),
            ("GO-PATH", "go_path"),
            ("http2xx", "http_2xx"),
            ("HTTP20xOK", "http_20x_ok"),
            ("Duration2m3s", "duration_2m3s"),
            ("Bld4Floor3rd", "bld4_floor_3rd"),
        ] {
            assert_eq!(lower_case(input, '_'), snake, "{input}");
        }
        assert_eq!(camel_case("some_words"), "SomeWords");
        assert_eq!(camel_case("http_server"), "HttpServer");
        assert_eq!(camel_case("_complex__case_"), "_Complex_Case_");
    }
}
