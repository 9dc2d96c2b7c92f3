//! Request bodies: any bytes through the door of the incident writes and reads (JSON, then the request's shape,
//! then every field's rule). Must never panic; what parses must obey the rules.
#![no_main]

use hoc_contracts::input::decode;
use hoc_incidents::queries::ListIncidents;
use hoc_incidents::{CreateIncident, ResolveIncident};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(request) = decode::<CreateIncident>(value.clone())
        && let Ok(parsed) = request.parse()
    {
        assert!(!parsed.title.as_str().chars().any(char::is_control));
    }
    if let Ok(request) = decode::<ResolveIncident>(value.clone()) {
        let _ = request.parse();
    }
    if let Ok(request) = decode::<ListIncidents>(value) {
        let _ = request.parse();
    }
});
