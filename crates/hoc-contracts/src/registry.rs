//! The event-type registry: every event type the system can emit, with its required extension fields.
//!
//! The registry is static data. Emission goes through [`crate::DomainEvent`], whose every variant names a
//! registered type (a unit test walks all variants), so "every emitted type is registered" is checked by the
//! compiler and a test, not by a word search.

/// The value rule of one extension field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldType {
    /// A string with at least one non-blank character (ids, versions).
    NonEmptyString,
    /// One of a closed vocabulary.
    OneOf {
        /// The allowed values.
        values: &'static [&'static str],
    },
    /// An RFC 3339 timestamp in UTC (`Z` or `+00:00`).
    UtcTimestamp,
    /// Exactly 64 lowercase hexadecimal characters (a SHA-256 digest).
    Sha256Hex,
    /// A JSON integer ≥ 0.
    Count,
}

/// The states an incident can be in (the canonical `status` column).
pub const INCIDENT_STATES: &[&str] = &["open", "acknowledged", "resolved", "closed"];

/// The closed vocabulary of `resolution_type` (HTTP API document).
pub const RESOLUTION_TYPES: &[&str] = &[
    "manual",
    "auto",
    "rollback",
    "hotfix",
    "config_change",
    "mitigated",
    "duplicate",
    "false_positive",
    "other",
];

/// The vocabulary of `resolution_method`.
pub const RESOLUTION_METHODS: &[&str] = &["manual_closure"];

/// The severities an incident can have.
pub const SEVERITIES: &[&str] = &["critical", "high", "medium", "low", "info"];

/// One registered event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct EventTypeSpec {
    /// `<domain>.<PascalCaseName>`.
    pub name: &'static str,
    /// Required extension fields (carried in `data`), in documentation order.
    pub fields: &'static [(&'static str, FieldType)],
}

const INCIDENT_STATE: FieldType = FieldType::OneOf {
    values: INCIDENT_STATES,
};

/// Every registered event type.
pub static EVENT_TYPES: &[EventTypeSpec] = &[
    EventTypeSpec {
        name: "incidents.IncidentCreated",
        fields: &[
            ("incident_id", FieldType::NonEmptyString),
            ("incident_state", INCIDENT_STATE),
            ("severity", FieldType::OneOf { values: SEVERITIES }),
            ("recurrence_signature", FieldType::NonEmptyString),
            ("signature_version", FieldType::NonEmptyString),
        ],
    },
    EventTypeSpec {
        name: "incidents.IncidentAcknowledged",
        fields: &[
            ("incident_id", FieldType::NonEmptyString),
            ("incident_state", INCIDENT_STATE),
        ],
    },
    EventTypeSpec {
        name: "incidents.IncidentResolved",
        fields: &[
            ("incident_id", FieldType::NonEmptyString),
            ("incident_state", INCIDENT_STATE),
            (
                "resolution_type",
                FieldType::OneOf {
                    values: RESOLUTION_TYPES,
                },
            ),
        ],
    },
    EventTypeSpec {
        name: "incidents.IncidentManuallyClosed",
        fields: &[
            ("incident_id", FieldType::NonEmptyString),
            ("incident_state", INCIDENT_STATE),
            (
                "resolution_method",
                FieldType::OneOf {
                    values: RESOLUTION_METHODS,
                },
            ),
        ],
    },
    EventTypeSpec {
        name: "incidents.IncidentReopened",
        fields: &[
            ("incident_id", FieldType::NonEmptyString),
            ("incident_state", INCIDENT_STATE),
            ("previous_state", INCIDENT_STATE),
        ],
    },
    EventTypeSpec {
        name: "incidents.PostmortemCreated",
        fields: &[
            ("incident_id", FieldType::NonEmptyString),
            ("postmortem_artifact_id", FieldType::NonEmptyString),
        ],
    },
    EventTypeSpec {
        name: "analytics.ArtifactRecorded",
        fields: &[
            ("dataset_id", FieldType::NonEmptyString),
            ("dataset_version", FieldType::NonEmptyString),
            ("input_window_hash", FieldType::Sha256Hex),
            ("as_of", FieldType::UtcTimestamp),
            ("compute_code_version", FieldType::NonEmptyString),
        ],
    },
    EventTypeSpec {
        name: "incidents.IncidentRegrouped",
        fields: &[
            ("incident_id", FieldType::NonEmptyString),
            ("previous_signature", FieldType::NonEmptyString),
            ("previous_signature_version", FieldType::NonEmptyString),
            ("recurrence_signature", FieldType::NonEmptyString),
            ("signature_version", FieldType::NonEmptyString),
        ],
    },
    EventTypeSpec {
        name: "incidents.GroupingConfigChanged",
        fields: &[
            ("config_version", FieldType::Count),
            ("primary_version", FieldType::NonEmptyString),
            ("secondary_version", FieldType::NonEmptyString),
            ("rule_count", FieldType::Count),
        ],
    },
];

