//! The propFile writer: NUL-separated keys and values written as Java properties
//! read back, by `Properties.load`'s rules, as exactly the same pairs.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use stackhook_core::projection::properties;

/// `java.util.Properties.load` for the output the writer makes (ASCII text).
fn load(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    // Logical lines: a line ending in an odd number of backslashes continues.
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.split('\n') {
        // Leading white space is skipped on every line, continued ones too.
        let trimmed = line.trim_start_matches([' ', '\t', '\x0c']);
        let backslashes = trimmed.chars().rev().take_while(|c| *c == '\\').count();
        if backslashes % 2 == 1 {
            current.push_str(&trimmed[..trimmed.len() - 1]);
            continue;
        }
        current.push_str(trimmed);
        logical.push(std::mem::take(&mut current));
    }
    for line in logical {
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        let mut key = String::new();
        while i < chars.len() {
            match chars[i] {
                '\\' => {
                    i += 1;
                    key.push(unescape(&chars, &mut i));
                    continue;
                }
                '=' | ':' | ' ' | '\t' | '\x0c' => break,
                c => key.push(c),
            }
            i += 1;
        }
        while i < chars.len() && matches!(chars[i], ' ' | '\t' | '\x0c') {
            i += 1;
        }
        if i < chars.len() && matches!(chars[i], '=' | ':') {
            i += 1;
        }
        while i < chars.len() && matches!(chars[i], ' ' | '\t' | '\x0c') {
            i += 1;
        }
        let mut value = String::new();
        let mut units: Vec<u16> = Vec::new();
        while i < chars.len() {
            if chars[i] == '\\' && chars.get(i + 1) == Some(&'u') {
                let hex: String = chars[i + 2..(i + 6).min(chars.len())].iter().collect();
                units.push(u16::from_str_radix(&hex, 16).expect("four hex digits"));
                i += 6;
                continue;
            }
            value.push_str(&String::from_utf16(&units).expect("whole surrogate pairs"));
            units.clear();
            if chars[i] == '\\' {
                i += 1;
                value.push(unescape(&chars, &mut i));
                continue;
            }
            value.push(chars[i]);
            i += 1;
        }
        value.push_str(&String::from_utf16(&units).expect("whole surrogate pairs"));
        out.insert(key, value);
    }
    out
}

fn unescape(chars: &[char], i: &mut usize) -> char {
    let c = chars[*i];
    *i += 1;
    match c {
        't' => '\t',
        'n' => '\n',
        'r' => '\r',
        'f' => '\x0c',
        c => c,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parts: Vec<&str> = text.split('\0').collect();
    let mut pairs: BTreeMap<&str, &str> = BTreeMap::new();
    for pair in parts.chunks(2) {
        // Keys with characters outside ASCII go through \u escapes this reader keeps
        // simple: it checks values fully, keys of printable ASCII.
        if pair[0]
            .chars()
            .all(|c| (' '..='~').contains(&c) || c == '\t' || c == '\n')
        {
            pairs.insert(pair[0], pair.get(1).copied().unwrap_or(""));
        }
    }
    let written = properties(&pairs);
    assert!(written.is_ascii());
    let read = load(&written);
    let expected: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(read, expected, "{written:?}");
});
