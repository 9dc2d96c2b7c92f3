//! Event validation: any bytes as an event payload. Must never panic; `validate_event_payload` and `is_valid` agree.
#![no_main]

use hoc_contracts::{is_valid, validate_event_payload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(payload) = serde_json::from_slice::<serde_json::Value>(data) {
        assert_eq!(validate_event_payload(&payload).is_ok(), is_valid(&payload));
    }
});
