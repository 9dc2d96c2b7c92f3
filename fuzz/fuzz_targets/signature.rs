//! Recurrence signature normalisation: any error message. Must never panic; it leaves no ASCII digit and is
//! deterministic; the signature is 64 characters. (It is not idempotent — fuzzing found that a hex-like run followed
//! by digits becomes a UUID once the digits are masked — and rsig-v1 is frozen, so that is not asserted.) The
//! rsig-v2 and rsig-v3 templates are idempotent and leave no ASCII digit, and their signatures are 64 characters too.
#![no_main]

use hoc_incidents::recurrence::{
    RsigV2, RsigV3, SignatureSource, normalize_message, sign_current, sign_with,
};
use hoc_incidents::template::template;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|message: &str| {
    let once = normalize_message(message);
    assert_eq!(normalize_message(message), once);
    assert!(!once.bytes().any(|b| b.is_ascii_digit()));
    let signature = sign_current(&SignatureSource {
        category: "fuzz",
        error_code: None,
        trigger_type: None,
        source_type: None,
        error_message: Some(message),
        title: message,
        fingerprint: None,
    });
    assert_eq!(signature.signature.len(), 64);
    let shape = template(message);
    assert_eq!(template(&shape), shape);
    assert!(!shape.bytes().any(|b| b.is_ascii_digit()));
    let v2 = sign_with(&RsigV2, &SignatureSource {
        category: "fuzz",
        error_message: Some(message),
        title: message,
        ..SignatureSource::default()
    });
    assert_eq!(v2.signature.len(), 64);
    let shape = hoc_incidents::template_v3::template(message);
    assert_eq!(hoc_incidents::template_v3::template(&shape), shape);
    assert!(!shape.bytes().any(|b| b.is_ascii_digit()));
    let v3 = sign_with(&RsigV3, &SignatureSource {
        category: "fuzz",
        error_message: Some(message),
        title: message,
        ..SignatureSource::default()
    });
    assert_eq!(v3.signature.len(), 64);
});
