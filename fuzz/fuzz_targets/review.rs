//! Review decoding and the whole webhook decision: any bytes as an AdmissionReview,
//! against the example catalog. Besides not crashing: when the kept-only answer
//! exists, it is the full answer.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stackhook_core::catalog::MemoryCatalog;
use stackhook_core::engine::{Engine, EngineSettings};
use stackhook_core::compiled::StackCache;
use stackhook_core::inject::{InjectSettings, InjectMemo};
use stackhook_core::model::{Parsed, parse_document};
use stackhook_core::review::{Kept, Reviewer};

const CATALOG: [&str; 4] = [
    include_str!("../../examples/catalog/stack-benthos.yaml"),
    include_str!("../../examples/catalog/stack-flare.yaml"),
    include_str!("../../examples/catalog/depots.yaml"),
    include_str!("../../examples/catalog/workloads.yaml"),
];

struct Parts {
    catalog: MemoryCatalog,
    cache: StackCache,
    options: EngineSettings,
    config: InjectSettings,
    memo: InjectMemo,
}

fn parts() -> &'static Parts {
    static PARTS: OnceLock<Parts> = OnceLock::new();
    PARTS.get_or_init(|| {
        let mut catalog = MemoryCatalog::new();
        for text in CATALOG {
            for doc in goyaml::parse_documents(text).unwrap_or_default() {
                if let Ok(Parsed::Resource(r)) = parse_document(doc.value) {
                    let _ = catalog.insert(*r);
                }
            }
        }
        Parts {
            catalog,
            cache: StackCache::new(),
            options: EngineSettings::default(),
            config: InjectSettings::default(),
            memo: InjectMemo::new(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let e = parts();
    let reviewer =
        Reviewer::new(Engine::new(&e.catalog, &e.cache, &e.options), &e.config).keeping(&e.memo);
    let full = reviewer.review(data);
    if let Kept::Answer(kept) = reviewer.review_kept(data) {
        assert_eq!(kept.ok().map(|r| r.0), full.ok().map(|r| r.0));
    }
    let _ = stackhook_core::review::unanswered(
        data,
        &stackhook_core::review::Unanswered::Deadline(std::time::Duration::ZERO),
    );
});
