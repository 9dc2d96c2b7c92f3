//! Fail-closed validation of an event payload (the JSON form of an [`crate::EventEnvelope`]).
//!
//! Every problem is collected before returning: a field that is absent or `null` is *missing*; a field that is
//! present with a wrong type or value is *invalid*. Extension fields travel in `data`; a `data` key that names an
//! envelope field is invalid (an extension can never overwrite the envelope), and so is a key the event type does
//! not register.

use serde_json::{Map, Value};

use crate::error::{ContractError, FieldProblem};
use crate::input::Vocabulary;
use crate::registry::{self, FieldType};
use crate::time_format::parse_utc;
use crate::{ActorType, ENVELOPE_FIELDS, SCHEMA_VERSION, SUPPORTED_SCHEMA_VERSIONS};

/// Validates an event payload, reporting every missing and every invalid field at once.
pub fn validate_event_payload(payload: &Value) -> Result<(), ContractError> {
    let problems = collect_problems(payload);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ContractError::InvalidEvent { problems })
    }
}

/// The non-failing variant of [`validate_event_payload`].
pub fn is_valid(payload: &Value) -> bool {
    collect_problems(payload).is_empty()
}

fn collect_problems(payload: &Value) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    let Some(object) = payload.as_object() else {
        problems.push(FieldProblem::invalid(
            "$",
            "the payload must be a JSON object",
        ));
        return problems;
    };

    for field in ENVELOPE_FIELDS {
        check_envelope_field(object, field, &mut problems);
    }
    for key in object.keys() {
        if !ENVELOPE_FIELDS.contains(&key.as_str()) && key != "data" {
            problems.push(FieldProblem::invalid(
                key,
                "unknown envelope field; extension fields belong in `data`",
            ));
        }
    }

    let spec = object
        .get("event_type")
        .and_then(Value::as_str)
        .and_then(registry::lookup);
    let data = match object.get("data") {
        None | Some(Value::Null) => {
            if spec.is_some_and(|s| !s.fields.is_empty()) {
                problems.push(FieldProblem::missing("data"));
            }
            None
        }
        Some(Value::Object(data)) => Some(data),
        Some(_) => {
            problems.push(FieldProblem::invalid("data", "must be a JSON object"));
            None
        }
    };
    if let Some(data) = data {
        for key in data.keys() {
            let field = format!("data.{key}");
            if ENVELOPE_FIELDS.contains(&key.as_str()) {
                problems.push(FieldProblem::invalid(
                    field,
                    "collides with an envelope field; extensions can never overwrite the envelope",
                ));
            } else if let Some(spec) = spec
                && !spec.fields.iter().any(|(name, _)| name == key)
            {
                problems.push(FieldProblem::invalid(
                    field,
                    format!("not an extension field of {}", spec.name),
                ));
            }
        }
        if let Some(spec) = spec {
            let version = object
                .get("schema_version")
                .and_then(Value::as_str)
                .unwrap_or(SCHEMA_VERSION);
            for (name, field_type) in spec.fields {
                let field = format!("data.{name}");
                match data.get(*name) {
                    None | Some(Value::Null)
                        if !registry::required_in(spec.name, name, version) => {}
                    None | Some(Value::Null) => problems.push(FieldProblem::missing(field)),
                    Some(value) => {
                        if let Err(problem) = check_type(value, *field_type) {
                            problems.push(FieldProblem::invalid(field, problem));
                        }
                    }
                }
            }
        }
    }
    problems
}

fn check_envelope_field(
    object: &Map<String, Value>,
    field: &str,
    problems: &mut Vec<FieldProblem>,
) {
    let value = match object.get(field) {
        None | Some(Value::Null) => {
            problems.push(FieldProblem::missing(field));
            return;
        }
        Some(value) => value,
    };
    let verdict = match field {
        "sequence_no" => match value.as_i64() {
            Some(n) if n >= 0 => Ok(()),
            Some(_) => Err("must not be negative".to_owned()),
            None if value.is_u64() => Err("too large".to_owned()),
            None => Err("must be an integer".to_owned()),
        },
        "actor_type" => match value.as_str() {
            Some(s) if ActorType::from_wire(s).is_some() => Ok(()),
            Some(s) => Err(format!(
                "unknown actor type `{s}`; expected one of {}",
                <ActorType as Vocabulary>::WIRE.join(", ")
            )),
            None => Err("must be a string".to_owned()),
        },
        "event_type" => match value.as_str() {
            Some(s) if registry::lookup(s).is_some() => Ok(()),
            Some(s) => Err(format!("`{s}` is not a registered event type")),
            None => Err("must be a string".to_owned()),
        },
        "schema_version" => match value.as_str() {
            Some(s) if SUPPORTED_SCHEMA_VERSIONS.contains(&s) => Ok(()),
            Some(s) => Err(format!(
                "unsupported schema version `{s}`; expected one of {}",
                SUPPORTED_SCHEMA_VERSIONS.join(", ")
            )),
            None => Err("must be a string".to_owned()),
        },
        "occurred_at" => check_type(value, FieldType::UtcTimestamp),
        _ => check_type(value, FieldType::NonEmptyString),
    };
    if let Err(problem) = verdict {
        problems.push(FieldProblem::invalid(field, problem));
    }
}

fn check_type(value: &Value, field_type: FieldType) -> Result<(), String> {
    if field_type == FieldType::Count {
        return match value.as_u64() {
            Some(_) => Ok(()),
            None => Err("must be an integer ≥ 0".to_owned()),
        };
    }
    let Some(s) = value.as_str() else {
        return Err("must be a string".to_owned());
    };
    match field_type {
        FieldType::NonEmptyString if s.trim().is_empty() => Err("must not be empty".to_owned()),
        FieldType::NonEmptyString => Ok(()),
        FieldType::OneOf { values } if values.contains(&s) => Ok(()),
        FieldType::OneOf { values } => Err(format!("`{s}` is not one of {}", values.join(", "))),
        FieldType::UtcTimestamp => parse_utc(s).map(drop).map_err(str::to_owned),
        FieldType::Sha256Hex
            if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            Ok(())
        }
        FieldType::Sha256Hex => Err("must be 64 lowercase hexadecimal characters".to_owned()),
        FieldType::Count => Err("must be an integer ≥ 0".to_owned()),
    }
}
