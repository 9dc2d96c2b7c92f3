use serde_json::{Value, json};
use time::macros::datetime;

use super::*;

fn header() -> EnvelopeHeader {
    EnvelopeHeader {
        event_id: "evt_0190a3c2-0000-7000-8000-00000000000a".into(),
        tenant_id: "tenant_acme".into(),
        project_id: "default".into(),
        actor_type: ActorType::User,
        actor_id: "user_42".into(),
        occurred_at: datetime!(2026-11-26 08:30:00.123456 UTC),
        request_id: "req_0190a3c2-0000-7000-8000-00000000000b".into(),
    }
}

fn acknowledged() -> Value {
    let event = DomainEvent::from(crate::events::IncidentAcknowledged {
        incident_id: "inc_1".into(),
        incident_state: crate::input::IncidentState::Acknowledged,
    });
    EventEnvelope::new(header(), 7, &event).to_json()
}

/// Runs validation and renders the outcome as one line per problem.
fn check(payload: &Value) -> Vec<String> {
    match validate_event_payload(payload) {
        Ok(()) => {
            assert!(is_valid(payload));
            vec![]
        }
        Err(err) => {
            assert!(!is_valid(payload));
            err.problems().iter().map(ToString::to_string).collect()
        }
    }
}

fn with(mut payload: Value, pointer: &str, value: Value) -> Value {
    *payload
        .pointer_mut(pointer)
        .expect("pointer names an existing field") = value;
    payload
}

fn without(mut payload: Value, field: &str) -> Value {
    payload
        .as_object_mut()
        .expect("payload is an object")
        .remove(field);
    payload
}

#[test]
fn every_example_validates() {
    for (seq, event) in DomainEvent::examples().iter().enumerate() {
        let envelope = EventEnvelope::new(header(), seq as i64 + 1, event);
        assert_eq!(
            check(&envelope.to_json()),
            Vec::<String>::new(),
            "{}",
            event.event_type()
        );
        envelope.validate().expect("example is valid");
    }
}

#[test]
fn examples_cover_the_registry_exactly() {
    let emitted: Vec<&str> = DomainEvent::examples()
        .iter()
        .map(DomainEvent::event_type)
        .collect();
    let registered: Vec<&str> = registry::EVENT_TYPES.iter().map(|s| s.name).collect();
    assert_eq!(emitted, registered);
    for event in DomainEvent::examples() {
        let spec = registry::lookup(event.event_type()).expect("registered");
        let data_keys: Vec<String> = event.data().keys().cloned().collect();
        let mut spec_keys: Vec<String> = spec.fields.iter().map(|(n, _)| (*n).to_owned()).collect();
        spec_keys.sort();
        assert_eq!(data_keys, spec_keys, "{}", spec.name);
    }
}

#[test]
fn missing_envelope_fields_are_all_reported_at_once() {
    let problems = check(&json!({}));
    let expected: Vec<String> = ENVELOPE_FIELDS
        .iter()
        .map(|f| format!("missing `{f}`"))
        .collect();
    assert_eq!(problems, expected);
}

#[test]
fn null_is_missing_not_invalid() {
    let payload = with(acknowledged(), "/actor_id", Value::Null);
    assert_eq!(check(&payload), ["missing `actor_id`"]);
    let err = validate_event_payload(&payload).unwrap_err();
    assert_eq!(err.problems()[0].kind, ProblemKind::Missing);
}

#[test]
fn missing_and_invalid_are_distinguished_and_collected_together() {
    let payload = without(acknowledged(), "tenant_id");
    let payload = with(payload, "/sequence_no", json!(-1));
    let payload = with(payload, "/actor_type", json!("robot"));
    let payload = with(payload, "/data/incident_state", json!("gone"));
    let err = validate_event_payload(&payload).unwrap_err();
    let kinds: Vec<(String, ProblemKind)> = err
        .problems()
        .iter()
        .map(|p| (p.field.clone(), p.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("tenant_id".to_owned(), ProblemKind::Missing),
            ("actor_type".to_owned(), ProblemKind::Invalid),
            ("sequence_no".to_owned(), ProblemKind::Invalid),
            ("data.incident_state".to_owned(), ProblemKind::Invalid),
        ]
    );
    assert_eq!(
        err.to_string(),
        "invalid event: missing `tenant_id`; invalid `actor_type`: unknown actor type `robot`; expected one of \
         user, system, sdk, founder; invalid `sequence_no`: must not be negative; invalid `data.incident_state`: \
         `gone` is not one of open, acknowledged, resolved, closed"
    );
}