/// Extension fields added after the first supported schema version: (event type, field, the version that added
/// it). An event of an older version may lack them (it was written before they existed); one of this version or
/// later must carry them.
pub static FIELDS_SINCE: &[(&str, &str, &str)] = &[
    ("incidents.IncidentCreated", "recurrence_signature", "1.2.0"),
    ("incidents.IncidentCreated", "signature_version", "1.2.0"),
];

/// Whether `field` of `event_type` is required of an event of `schema_version`.
pub fn required_in(event_type: &str, field: &str, schema_version: &str) -> bool {
    let parse = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    FIELDS_SINCE
        .iter()
        .find(|(ty, name, _)| *ty == event_type && *name == field)
        .is_none_or(|(_, _, since)| parse(schema_version) >= parse(since))
}

/// The catalog of the event contract as data: the schema version and, per type, each extension field's rule.
/// `xtask/catalog/events.json` holds the committed copy; the event-contract verifier refuses a breaking change
/// (a removed type, a removed or retyped field) unless the schema version changed too.
pub fn catalog() -> serde_json::Value {
    let types: serde_json::Map<String, serde_json::Value> = EVENT_TYPES
        .iter()
        .map(|spec| {
            let fields: serde_json::Map<String, serde_json::Value> = spec
                .fields
                .iter()
                .map(|(name, ty)| {
                    (
                        (*name).to_owned(),
                        serde_json::to_value(ty).unwrap_or_default(),
                    )
                })
                .collect();
            (spec.name.to_owned(), serde_json::Value::Object(fields))
        })
        .collect();
    serde_json::json!({
        "schema_version": crate::SCHEMA_VERSION,
        "envelope": crate::ENVELOPE_FIELDS,
        "types": types,
    })
}

/// Looks up a registered event type by its full name.
pub fn lookup(name: &str) -> Option<&'static EventTypeSpec> {
    EVENT_TYPES.iter().find(|spec| spec.name == name)
}

/// Whether `name` follows the naming rule `<domain>.<PascalCaseName>`: a lowercase ASCII domain, one dot,
/// then an ASCII-alphanumeric name starting with an uppercase letter.
pub fn is_well_formed_name(name: &str) -> bool {
    let Some((domain, event)) = name.split_once('.') else {
        return false;
    };
    !domain.is_empty()
        && domain.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        && event.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
        && event.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_nine_types_are_registered_once_with_well_formed_names() {
        assert_eq!(EVENT_TYPES.len(), 9);
        for spec in EVENT_TYPES {
            assert!(is_well_formed_name(spec.name), "{}", spec.name);
            assert_eq!(
                EVENT_TYPES.iter().filter(|s| s.name == spec.name).count(),
                1,
                "{} registered twice",
                spec.name
            );
            assert!(!spec.fields.is_empty());
        }
    }

    #[test]
    fn seed_types_carry_exactly_the_seed_extension_fields() {
        let names = |t: &str| -> Vec<&str> {
            lookup(t)
                .map(|s| s.fields.iter().map(|(n, _)| *n).collect())
                .unwrap_or_default()
        };
        assert_eq!(
            names("incidents.IncidentAcknowledged"),
            ["incident_id", "incident_state"]
        );
        assert_eq!(
            names("incidents.IncidentResolved"),
            ["incident_id", "incident_state", "resolution_type"]
        );
        assert_eq!(
            names("incidents.IncidentManuallyClosed"),
            ["incident_id", "incident_state", "resolution_method"]
        );
        assert_eq!(
            names("incidents.PostmortemCreated"),
            ["incident_id", "postmortem_artifact_id"]
        );
        assert_eq!(
            names("analytics.ArtifactRecorded"),
            [
                "dataset_id",
                "dataset_version",
                "input_window_hash",
                "as_of",
                "compute_code_version"
            ]
        );
    }

    #[test]
    fn name_rule() {
        for good in ["incidents.IncidentCreated", "analytics.ArtifactRecorded"] {
            assert!(is_well_formed_name(good), "{good}");
        }
        for bad in [
            "IncidentCreated",
            "incidents.incidentCreated",
            "Incidents.IncidentCreated",
            "incidents.Incident-Created",
            ".IncidentCreated",
            "incidents.",
            "a.b.C",
        ] {
            assert!(!is_well_formed_name(bad), "{bad}");
        }
        assert!(lookup("incidents.Nope").is_none());
    }
}
