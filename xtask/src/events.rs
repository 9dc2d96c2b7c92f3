//! Event contract: for every registered type — the name rule, its extension fields and their types, a committed
//! fixture that validates, a CloudEvents rendering that the SDK parses — plus "every type the code can emit is
//! registered" and "no breaking change against the committed catalog without a schema_version bump".

use std::collections::BTreeMap;
use std::path::Path;

use hoc_contracts::registry::{EventTypeSpec, is_well_formed_name};
use hoc_contracts::{
    ActorType, DomainEvent, EnvelopeHeader, EventEnvelope, to_cloudevent, validate_event_payload,
};
use serde_json::Value;

use crate::report::Outcome;

const NAME: &str = "events";

/// Everything the verifier looks at, so tests can seed violations.
pub(crate) struct Inputs<'a> {
    pub(crate) registry: &'a [EventTypeSpec],
    pub(crate) examples: Vec<DomainEvent>,
    /// event type → committed fixture JSON (absent types have no fixture)
    pub(crate) fixtures: BTreeMap<String, Value>,
    pub(crate) catalog: Option<Value>,
    pub(crate) current_catalog: Value,
}

pub(crate) fn check(inputs: &Inputs<'_>) -> Vec<Outcome> {
    let mut out = Vec::new();
    for spec in inputs.registry {
        let at = "crates/hoc-contracts/src/registry.rs";
        let name_problem =
            (!is_well_formed_name(spec.name)).then(|| "not <domain>.<PascalCaseName>".to_owned());
        out.push(Outcome::from_problem(
            NAME,
            format!("{} name rule", spec.name),
            at,
            name_problem,
            "rename it to <lowercase domain>.<PascalCaseName>",
        ));
        let fields_problem = if spec.fields.is_empty() {
            Some("no extension fields".to_owned())
        } else if spec
            .fields
            .iter()
            .any(|(f, _)| hoc_contracts::ENVELOPE_FIELDS.contains(f))
        {
            Some("an extension field collides with an envelope field".to_owned())
        } else {
            None
        };
        out.push(Outcome::from_problem(
            NAME,
            format!("{} extension fields", spec.name),
            at,
            fields_problem,
            "declare its required extension fields with their types",
        ));

        let fixture_at = format!("xtask/fixtures/events/{}.json", spec.name);
        match inputs.fixtures.get(spec.name) {
            None => out.push(Outcome::fail(
                NAME,
                format!("{} fixture", spec.name),
                fixture_at,
                "commit a fixture envelope (cargo xtask bless writes missing ones)",
            )),
            Some(fixture) => {
                let mut problem = validate_event_payload(fixture).err().map(|e| e.to_string());
                if problem.is_none() && fixture["event_type"] != spec.name {
                    problem = Some(format!("fixture has event_type {}", fixture["event_type"]));
                }
                out.push(Outcome::from_problem(
                    NAME,
                    format!("{} fixture validates", spec.name),
                    fixture_at.clone(),
                    problem,
                    "make the fixture match the registered fields",
                ));
                out.push(Outcome::from_problem(
                    NAME,
                    format!("{} CloudEvents interop", spec.name),
                    fixture_at,
                    cloudevents_problem(fixture),
                    "to_cloudevent must produce CloudEvents 1.0 structured JSON",
                ));
            }
        }
    }

    // Every type the code can emit is registered (true by construction: both come from one declaration in
    // hoc-contracts' events module), and its example, rendered as the service renders it, passes the fail-closed
    // validator: the typed payload and the rules derived from it agree.
    for (seq, event) in inputs.examples.iter().enumerate() {
        let at = "crates/hoc-contracts/src/events.rs";
        let problem = if inputs.registry.iter().any(|s| s.name == event.event_type()) {
            let envelope = EventEnvelope::new(example_header(), seq as i64 + 1, event);
            envelope.validate().err().map(|e| e.to_string())
        } else {
            Some("the code can emit it but the registry does not know it".to_owned())
        };
        out.push(Outcome::from_problem(
            NAME,
            format!(
                "{} is registered and its example validates",
                event.event_type()
            ),
            at,
            problem,
            "declare it in domain_events! with a field type whose rule matches what it renders",
        ));
    }
    out.extend(check_catalog(
        inputs.catalog.as_ref(),
        &inputs.current_catalog,
    ));
    out
}

fn example_header() -> EnvelopeHeader {
    EnvelopeHeader {
        event_id: "evt_0190a3c2-0000-7000-8000-000000000001".into(),
        tenant_id: "t_example".into(),
        project_id: "default".into(),
        actor_type: ActorType::User,
        actor_id: "user_example".into(),
        occurred_at: time::macros::datetime!(2026-11-26 08:30:00 UTC),
        request_id: "req_0190a3c2-0000-7000-8000-000000000001".into(),
    }
}

