//! The YAML/JSON source reader: any text, within small limits (so aliases expand into
//! the limits quickly). Positions found must be inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use goyaml::{Limits, parse_documents_with};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = Limits {
        max_nodes: 10_000,
        max_alias_bytes: 1 << 20,
        max_total_bytes: usize::MAX,
    };
    if let Ok(docs) = parse_documents_with(text, &limits) {
        // YAML breaks lines at CR, LF and CRLF.
        let lines = text.replace("\r\n", "\n").matches(['\n', '\r']).count() + 1;
        for d in &docs {
            assert!(d.start.line <= lines + 1);
        }
    }
});
