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

/// The version new incidents are signed with when their tenant has no grouping configuration (a tenant moves to a
/// newer one by configuring it and regrouping, so no existing group splits by itself).
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
pub static ALGORITHMS: &[&dyn SignatureAlgorithm] = &[&RsigV1, &RsigV2];

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

fn sha256_hex(text: &str) -> String {
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
            version: self.version().to_owned(),
            mode: mode.to_owned(),
            fields,
            rule: None,
        }
    }

    fn sign(&self, inputs: &SignatureInputs) -> String {
        sha256_hex(&encode("rsig-v2", inputs))
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
                    title: "",
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

    /// Golden vectors of `rsig-v2`, one or more per masked token class and per mode: these exact encodings and
    /// hashes are `rsig-v2` forever. The encodings were written by hand from the specification and the hashes
    /// computed from them outside Rust (Python's `hashlib.sha256`); `docs/recurrence-signatures.md` lists the same.
    #[test]
    fn golden_vectors_v2() {
        #[allow(clippy::type_complexity)]
        let vectors: &[(
            &str,
            Option<&str>,
            Option<&str>,
            &str,
            Option<&[&str]>,
            &str,
            &str,
        )] = &[
            (
                "database",
                None,
                None,
                "Primary DB down",
                None,
                "rsig-v2\n4:mode=5:title\n8:category=8:database\n5:title=15:primary db down",
                "7339af661e512d1c6b62ee0edf1534e9e7043a01e3350863ac78c538bb798df8",
            ),
            (
                " Database ",
                Some("PG-53300"),
                Some("too many clients"),
                "x",
                None,
                "rsig-v2\n4:mode=4:code\n8:category=8:database\n10:error_code=8:pg-53300",
                "30023349c883f53729a227a95453a22f8f80532e180dbfe7121dd206d0882a90",
            ),
            (
                "network",
                Some("  "),
                Some("Connection refused to 10.0.0.12:5432"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=7:network\n13:error_message=30:connection refused to <ip>:<n>",
                "afd36267ed7077584151375556508751faaeed530c7bf3f4eee6cdad115c5a86",
            ),
            (
                "network",
                None,
                Some("dial tcp [2001:db8::1]:443: i/o timeout"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=7:network\n13:error_message=32:dial tcp [<ip>]:<n>: i/o timeout",
                "1673f42d9a0308c16e17674d2eacc570d59a37ee688530826aa7f337d53e934f",
            ),
            (
                "network",
                None,
                Some("no route to fe80::1ff:fe23:4567:890a"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=7:network\n13:error_message=16:no route to <ip>",
                "feaebe3bf9d30dfeee32a07aef265f4713d6ee1b240be15a0428c5c9b80ee471",
            ),
            (
                "network",
                None,
                Some("upstream db-3.prod.internal timed out after 30s"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=7:network\n13:error_message=42:upstream <host> timed out after <duration>",
                "604607b75e80bc8e808fa425b4150017e8a2eab86eda0a55a0bffa1cf3820242",
            ),
            (
                "payments",
                None,
                Some("POST api.stripe.com:443 reset by peer"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=8:payments\n13:error_message=29:post <host>:<n> reset by peer",
                "035daa9e7eea1ebe9dac364a9b43f76d949922ea70c31a8db245d28a3aa73b0a",
            ),
            (
                "app",
                None,
                Some("java.lang.NullPointerException at Foo.bar"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=3:app\n13:error_message=41:java.lang.nullpointerexception at foo.bar",
                "b2e9989c8ee5ba94dd6ee84e614ed398d5bcbd544a81e68f1b17e053197875af",
            ),
            (
                "email",
                None,
                Some("Delivery to ops@example.com bounced"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=5:email\n13:error_message=27:delivery to <email> bounced",
                "5682917fc6f0bf75ea9ab0bec7494d6b94812157607fd7645fd77986efbd6ec9",
            ),
            (
                "storage",
                None,
                Some("open /var/lib/app/data.db: permission denied"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=7:storage\n13:error_message=30:open <path>: permission denied",
                "3ccab2b279d82aacb764dfa64cdde45c9764eda7f8231df95413d07160c0af59",
            ),
            (
                "storage",
                None,
                Some("cannot read ./conf/app.yaml"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=7:storage\n13:error_message=18:cannot read <path>",
                "9efaef6c48b6a6760213b283e6e838367d89441afde8881d178bfbf956085f61",
            ),
            (
                "storage",
                None,
                Some("cannot write C:\\Temp\\out.log"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=7:storage\n13:error_message=19:cannot write <path>",
                "97e3864e2018e8013b897ab2f45f3ef3ae4cdfa521fb0bf45548e17d3b56c55b",
            ),
            (
                "storage",
                None,
                Some("missing ~/.aws/credentials"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=7:storage\n13:error_message=14:missing <path>",
                "419e5aceed02f2931af421d7381b5ac8ab21e926fea8b7fe4c4cffe0f283d9a0",
            ),
            (
                "http",
                None,
                Some("GET https://api.example.com/v1/users?id=7 returned 503"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=4:http\n13:error_message=22:get <url> returned <n>",
                "8f56758330167ea26d4297f29b3cc2ca3701238315054577033685fe5d17382b",
            ),
            (
                "database",
                None,
                Some("relation \"orders_2024\" does not exist"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=8:database\n13:error_message=29:relation <str> does not exist",
                "17142f2d7966f5b2efe2c1c3daae0f74c149103ac43d3e9e3eb6695adc171caa",
            ),
            (
                "database",
                None,
                Some("Duplicate entry 'alice@x.io' for key 'users.email'"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=8:database\n13:error_message=35:duplicate entry <str> for key <str>",
                "b6c8c6cbb9395623df11b1a94cd2a3ae42741e0001ddd04741640c3b240ee73e",
            ),
            (
                "shell",
                None,
                Some("command `make deploy` failed"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=5:shell\n13:error_message=20:command <str> failed",
                "793034c10a2eaccedbc67829502cb4b94fdb41d62ad16304a727ea490d73e7a1",
            ),
            (
                "app",
                None,
                Some("order 3f2b8c4e-1a2b-4c3d-9e8f-0123456789ab not found"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=3:app\n13:error_message=22:order <uuid> not found",
                "a53a5e467d905b53bd4c056f3493739c90b75d8876748952ecd5b6ff104a5b3d",
            ),
            (
                "app",
                None,
                Some("segfault at 0x7ffd5e8a1b20"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=3:app\n13:error_message=17:segfault at <hex>",
                "0d7b0f1e4d5463bdbe2600824e5bc9d04294c49d43ca4da7599b36d1854312bf",
            ),
            (
                "deploy",
                None,
                Some("commit deadbeef12 not found"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=6:deploy\n13:error_message=22:commit <hex> not found",
                "247cb9edd467b1446d81fdb7efc2cdc9b01a759ca867f10ed68011965badc25d",
            ),
            (
                "jobs",
                None,
                Some("job took 1h30m15s"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=4:jobs\n13:error_message=19:job took <duration>",
                "ce271e9a863ab1dc3a9cfe7ed0ccb7d0b50650a474c95eeaf79ba018612df822",
            ),
            (
                "jobs",
                None,
                Some("lock held for 250 ms, retried after 5 minutes"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=4:jobs\n13:error_message=50:lock held for <duration>, retried after <duration>",
                "5d1c0234125c35f147ef32ab51e5196d7909df563cbef569952762afad2ce849",
            ),
            (
                "memory",
                None,
                Some("OOMKilled: requested 512MB, limit 2.5 GiB"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=6:memory\n13:error_message=41:oomkilled: requested <size>, limit <size>",
                "c613334e3abfa76feea4854dfe4375af9f0a4b5b5780b0730ec843f8b45bb8c9",
            ),
            (
                "memory",
                None,
                Some("heap at 1024 bytes over 64k"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=6:memory\n13:error_message=26:heap at <size> over <size>",
                "d53a7d7fd1033c56ffed71b6a16b79a36db7719704035b351b5de06278b8409c",
            ),
            (
                "app",
                None,
                Some("retry 3/5 failed (95%)"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=3:app\n13:error_message=27:retry <n>/<n> failed (<n>%)",
                "987f8583a0b5f4b5c4a8ed91094d03faeee84bdad44444fa172bfc33dc2e2817",
            ),
            (
                "k8s",
                None,
                Some("pod checkout-7d9f-x2k4l crashed on worker7"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=3:k8s\n13:error_message=43:pod checkout-<id>-<id> crashed on worker<n>",
                "d22abe9bf87e8d18332d44641eb81e3feb3db1b0970eb76e8501a7abbb335ea2",
            ),
            (
                "app",
                None,
                Some("  Many\t\tSPACES  here "),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=3:app\n13:error_message=16:many spaces here",
                "73dc138d9bc439bc0da4fd3aff333589912f50aa0b4e2093e41450e1a2c1d738",
            ),
            (
                "app",
                None,
                Some("at 12:30:45 on 2026-11-28"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=3:app\n13:error_message=29:at <n>:<n>:<n> on <n>-<n>-<n>",
                "3a2a7a4a0d2ddb6b5ab9979309f11099e4501807e84e046b4e8a031c342abb8d",
            ),
            (
                "réseau",
                None,
                Some("Délai dépassé après 30 secondes"),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=7:réseau\n13:error_message=36:délai dépassé après <n> secondes",
                "26b0ea13940b9317e764dcf62aa5db5fdcf60c7fb67f6dcb35c0d8ed772a1944",
            ),
            (
                "app",
                None,
                Some("   "),
                "Disk 93% full on node-12",
                None,
                "rsig-v2\n4:mode=5:title\n8:category=3:app\n5:title=26:disk <n>% full on node-<n>",
                "b9a24b7bb0234219f6b39eb0079f6365a39f26beacfa78a7a42ab7f1e901e759",
            ),
            (
                "app",
                Some("E42"),
                None,
                "",
                Some(&["checkout", "  EU-West "]),
                "rsig-v2\n4:mode=11:fingerprint\n11:fingerprint=8:checkout\n11:fingerprint=7:EU-West",
                "62cde26535ef91835486e8d533dd86581e91e61d7506d94c5e3bf54b789bb5f0",
            ),
            (
                "cache",
                None,
                Some("redis-cache.svc.cluster.local:6379 refused, key \"sess:9\""),
                "t",
                None,
                "rsig-v2\n4:mode=7:message\n8:category=5:cache\n13:error_message=29:<host>:<n> refused, key <str>",
                "ca14af98d044fc4c89d3b7e161cb4780c1724704ac145d46746288e71e9f1de5",
            ),
        ];
        assert!(vectors.len() >= 30);
        for (category, error_code, error_message, title, fingerprint, encoding, hash) in vectors {
            let fingerprint: Option<Vec<String>> =
                fingerprint.map(|items| items.iter().map(|s| (*s).to_owned()).collect());
            let signature = sign_with(
                &RsigV2,
                &SignatureSource {
                    category,
                    error_code: *error_code,
                    error_message: *error_message,
                    title,
                    fingerprint: fingerprint.as_deref(),
                    ..SignatureSource::default()
                },
            );
            assert_eq!(
                encode("rsig-v2", &signature.inputs),
                *encoding,
                "{error_message:?} {title:?}"
            );
            assert_eq!(signature.signature, *hash, "{encoding:?}");
            assert_eq!(signature.version, "rsig-v2");
        }
    }

    #[test]
    fn v2_ignores_how_a_failure_was_reported_and_lets_the_code_dominate() {
        let base = SignatureSource {
            category: "database",
            error_code: Some("PG-53300"),
            error_message: Some("too many clients on db-1.prod.internal"),
            title: "DB saturated",
            ..SignatureSource::default()
        };
        let v2 = |s: &SignatureSource<'_>| sign_with(&RsigV2, s).signature;
        let other_report = SignatureSource {
            trigger_type: Some("alert"),
            source_type: Some("prometheus"),
            error_message: Some("something else entirely"),
            title: "another title",
            ..base
        };
        assert_eq!(v2(&base), v2(&other_report));
        // v1 splits the same two.
        assert_ne!(
            sign_current(&base).signature,
            sign_current(&other_report).signature
        );
        // Without code and message, titles group (not the category alone).
        let titled = |title| SignatureSource {
            category: "database",
            title,
            ..SignatureSource::default()
        };
        assert_eq!(
            v2(&titled("Replica lag 30s on db-2")),
            v2(&titled("Replica lag 45s on db-7"))
        );
        assert_ne!(
            v2(&titled("Replica lag 30s on db-2")),
            v2(&titled("Disk full on db-2"))
        );
        assert_eq!(
            sign_current(&titled("Replica lag")).signature,
            sign_current(&titled("Disk full")).signature
        );
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
            ["rsig-v1", "rsig-v2"]
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