fn cloudevents_problem(fixture: &Value) -> Option<String> {
    let envelope: EventEnvelope = match serde_json::from_value(fixture.clone()) {
        Ok(e) => e,
        Err(e) => return Some(format!("not an envelope: {e}")),
    };
    let rendered = to_cloudevent(&envelope);
    match serde_json::from_value::<cloudevents::Event>(rendered.clone()) {
        Err(e) => Some(format!("cloudevents-sdk rejects it: {e}")),
        Ok(event) => {
            use cloudevents::AttributesReader;
            if event.ty() != envelope.event_type || event.id() != envelope.event_id {
                Some("type or id lost in the rendering".to_owned())
            } else if rendered.as_object().is_some_and(|o| {
                o.keys().any(|k| {
                    !k.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                })
            }) {
                Some("attribute names must be lowercase alphanumerics".to_owned())
            } else {
                None
            }
        }
    }
}

/// Compares the registry with the committed catalog.
pub(crate) fn check_catalog(committed: Option<&Value>, current: &Value) -> Vec<Outcome> {
    let at = "xtask/catalog/events.json";
    let Some(committed) = committed else {
        return vec![Outcome::fail(
            NAME,
            "catalog snapshot",
            at,
            "commit one: cargo xtask bless",
        )];
    };
    let same_version = committed["schema_version"] == current["schema_version"];
    let empty = serde_json::Map::new();
    let old = committed["types"].as_object().unwrap_or(&empty);
    let new = current["types"].as_object().unwrap_or(&empty);
    let mut breaking = Vec::new();
    let mut additive = Vec::new();
    for (ty, fields) in old {
        match new.get(ty) {
            None => breaking.push(format!("{ty} removed")),
            Some(now) => {
                for (field, rule) in fields.as_object().unwrap_or(&empty) {
                    match now.get(field) {
                        None => breaking.push(format!("{ty}.{field} removed")),
                        Some(r) if r != rule => breaking.push(format!("{ty}.{field} retyped")),
                        Some(_) => {}
                    }
                }
                for field in now.as_object().unwrap_or(&empty).keys() {
                    if fields.get(field).is_none() {
                        breaking.push(format!("{ty}.{field} added as a required field"));
                    }
                }
            }
        }
    }
    for ty in new.keys() {
        if !old.contains_key(ty) {
            additive.push(format!("{ty} added"));
        }
    }
    let mut out = Vec::new();
    if breaking.is_empty() {
        out.push(Outcome::pass(
            NAME,
            "no breaking change against the catalog",
            at,
        ));
    } else if same_version {
        out.push(Outcome::fail(
            NAME,
            "no breaking change against the catalog",
            format!("{at} — {}", breaking.join("; ")),
            "keep the old contract, or bump SCHEMA_VERSION and then run cargo xtask bless",
        ));
    } else {
        out.push(Outcome::warn(
            NAME,
            "catalog matches the registry",
            format!("{at} — schema_version bumped; {}", breaking.join("; ")),
            "run cargo xtask bless to record the new version",
        ));
    }
    if !additive.is_empty() {
        out.push(Outcome::warn(
            NAME,
            "catalog matches the registry",
            format!("{at} — {}", additive.join("; ")),
            "run cargo xtask bless to record the additions",
        ));
    } else if breaking.is_empty() && !same_version {
        out.push(Outcome::warn(
            NAME,
            "catalog matches the registry",
            format!("{at} — schema_version differs"),
            "run cargo xtask bless",
        ));
    }
    out.extend(envelope_outcomes(committed, current));
    out
}

/// `major.minor.patch` of a catalog's schema version.
fn version(catalog: &Value) -> Option<(u64, u64, u64)> {
    let text = catalog["schema_version"].as_str()?;
    let mut parts = text.split('.').map(|p| p.parse::<u64>().ok());
    match (parts.next()?, parts.next()?, parts.next()?, parts.next()) {
        (Some(major), Some(minor), Some(patch), None) => Some((major, minor, patch)),
        _ => None,
    }
}

