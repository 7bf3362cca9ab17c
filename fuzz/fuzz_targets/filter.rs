//! Address filters: any text as a filter (parsed into jq's selection subset, or
//! refused), run over the JSON after the first NUL; evaluation always ends, within
//! its budget.
#![no_main]

use libfuzzer_sys::fuzz_target;
use jqlite::evaluate;
use stackhook_core::filters::AddressFilters;
use stackhook_core::model::AddressFilter;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (filter, json) = text.split_once('\0').unwrap_or((text, "{}"));
    let input: serde_json::Value = serde_json::from_str(json).unwrap_or(serde_json::Value::Null);
    let _ = evaluate(filter, &input);
    let list: Vec<AddressFilter> =
        serde_json::from_value(serde_json::json!([filter])).unwrap_or_default();
    if let Ok(f) = AddressFilters::compile(&list) {
        let (found, _) = f.extract(&input);
        assert!(found.len() <= stackhook_core::filters::MAX_RESULTS);
    }
});
