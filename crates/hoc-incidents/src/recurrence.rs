//! Recurrence signatures: which incidents are "the same problem again".
//!
//! An algorithm turns an incident's identifying fields into canonical inputs (a list of `(name, value)` pairs)
//! and hashes their length-prefixed encoding with SHA-256. Algorithms are versioned and registered in
//! [`ALGORITHMS`]; a version, once shipped, never changes its output (the golden vectors in the tests and in
//! `docs/recurrence-signatures.md` pin it). A new version is added beside the old one, never instead of it.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The version new incidents are signed with.
pub const CURRENT_VERSION: &str = "rsig-v1";

/// The fields a signature can be computed from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignatureSource<'a> {
    /// The incident's category.
    pub category: &'a str,
    /// Its error code, if any.
    pub error_code: Option<&'a str>,
    /// What triggered it, if known.
    pub trigger_type: Option<&'a str>,
    /// What kind of source reported it, if known.
    pub source_type: Option<&'a str>,
    /// The raw error message, if any.
    pub error_message: Option<&'a str>,
    /// The caller's own fingerprint; when given it replaces all of the above.
    pub fingerprint: Option<&'a [String]>,
}

/// The canonical inputs of a signature: what "why were these grouped" shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SignatureInputs {
    /// The algorithm version.
    pub version: String,
    /// `fields` or `fingerprint`.
    pub mode: String,
    /// The normalised `(name, value)` pairs, in encoding order.
    pub fields: Vec<(String, String)>,
}

/// A signature algorithm.
pub trait SignatureAlgorithm: Sync {
    /// The version string stored in `signature_version` (≤ 20 characters).
    fn version(&self) -> &'static str;
    /// Normalises the source into canonical inputs.
    fn inputs(&self, source: &SignatureSource<'_>) -> SignatureInputs;
    /// The signature of canonical inputs (≤ 128 characters).
    fn sign(&self, inputs: &SignatureInputs) -> String;
}

/// Every supported algorithm, oldest first.
pub static ALGORITHMS: &[&dyn SignatureAlgorithm] = &[&RsigV1];

/// Looks up an algorithm by version.
pub fn algorithm(version: &str) -> Option<&'static dyn SignatureAlgorithm> {
    ALGORITHMS.iter().copied().find(|a| a.version() == version)
}

/// A computed signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The hash.
    pub signature: String,
    /// The algorithm version.
    pub version: &'static str,
    /// What was hashed.
    pub inputs: SignatureInputs,
}

/// Signs `source` with the current algorithm.
pub fn sign_current(source: &SignatureSource<'_>) -> Signature {
    let algorithm: &dyn SignatureAlgorithm = &RsigV1;
    let inputs = algorithm.inputs(source);
    Signature {
        signature: algorithm.sign(&inputs),
        version: algorithm.version(),
        inputs,
    }
}

/// `rsig-v1`. See `docs/recurrence-signatures.md` for the specification.
#[derive(Debug, Clone, Copy)]
pub struct RsigV1;

impl SignatureAlgorithm for RsigV1 {
    fn version(&self) -> &'static str {
        "rsig-v1"
    }

    fn inputs(&self, source: &SignatureSource<'_>) -> SignatureInputs {
        let pair = |name: &str, value: String| (name.to_owned(), value);
        let (mode, fields) = match source.fingerprint {
            Some(items) => (
                "fingerprint",
                items
                    .iter()
                    .map(|item| pair("fingerprint", item.trim().to_owned()))
                    .collect(),
            ),
            None => (
                "fields",
                vec![
                    pair("category", normalize_word(Some(source.category))),
                    pair("error_code", normalize_word(source.error_code)),
                    pair("trigger_type", normalize_word(source.trigger_type)),
                    pair("source_type", normalize_word(source.source_type)),
                    pair(
                        "error_message",
                        normalize_message(source.error_message.unwrap_or("")),
                    ),
                ],
            ),
        };
        SignatureInputs {
            version: self.version().to_owned(),
            mode: mode.to_owned(),
            fields,
        }
    }

    fn sign(&self, inputs: &SignatureInputs) -> String {
        let digest = Sha256::digest(encode_v1(inputs).as_bytes());
        digest.iter().fold(String::with_capacity(64), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
    }
}

