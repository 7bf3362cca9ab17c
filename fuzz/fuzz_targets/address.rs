//! `dataos://` addresses: what parses prints back as something that parses to the
//! same address.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackhook_core::address::Address;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Address::is_address(text);
    if let Ok(a) = Address::parse(text) {
        let again = Address::parse(&a.to_string()).expect("an address prints as one");
        assert_eq!(a, again);
    }
});
