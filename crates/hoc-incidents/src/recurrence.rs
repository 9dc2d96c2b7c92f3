//! Recurrence signatures: which incidents are "the same problem again".
//!
//! An algorithm turns an incident's identifying fields into canonical inputs (a list of `(name, value)` pairs)
//! and hashes their length-prefixed encoding with SHA-256. Algorithms are versioned and registered in
//! [`ALGORITHMS`]; a version, once shipped, never changes its output (the golden vectors in the tests and in
//! `docs/recurrence-signatures.md` pin it). A new version is added beside the old one, never instead of it.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::template::template;

/// The version the first incidents were signed with, before a tenant could configure grouping: a tenant without a
/// configuration whose first incident was signed with it keeps it (a tenant moves to a newer one by configuring it
/// and regrouping, so no existing group splits by itself). [`sign_current`] signs with it.
pub const CURRENT_VERSION: &str = "rsig-v1";

/// The newest version: a tenant with no grouping configuration and no incidents starts on it.
pub const NEWEST_VERSION: &str = "rsig-v3";

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
    /// The incident's title (`rsig-v2` groups by it when there is neither code nor message).
    pub title: &'a str,
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
    /// The tenant's fingerprint rule that supplied the fingerprint (`v<config version>#<rule number>`), when one
    /// did; not part of the hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The tenant's learned template that replaced the `rsig-v3` template (`v<config version>#t<number>`), when
    /// one did; not part of the hash (the template text it put in `fields` is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
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
pub static ALGORITHMS: &[&dyn SignatureAlgorithm] = &[&RsigV1, &RsigV2, &RsigV3];

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
    sign_with(&RsigV1, source)
}

/// Signs `source` with `algorithm`.
pub fn sign_with(
    algorithm: &'static dyn SignatureAlgorithm,
    source: &SignatureSource<'_>,
) -> Signature {
    let inputs = algorithm.inputs(source);
    Signature {
        signature: algorithm.sign(&inputs),
        version: algorithm.version(),
        inputs,
    }
}

fn fingerprint_pairs(items: &[String]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|item| ("fingerprint".to_owned(), item.trim().to_owned()))
        .collect()
}

pub(crate) fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
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
            Some(items) => ("fingerprint", fingerprint_pairs(items)),
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
            rule: None,
            template: None,
        }
    }

    fn sign(&self, inputs: &SignatureInputs) -> String {
        sha256_hex(&encode_v1(inputs))
    }
}

/// `rsig-v2`: the error code dominates; without one the message's template; without either the title's template.
/// Trigger and source type are not inputs (how a failure was reported does not make it another failure). See
/// `docs/recurrence-signatures.md`.
#[derive(Debug, Clone, Copy)]
pub struct RsigV2;

impl SignatureAlgorithm for RsigV2 {
    fn version(&self) -> &'static str {
        "rsig-v2"
    }

    fn inputs(&self, source: &SignatureSource<'_>) -> SignatureInputs {
        moded_inputs(self.version(), source, template)
    }

    fn sign(&self, inputs: &SignatureInputs) -> String {
        sha256_hex(&encode("rsig-v2", inputs))
    }
}

/// The inputs of `rsig-v2` and later, `template` making a message's or title's template: the caller's fingerprint;
/// else the error code; else the message's template; else the title's.
fn moded_inputs(
    version: &str,
    source: &SignatureSource<'_>,
    template: fn(&str) -> String,
) -> SignatureInputs {
    fn present(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|v| !v.is_empty())
    }
    let category = ("category".to_owned(), normalize_word(Some(source.category)));
    let (mode, fields) = if let Some(items) = source.fingerprint {
        ("fingerprint", fingerprint_pairs(items))
    } else if let Some(code) = present(source.error_code) {
        (
            "code",
            vec![category, ("error_code".to_owned(), code.to_lowercase())],
        )
    } else if let Some(message) = present(source.error_message) {
        (
            "message",
            vec![category, ("error_message".to_owned(), template(message))],
        )
    } else {
        (
            "title",
            vec![category, ("title".to_owned(), template(source.title))],
        )
    };
    SignatureInputs {
        version: version.to_owned(),
        mode: mode.to_owned(),
        fields,
        rule: None,
        template: None,
    }
}

/// `rsig-v3`: `rsig-v2`'s modes (the error code dominates; without one the message's template; without either the
/// title's), with the generic tokenizer of [`crate::template_v3`] as the template. See
/// `docs/recurrence-signatures.md`.
#[derive(Debug, Clone, Copy)]
pub struct RsigV3;

impl SignatureAlgorithm for RsigV3 {
    fn version(&self) -> &'static str {
        "rsig-v3"
    }

    fn inputs(&self, source: &SignatureSource<'_>) -> SignatureInputs {
        moded_inputs(self.version(), source, crate::template_v3::template)
    }

    fn sign(&self, inputs: &SignatureInputs) -> String {
        sha256_hex(&encode("rsig-v3", inputs))
    }
}

/// The canonical byte string of v1: `rsig-v1`, then `\n<len>:mode=<len>:<mode>`, then one
/// `\n<len>:<name>=<len>:<value>` per pair, lengths in UTF-8 bytes, decimal.
pub fn encode_v1(inputs: &SignatureInputs) -> String {
    encode("rsig-v1", inputs)
}

/// The canonical encoding of `inputs` under `header` (the version): the format both versions share.
pub fn encode(header: &str, inputs: &SignatureInputs) -> String {
    let mut out = String::from(header);
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
mod tests;

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
                    title: "",
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