/// The envelope against the committed catalog: a field added is additive and needs at least a minor bump; a
/// field removed is breaking and needs a major one.
fn envelope_outcomes(committed: &Value, current: &Value) -> Vec<Outcome> {
    let at = "xtask/catalog/events.json envelope";
    let fields = |c: &Value| -> Vec<String> {
        c["envelope"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (old, new) = (fields(committed), fields(current));
    let added: Vec<&String> = new.iter().filter(|f| !old.contains(f)).collect();
    let removed: Vec<&String> = old.iter().filter(|f| !new.contains(f)).collect();
    let (Some(was), Some(is)) = (version(committed), version(current)) else {
        return vec![Outcome::fail(
            NAME,
            "envelope against the catalog",
            at,
            "schema versions must be major.minor.patch",
        )];
    };
    let problem = if !removed.is_empty() && is.0 <= was.0 {
        Some(format!(
            "envelope fields removed ({}) need a major schema version bump ({}.{}.{} → {}.0.0)",
            removed
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            was.0,
            was.1,
            was.2,
            was.0 + 1
        ))
    } else if !added.is_empty() && is <= was {
        Some(format!(
            "envelope fields added ({}) need at least a minor schema version bump ({}.{}.{} → {}.{}.0)",
            added
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            was.0,
            was.1,
            was.2,
            was.0,
            was.1 + 1
        ))
    } else {
        None
    };
    let mut out = vec![Outcome::from_problem(
        NAME,
        "envelope against the catalog",
        at,
        problem.clone(),
        "bump SCHEMA_VERSION in hoc-contracts, then run cargo xtask bless",
    )];
    if problem.is_none() && (!added.is_empty() || !removed.is_empty()) {
        out.push(Outcome::warn(
            NAME,
            "catalog matches the registry",
            format!("{at} — envelope changed under a new schema version"),
            "run cargo xtask bless to record it",
        ));
    }
    out
}

/// A fixed envelope of each example event (what `cargo xtask bless` writes as a fixture).
pub(crate) fn fixture_for(event: &DomainEvent) -> Value {
    let header = hoc_contracts::EnvelopeHeader {
        event_id: "evt_fixture_0001".to_owned(),
        tenant_id: "tenant_fixture".to_owned(),
        project_id: "default".to_owned(),
        actor_type: hoc_contracts::ActorType::User,
        actor_id: "fixture_user".to_owned(),
        occurred_at: time::macros::datetime!(2026-01-01 00:00:00 UTC),
        request_id: "req_fixture_0001".to_owned(),
    };
    EventEnvelope::new(header, 1, event).to_json()
}

fn read_json(path: &Path) -> Option<Value> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
}

pub(crate) fn inputs(root: &Path) -> Inputs<'static> {
    let fixtures = hoc_contracts::registry::EVENT_TYPES
        .iter()
        .filter_map(|spec| {
            read_json(
                &root
                    .join("xtask/fixtures/events")
                    .join(format!("{}.json", spec.name)),
            )
            .map(|v| (spec.name.to_owned(), v))
        })
        .collect();
    Inputs {
        registry: hoc_contracts::registry::EVENT_TYPES,
        examples: DomainEvent::examples(),
        fixtures,
        catalog: read_json(&root.join("xtask/catalog/events.json")),
        current_catalog: hoc_contracts::registry::catalog(),
    }
}

