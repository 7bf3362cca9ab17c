//! Review decoding and the whole webhook decision: any bytes as an AdmissionReview,
//! against the example catalog. Besides not crashing: when the kept-only answer
//! exists, it is the full answer.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stackhook_core::MemoryCatalog;
use stackhook_core::admit::{Admission, Options};
use stackhook_core::compiled::StackCache;
use stackhook_core::inject::{Config, InjectMemo};
use stackhook_core::model::{Parsed, parse_document};
use stackhook_core::review::Reviewer;

const CATALOG: [&str; 4] = [
    include_str!("../../examples/catalog/stack-benthos.yaml"),
    include_str!("../../examples/catalog/stack-flare.yaml"),
    include_str!("../../examples/catalog/depots.yaml"),
    include_str!("../../examples/catalog/workloads.yaml"),
];

struct Engine {
    catalog: MemoryCatalog,
    cache: StackCache,
    options: Options,
    config: Config,
    memo: InjectMemo,
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut catalog = MemoryCatalog::new();
        for text in CATALOG {
            for doc in goyaml::parse_documents(text).unwrap_or_default() {
                if let Ok(Parsed::Resource(r)) = parse_document(doc.value) {
                    let _ = catalog.insert(*r);
                }
            }
        }
        Engine {
            catalog,
            cache: StackCache::new(),
            options: Options::default(),
            config: Config::default(),
            memo: InjectMemo::new(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let e = engine();
    let reviewer = |memo| Reviewer {
        admission: Admission {
            catalog: &e.catalog,
            cache: &e.cache,
            options: &e.options,
            deadline: None,
        },
        inject: &e.config,
        memo,
    };
    let full = reviewer(Some(&e.memo)).review(data);
    if let Some(kept) = reviewer(Some(&e.memo)).review_kept(data) {
        assert_eq!(kept.ok().map(|r| r.0), full.ok().map(|r| r.0));
    }
    let _ = stackhook_core::review::unanswered(
        data,
        &stackhook_core::review::Unanswered::Deadline(std::time::Duration::ZERO),
    );
});