#[test]
fn wrong_types_are_invalid() {
    let payload = with(acknowledged(), "/event_id", json!(12));
    let payload = with(payload, "/sequence_no", json!("7"));
    let payload = with(payload, "/occurred_at", json!(true));
    let payload = with(payload, "/data/incident_id", json!(["inc_1"]));
    assert_eq!(
        check(&payload),
        [
            "invalid `event_id`: must be a string",
            "invalid `sequence_no`: must be an integer",
            "invalid `occurred_at`: must be a string",
            "invalid `data.incident_id`: must be a string",
        ]
    );
    assert_eq!(
        check(&with(acknowledged(), "/sequence_no", json!(1.5))),
        ["invalid `sequence_no`: must be an integer"]
    );
}

#[test]
fn empty_string_ids_are_invalid() {
    let payload = with(acknowledged(), "/event_id", json!(""));
    let payload = with(payload, "/tenant_id", json!("  "));
    let payload = with(payload, "/data/incident_id", json!(""));
    assert_eq!(
        check(&payload),
        [
            "invalid `event_id`: must not be empty",
            "invalid `tenant_id`: must not be empty",
            "invalid `data.incident_id`: must not be empty",
        ]
    );
}

#[test]
fn sequence_zero_is_allowed_negative_is_not() {
    assert!(is_valid(&with(acknowledged(), "/sequence_no", json!(0))));
    assert_eq!(
        check(&with(acknowledged(), "/sequence_no", json!(-5))),
        ["invalid `sequence_no`: must not be negative"]
    );
}

#[test]
fn every_actor_type_is_accepted_and_nothing_else() {
    for &actor in <ActorType as crate::input::Vocabulary>::ALL {
        assert!(is_valid(&with(
            acknowledged(),
            "/actor_type",
            json!(actor.as_str())
        )));
    }
    assert!(!is_valid(&with(
        acknowledged(),
        "/actor_type",
        json!("USER")
    )));
    assert!(!is_valid(&with(
        acknowledged(),
        "/actor_type",
        json!("agent")
    )));
}

#[test]
fn unregistered_type_and_wrong_schema_version_are_invalid() {
    let payload = with(
        acknowledged(),
        "/event_type",
        json!("incidents.IncidentExploded"),
    );
    let payload = with(payload, "/schema_version", json!("2.0.0"));
    assert_eq!(
        check(&payload),
        [
            "invalid `event_type`: `incidents.IncidentExploded` is not a registered event type",
            "invalid `schema_version`: unsupported schema version `2.0.0`; expected one of 1.1.0, 1.2.0, 1.3.0, 1.4.0, 1.5.0",
        ]
    );
}

#[test]
fn occurred_at_must_be_rfc3339_utc() {
    assert_eq!(
        check(&with(
            acknowledged(),
            "/occurred_at",
            json!("2026-11-26 08:30")
        )),
        ["invalid `occurred_at`: must be an RFC 3339 timestamp"]
    );
    assert_eq!(
        check(&with(
            acknowledged(),
            "/occurred_at",
            json!("2026-11-26T08:30:00+01:00")
        )),
        ["invalid `occurred_at`: must be in UTC"]
    );
}

#[test]
fn extension_colliding_with_envelope_is_invalid() {
    let mut payload = acknowledged();
    payload["data"]["tenant_id"] = json!("tenant_evil");
    payload["data"]["sequence_no"] = json!(1);
    assert_eq!(
        check(&payload),
        [
            "invalid `data.sequence_no`: collides with an envelope field; extensions can never overwrite the envelope",
            "invalid `data.tenant_id`: collides with an envelope field; extensions can never overwrite the envelope",
        ]
    );
    // The envelope itself is untouched by the attempt.
    assert_eq!(payload["tenant_id"], "tenant_acme");
}

