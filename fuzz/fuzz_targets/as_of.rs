//! `as_of` and every timestamp field: any text. Must never panic; what parses is UTC at microsecond precision.
#![no_main]

use hoc_contracts::input::parse_timestamp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(t) = parse_timestamp(text) {
        assert_eq!(t.offset(), time::UtcOffset::UTC);
        assert_eq!(t.nanosecond() % 1_000, 0);
    }
});