/// The canonical byte string of v1: `rsig-v1`, then `\n<len>:mode=<len>:<mode>`, then one
/// `\n<len>:<name>=<len>:<value>` per pair, lengths in UTF-8 bytes, decimal.
pub fn encode_v1(inputs: &SignatureInputs) -> String {
    let mut out = String::from("rsig-v1");
    let mut push = |name: &str, value: &str| {
        let _ = write!(out, "\n{}:{name}={}:{value}", name.len(), value.len());
    };
    push("mode", &inputs.mode);
    for (name, value) in &inputs.fields {
        push(name, value);
    }
    out
}

/// Trimmed and lowercased (identifiers whose case carries no meaning); absent and blank are both empty.
fn normalize_word(value: Option<&str>) -> String {
    value.map(|v| v.trim().to_lowercase()).unwrap_or_default()
}

/// Normalises an error message so that the same failure with different ids, numbers or addresses gives the same
/// text: trim, lowercase, collapse whitespace runs to one space, then mask UUIDs (`<uuid>`), hex tokens
/// (`<hex>`: `0x…`, or ≥ 8 hex characters with at least one digit) and the remaining digit runs (`<n>`).
pub fn normalize_message(message: &str) -> String {
    let lowered = message.trim().to_lowercase();
    let collapsed = lowered.split_whitespace().collect::<Vec<_>>().join(" ");
    mask_tokens(&mask_uuids(&collapsed))
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn mask_uuids(s: &str) -> String {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let bytes = s.as_bytes();
    let matches_at = |start: usize| -> bool {
        let mut i = start;
        for (g, len) in GROUPS.iter().enumerate() {
            if g > 0 {
                if bytes.get(i) != Some(&b'-') {
                    return false;
                }
                i += 1;
            }
            for _ in 0..*len {
                match bytes.get(i) {
                    Some(b) if b.is_ascii_hexdigit() => i += 1,
                    _ => return false,
                }
            }
        }
        let before_ok = start == 0 || !is_word_byte(bytes[start - 1]);
        let after_ok = bytes.get(i).is_none_or(|b| !is_word_byte(*b));
        before_ok && after_ok
    };
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        if matches_at(i) {
            out.push_str("<uuid>");
            i += 36;
        } else {
            // Copy one whole character (the string is valid UTF-8; a match only ever starts on ASCII).
            let ch_len = s[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&s[i..i + ch_len]);
            i += ch_len;
        }
    }
    out
}

fn mask_tokens(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut token = String::new();
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() {
            token.push(ch);
        } else {
            out.push_str(&mask_token(&token));
            token.clear();
            out.push(ch);
        }
    }
    out.push_str(&mask_token(&token));
    out
}