#[test]
fn extension_fields_are_checked_per_type() {
    assert_eq!(
        check(&without_data_field(acknowledged(), "incident_state")),
        ["missing `data.incident_state`"]
    );
    let mut payload = acknowledged();
    payload["data"]["colour"] = json!("red");
    assert_eq!(
        check(&payload),
        ["invalid `data.colour`: not an extension field of incidents.IncidentAcknowledged"]
    );
    assert_eq!(check(&without(acknowledged(), "data")), ["missing `data`"]);
    assert_eq!(
        check(&with(acknowledged(), "/data", json!("x"))),
        ["invalid `data`: must be a JSON object"]
    );
}

fn without_data_field(mut payload: Value, field: &str) -> Value {
    payload["data"]
        .as_object_mut()
        .expect("data is an object")
        .remove(field);
    payload
}

/// The example of the event type `name`.
fn example(name: &str) -> DomainEvent {
    DomainEvent::examples()
        .into_iter()
        .find(|e| e.event_type() == name)
        .unwrap_or_else(|| panic!("no example of {name}"))
}

#[test]
fn typed_vocabularies_and_hashes() {
    // A closed vocabulary cannot be built wrong in Rust; a stored or incoming envelope still can.
    let mut resolved =
        EventEnvelope::new(header(), 1, &example(crate::events::IncidentResolved::NAME)).to_json();
    resolved["data"]["resolution_type"] = json!("magic");
    assert_eq!(
        check(&resolved),
        [
            "invalid `data.resolution_type`: `magic` is not one of manual, auto, rollback, hotfix, config_change, \
          mitigated, duplicate, false_positive, other"
        ]
    );
    let mut artifact =
        EventEnvelope::new(header(), 1, &example(crate::events::ArtifactRecorded::NAME)).to_json();
    artifact["data"]["input_window_hash"] =
        json!("9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08");
    artifact["data"]["as_of"] = json!("tomorrow");
    assert_eq!(
        check(&artifact),
        [
            "invalid `data.input_window_hash`: must be 64 lowercase hexadecimal characters",
            "invalid `data.as_of`: must be an RFC 3339 timestamp",
        ]
    );
}

#[test]
fn unknown_top_level_fields_and_non_objects_are_invalid() {
    let mut payload = acknowledged();
    payload["incident_id"] = json!("inc_1");
    assert_eq!(
        check(&payload),
        ["invalid `incident_id`: unknown envelope field; extension fields belong in `data`"]
    );
    assert_eq!(
        check(&json!([1, 2])),
        ["invalid `$`: the payload must be a JSON object"]
    );
}

#[test]
fn envelope_round_trips_through_serde() {
    for event in DomainEvent::examples() {
        let envelope = EventEnvelope::new(header(), 3, &event);
        let json = envelope.to_json();
        let back: EventEnvelope = serde_json::from_value(json.clone()).expect("deserializes");
        assert_eq!(back, envelope);
        assert_eq!(serde_json::to_value(&back).expect("serializes"), json);
    }
}

