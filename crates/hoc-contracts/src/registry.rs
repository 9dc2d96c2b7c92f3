//! The event-type registry: every event type the system can emit, with its required extension fields.
//!
//! The registry is derived from the declarations in [`crate::events`]: each [`crate::DomainEvent`] variant and its
//! [`EventTypeSpec`] come from one entry there, so "every emitted type is registered" holds by construction.

pub use crate::events::{EVENT_TYPES, EventTypeSpec, FieldType};

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
    fn every_type_is_registered_once_with_a_well_formed_name() {
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