fn mask_token(token: &str) -> String {
    let is_hex = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_hexdigit());
    if token.len() > 2 && token.starts_with("0x") && is_hex(&token[2..]) {
        return "<hex>".to_owned();
    }
    if token.len() >= 8 && is_hex(token) && token.bytes().any(|b| b.is_ascii_digit()) {
        return "<hex>".to_owned();
    }
    let mut out = String::with_capacity(token.len());
    let mut in_digits = false;
    for ch in token.chars() {
        if ch.is_ascii_digit() {
            if !in_digits {
                out.push_str("<n>");
                in_digits = true;
            }
        } else {
            out.push(ch);
            in_digits = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(source: SignatureSource<'_>) -> (String, String) {
        let s = sign_current(&source);
        (encode_v1(&s.inputs), s.signature)
    }

    #[test]
    fn message_normalisation() {
        let cases = [
            (
                "  Connection  REFUSED\tto 10.0.0.12:5432 ",
                "connection refused to <n>.<n>.<n>.<n>:<n>",
            ),
            (
                "order 3f2b8c4e-1a2b-4c3d-9e8f-0123456789ab failed",
                "order <uuid> failed",
            ),
            (
                "segfault at 0x7ffd5e8a1b20 in worker 7",
                "segfault at <hex> in worker <n>",
            ),
            ("commit deadbeef12 not found", "commit <hex> not found"),
            (
                "deadbeef is a word, cafe too",
                "deadbeef is a word, cafe too",
            ),
            (
                "timeout after 30s (retry 3/5)",
                "timeout after <n>s (retry <n>/<n>)",
            ),
            ("Überlast: 503", "überlast: <n>"),
            (
                "x3f2b8c4e-1a2b-4c3d-9e8f-0123456789ab",
                "x<n>f<n>b<n>c<n>e-<n>a<n>b-<n>c<n>d-<n>e<n>f-<hex>",
            ),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize_message(input), expected, "{input:?}");
        }
    }

    #[test]
    fn same_failure_with_different_ids_shares_a_signature() {
        let a = sign_current(&SignatureSource {
            category: "Database",
            error_code: Some(" PG-53300 "),
            error_message: Some("too many clients for user 4821 (pid 0x1f3a)"),
            ..SignatureSource::default()
        });
        let b = sign_current(&SignatureSource {
            category: "database",
            error_code: Some("pg-53300"),
            error_message: Some("Too many  clients for user 77 (pid 0xabc)"),
            ..SignatureSource::default()
        });
        assert_eq!(a.signature, b.signature);
        assert_eq!(a.version, "rsig-v1");
        let c = sign_current(&SignatureSource {
            category: "database",
            error_code: Some("pg-53301"),
            ..SignatureSource::default()
        });
        assert_ne!(a.signature, c.signature);
    }

    #[test]
    fn length_prefixes_keep_field_boundaries() {
        // Moving text between adjacent fields must change the signature.
        let a = sign_current(&SignatureSource {
            category: "ab",
            error_code: Some("c"),
            ..SignatureSource::default()
        });
        let b = sign_current(&SignatureSource {
            category: "a",
            error_code: Some("bc"),
            ..SignatureSource::default()
        });
        assert_ne!(a.signature, b.signature);
        // A fingerprint never collides with the field mode, even with the same text.
        let fp = ["database".to_owned()];
        let f = sign_current(&SignatureSource {
            category: "database",
            fingerprint: Some(&fp),
            ..SignatureSource::default()
        });
        let g = sign_current(&SignatureSource {
            category: "database",
            ..SignatureSource::default()
        });
        assert_ne!(f.signature, g.signature);
        assert_eq!(f.inputs.mode, "fingerprint");
    }

    /// Golden vectors: these exact bytes and hashes are `rsig-v1` forever. The hashes were computed
    /// independently from the documented encoding (`printf '%s' "$encoding" | sha256sum`).
    #[test]
    fn golden_vectors_v1() {
        let fp = ["checkout".to_owned(), "  EU-West ".to_owned()];
        let vectors = [
            (
                SignatureSource {
                    category: "database",
                    ..SignatureSource::default()
                },
                "rsig-v1\n4:mode=6:fields\n8:category=8:database\n10:error_code=0:\n12:trigger_type=0:\n11:source_type=0:\n13:error_message=0:",
                GOLDEN[0],
            ),
            (
                SignatureSource {
                    category: " Database ",
                    error_code: Some("PG-53300"),
                    trigger_type: Some("Alert"),
                    source_type: Some("Prometheus"),
                    error_message: Some(
                        "Too many clients: 101 of 100 (pid 0x1f3a) on 3f2b8c4e-1a2b-4c3d-9e8f-0123456789ab",
                    ),
                    fingerprint: None,
                },
                "rsig-v1\n4:mode=6:fields\n8:category=8:database\n10:error_code=8:pg-53300\n12:trigger_type=5:alert\n11:source_type=10:prometheus\n13:error_message=50:too many clients: <n> of <n> (pid <hex>) on <uuid>",
                GOLDEN[1],
            ),
            (
                SignatureSource {
                    category: "ignored",
                    fingerprint: Some(&fp),
                    ..SignatureSource::default()
                },
                "rsig-v1\n4:mode=11:fingerprint\n11:fingerprint=8:checkout\n11:fingerprint=7:EU-West",
                GOLDEN[2],
            ),
            (
                SignatureSource {
                    category: "réseau",
                    error_message: Some("Délai dépassé"),
                    ..SignatureSource::default()
                },
                "rsig-v1\n4:mode=6:fields\n8:category=7:réseau\n10:error_code=0:\n12:trigger_type=0:\n11:source_type=0:\n13:error_message=16:délai dépassé",
                GOLDEN[3],
            ),
        ];
        for (source, encoding, signature) in vectors {
            assert_eq!(fields(source), (encoding.to_owned(), signature.to_owned()));
        }
    }

    const GOLDEN: [&str; 4] = [
        "6c4bd9bb1f3a9e4f987099f8b3529d32949a08c96017f12fced611a83631235c",
        "14d93a150ec2d1aaca7a3771edf636d47e7a3993ee8a78e92185e0687156db58",
        "171a6d468b296af8a147c379ef94a17daaba44549e353ec6164e6f67514cf73b",
        "f56c71ee23fb0aefc2bc45a995de69a1fcbc6021c906c2f9af7214718e6a09f1",
    ];

    #[test]
    fn registry_knows_every_version_once() {
        assert_eq!(
            ALGORITHMS.iter().map(|a| a.version()).collect::<Vec<_>>(),
            ["rsig-v1"]
        );
        assert!(algorithm(CURRENT_VERSION).is_some());
        assert!(algorithm("rsig-v0").is_none());
        for a in ALGORITHMS {
            assert!(a.version().len() <= 20);
        }
    }
}

