//! The template engine: parse any text as a template, and execute it with the JSON
//! after the first NUL as data, under small bounds (a hit bound is a clean error).
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use gotemplate::{CallContext, Limits, Template};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (template, json) = text.split_once('\0').unwrap_or((text, "{}"));
    let data: serde_json::Value = serde_json::from_str(json).unwrap_or(serde_json::Value::Null);
    let Ok(t) = Template::parse("fuzz", template) else {
        return;
    };
    let limits = Limits {
        max_output_bytes: 64 << 10,
        max_alloc_bytes: 1 << 20,
        max_steps: 20_000,
        max_range_iterations: 5_000,
        max_template_depth: 50,
        timeout: Duration::from_millis(200),
    };
    if let Ok(out) = t.execute_json(&data, &CallContext::default(), &limits) {
        assert!(out.len() <= limits.max_output_bytes);
    }
});