#[test]
fn cloudevents_rendering_parses_with_the_sdk() {
    use ::cloudevents::{AttributesReader, Data};
    for (seq, event) in DomainEvent::examples().iter().enumerate() {
        let envelope = EventEnvelope::new(header(), seq as i64 + 1, event);
        let rendered = to_cloudevent(&envelope);
        for key in rendered.as_object().expect("object").keys() {
            assert!(
                key.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                "attribute `{key}` is not lowercase alphanumeric"
            );
        }
        let parsed: ::cloudevents::Event =
            serde_json::from_value(rendered.clone()).expect("cloudevents-sdk parses the rendering");
        assert_eq!(parsed.specversion(), ::cloudevents::event::SpecVersion::V10);
        assert_eq!(parsed.id(), envelope.event_id);
        assert_eq!(parsed.ty(), envelope.event_type);
        assert_eq!(
            parsed.source().as_str(),
            "/hoc/tenants/tenant_acme/projects/default"
        );
        assert_eq!(
            parsed.time().map(|t| t.timestamp_micros()),
            Some(envelope.occurred_at.unix_timestamp_nanos() as i64 / 1_000)
        );
        assert_eq!(
            parsed.extension("tenantid").map(ToString::to_string),
            Some("tenant_acme".to_owned())
        );
        assert_eq!(
            parsed.extension("sequenceno").map(ToString::to_string),
            Some((seq + 1).to_string())
        );
        match parsed.data() {
            Some(Data::Json(data)) => assert_eq!(data, &Value::Object(envelope.data.clone())),
            other => panic!("expected JSON data, got {other:?}"),
        }
        // And it survives the SDK's own serialization unchanged.
        let reserialized = serde_json::to_value(&parsed).expect("sdk serializes");
        assert_eq!(reserialized["data"], rendered["data"]);
        assert_eq!(reserialized["type"], rendered["type"]);
    }
}

#[test]
fn snapshot_of_every_event_type() {
    for (seq, event) in DomainEvent::examples().iter().enumerate() {
        let envelope = EventEnvelope::new(header(), seq as i64 + 1, event);
        insta::assert_json_snapshot!(
            format!("envelope__{}", event.event_type()),
            envelope.to_json()
        );
        insta::assert_json_snapshot!(
            format!("cloudevent__{}", event.event_type()),
            to_cloudevent(&envelope)
        );
    }
}

#[test]
fn every_example_round_trips_through_its_cloudevent() {
    for (seq, event) in DomainEvent::examples().iter().enumerate() {
        let envelope = EventEnvelope::new(header(), seq as i64 + 1, event);
        let rendered = to_cloudevent(&envelope);
        assert_eq!(from_cloudevent(&rendered), Ok(envelope.clone()));
    }
    let mut broken = to_cloudevent(&EventEnvelope::new(
        header(),
        1,
        &DomainEvent::examples()[0],
    ));
    broken["sequenceno"] = json!(-1);
    assert!(
        from_cloudevent(&broken)
            .unwrap_err()
            .contains("sequence_no")
    );
    broken["specversion"] = json!("0.3");
    assert!(from_cloudevent(&broken).is_err());
}

/// Events written before 1.2.0 stay valid without the fields 1.2.0 added; an event of 1.2.0 must carry them.
#[test]
fn a_field_added_in_a_minor_version_is_required_only_from_that_version() {
    let event = DomainEvent::examples().remove(0);
    assert_eq!(event.event_type(), "incidents.IncidentCreated");
    let mut payload = EventEnvelope::new(
        EnvelopeHeader {
            event_id: "evt_1".into(),
            tenant_id: "t".into(),
            project_id: "default".into(),
            actor_type: ActorType::User,
            actor_id: "alice".into(),
            occurred_at: time::macros::datetime!(2026-11-28 00:00:00 UTC),
            request_id: "req_1".into(),
        },
        1,
        &event,
    )
    .to_json();
    assert!(crate::validate::is_valid(&payload));
    let data = payload["data"].as_object_mut().expect("data");
    data.remove("recurrence_signature");
    data.remove("signature_version");
    let problems = check(&payload);
    assert_eq!(
        problems,
        [
            "missing `data.recurrence_signature`",
            "missing `data.signature_version`"
        ],
        "{problems:?}"
    );
    payload["schema_version"] = serde_json::json!("1.1.0");
    assert_eq!(check(&payload), Vec::<String>::new());
}

#[test]
fn the_audit_ledger_records_people_the_system_and_agents() {
    use crate::input::Vocabulary;
    let mapped: Vec<&str> = <ActorType as Vocabulary>::ALL
        .iter()
        .map(|&actor| crate::AuditActor::from(actor).as_str())
        .collect();
    assert_eq!(mapped, ["HUMAN", "SYSTEM", "AGENT", "HUMAN"]);
}