#[cfg(test)]
mod properties {
    //! Signature normalisation over any input (the parser `fuzz/` fuzzes too).
    use proptest::prelude::*;

    use super::{SignatureSource, normalize_message, sign_current};

    /// Messages with the tokens v1 masks mixed into free text.
    fn message() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                any::<String>(),
                "[0-9]{1,12}",
                "0x[0-9a-fA-F]{1,16}",
                "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                "[a-zA-Z ]{1,20}",
                Just("\t\n  ".to_owned()),
            ],
            0..8,
        )
        .prop_map(|parts| parts.join(" "))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn normalising_is_deterministic_and_leaves_no_ascii_digit(m in message()) {
            // Not idempotent (cargo fuzz found a hex-like run followed by digits that becomes a UUID once the
            // digits are masked); rsig-v1 is frozen, so only what the grouping relies on is asserted.
            let once = normalize_message(&m);
            prop_assert_eq!(normalize_message(&m), once.clone());
            prop_assert!(!once.bytes().any(|b| b.is_ascii_digit()), "{:?} -> {:?}", m, once);
            prop_assert_eq!(once.trim(), once.as_str());
            prop_assert!(!once.contains("  "));
        }

        #[test]
        fn signatures_are_deterministic_64_hex_and_ignore_what_is_masked(
            m in message(), n in 200_000_000_u64..1_000_000_000_000_000_000, category in "[a-zA-Z]{1,10}"
        ) {
            let source = |message: &str| {
                let s = SignatureSource {
                    category: &category,
                    error_code: Some("E1"),
                    trigger_type: None,
                    source_type: None,
                    error_message: Some(message),
                    fingerprint: None,
                };
                sign_current(&s).signature
            };
            let a = source(&format!("{m} after {n} ms"));
            prop_assert_eq!(a.len(), 64);
            prop_assert!(a.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
            prop_assert_eq!(source(&format!("{m} after {n} ms")), a.clone());
            // Both numbers have at least 8 digits, so both are masked the same way (as hex-like tokens).
            prop_assert_eq!(source(&format!("{m} after {} ms", n / 2 + 1)), a);
        }
    }
}