pub(crate) fn verify(root: &Path) -> Vec<Outcome> {
    check(&inputs(root))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::report::Level;

    fn fails(outcomes: &[Outcome]) -> Vec<String> {
        outcomes
            .iter()
            .filter(|o| o.level == Level::Fail)
            .map(|o| o.check.clone())
            .collect()
    }

    #[test]
    fn the_real_contract_passes() {
        let outcomes = verify(&crate::workspace_root());
        assert_eq!(fails(&outcomes), Vec::<String>::new());
        assert!(
            outcomes.iter().all(|o| o.level == Level::Pass),
            "{outcomes:#?}"
        );
    }

    #[test]
    fn an_unregistered_event_is_caught() {
        let root = crate::workspace_root();
        let mut inputs = inputs(&root);
        let registry: Vec<EventTypeSpec> = hoc_contracts::registry::EVENT_TYPES
            .iter()
            .filter(|s| s.name != "analytics.ArtifactRecorded")
            .copied()
            .collect();
        inputs.registry = Box::leak(registry.into_boxed_slice());
        let failing = fails(&check(&inputs));
        assert!(
            failing.contains(
                &"analytics.ArtifactRecorded is registered and its example validates".to_owned()
            ),
            "{failing:?}"
        );
    }

    #[test]
    fn a_badly_named_type_is_caught() {
        let root = crate::workspace_root();
        let mut inputs = inputs(&root);
        let mut registry: Vec<EventTypeSpec> = hoc_contracts::registry::EVENT_TYPES.to_vec();
        registry.push(EventTypeSpec {
            name: "Incidents.incident-exploded",
            fields: &[],
        });
        inputs.registry = Box::leak(registry.into_boxed_slice());
        let failing = fails(&check(&inputs));
        assert_eq!(
            failing,
            [
                "Incidents.incident-exploded name rule",
                "Incidents.incident-exploded extension fields",
                "Incidents.incident-exploded fixture",
            ]
        );
    }

    #[test]
    fn an_example_the_validator_refuses_and_a_bad_fixture_are_caught() {
        let root = crate::workspace_root();
        let mut inputs = inputs(&root);
        if let Some(DomainEvent::PostmortemCreated(payload)) = inputs.examples.get_mut(5) {
            payload.postmortem_artifact_id = " ".into();
        }
        let fixture = inputs
            .fixtures
            .get_mut("incidents.IncidentResolved")
            .expect("fixture");
        fixture["data"]["resolution_type"] = json!("prayer");
        inputs.fixtures.remove("incidents.PostmortemCreated");
        let failing = fails(&check(&inputs));
        assert_eq!(
            failing,
            [
                "incidents.IncidentResolved fixture validates",
                "incidents.PostmortemCreated fixture",
                "incidents.PostmortemCreated is registered and its example validates",
            ]
        );
    }

    #[test]
    fn a_fixture_that_cannot_render_as_cloudevents_is_caught() {
        assert!(
            cloudevents_problem(&json!({"event_id": 1}))
                .is_some_and(|p| p.starts_with("not an envelope"))
        );
        let root = crate::workspace_root();
        let fixture = &inputs(&root).fixtures["incidents.IncidentCreated"];
        assert_eq!(cloudevents_problem(fixture), None);
    }

    #[test]
    fn breaking_changes_need_a_version_bump() {
        let current = hoc_contracts::registry::catalog();
        let mut committed = current.clone();
        // The committed catalog had a field the code no longer has → removed without a bump.
        committed["types"]["incidents.IncidentAcknowledged"]["acknowledged_by"] =
            json!({"kind": "non_empty_string"});
        let outcomes = check_catalog(Some(&committed), &current);
        assert_eq!(outcomes[0].level, Level::Fail);
        assert!(
            outcomes[0]
                .location
                .contains("incidents.IncidentAcknowledged.acknowledged_by removed"),
            "{}",
            outcomes[0].location
        );
        // Retyped.
        let mut retyped = current.clone();
        retyped["types"]["analytics.ArtifactRecorded"]["as_of"] =
            json!({"kind": "non_empty_string"});
        assert_eq!(
            check_catalog(Some(&retyped), &current)[0].level,
            Level::Fail
        );
        // The same change with a bumped schema version is only a reminder to bless.
        committed["schema_version"] = json!("0.9.0");
        assert_eq!(
            check_catalog(Some(&committed), &current)[0].level,
            Level::Warn
        );
        // A new type is additive.
        let mut older = current.clone();
        older["types"]
            .as_object_mut()
            .expect("types")
            .remove("incidents.IncidentReopened");
        let outcomes = check_catalog(Some(&older), &current);
        assert_eq!(
            outcomes.iter().map(|o| o.level).collect::<Vec<_>>(),
            [Level::Pass, Level::Warn, Level::Pass],
            "types: no breaking change, one addition to bless; envelope unchanged"
        );
        assert_eq!(check_catalog(None, &current)[0].level, Level::Fail);
    }

    #[test]
    fn an_envelope_field_needs_a_minor_bump() {
        let current = hoc_contracts::registry::catalog();
        assert_eq!(current["schema_version"], hoc_contracts::SCHEMA_VERSION);
        let mut before = current.clone();
        before["envelope"]
            .as_array_mut()
            .expect("envelope")
            .retain(|f| f != "request_id");
        // The catalog of 1.0.0 without request_id: a later minor version adds it, accepted (bless reminder).
        before["schema_version"] = json!("1.0.0");
        let outcomes = envelope_outcomes(&before, &current);
        assert_eq!(
            outcomes.iter().map(|o| o.level).collect::<Vec<_>>(),
            [Level::Pass, Level::Warn]
        );
        // Seeded violation: the same field added without the bump.
        before["schema_version"] = json!(hoc_contracts::SCHEMA_VERSION);
        let outcomes = check_catalog(Some(&before), &current);
        let envelope = outcomes
            .iter()
            .find(|o| o.check == "envelope against the catalog")
            .expect("envelope outcome");
        assert_eq!(envelope.level, Level::Fail);
        assert!(
            envelope.location.contains(
                "envelope fields added (request_id) need at least a minor schema version bump"
            ),
            "{}",
            envelope.location
        );
        // Removing an envelope field needs a major bump: a minor one is refused.
        let mut later = current.clone();
        later["envelope"]
            .as_array_mut()
            .expect("envelope")
            .retain(|f| f != "request_id");
        later["schema_version"] = json!("1.3.0");
        assert_eq!(envelope_outcomes(&current, &later)[0].level, Level::Fail);
        later["schema_version"] = json!("2.0.0");
        assert_eq!(envelope_outcomes(&current, &later)[0].level, Level::Pass);
    }
}
