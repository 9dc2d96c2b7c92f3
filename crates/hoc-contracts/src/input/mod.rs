//! Untrusted input, parsed once at the door.
//!
//! A request is a plain serde struct (its *shape*: unknown fields and wrong JSON types are refused by serde) whose
//! fields each name a [`Rule`]: the validated type the raw value becomes, and the JSON Schema that describes
//! exactly the values the rule accepts. [`request!`](crate::request) declares such a struct, its JSON Schema and
//! its `parse`, which applies every rule and reports every bad field at once.
//!
//! The rules: [`Text`] (one line, no control characters), [`FreeText`] (newline and tab allowed), the closed
//! vocabularies ([`Severity`], [`ResolutionType`], [`IncidentState`]), [`Limit`] (1 to 500), [`After`],
//! [`PageCursor`], [`Timestamp`], [`Sha256Hex`], [`Flag`] and [`TextList`]. Strings are trimmed; lengths count
//! characters (as `VARCHAR(n)` does) of the string as sent.

use serde_json::{Value, json};

use crate::FieldError;

mod labels;
mod values;
pub use labels::*;
pub use values::*;

/// Characters no text field accepts: C0 and C1 controls and DEL.
const CONTROL_CLASS: &str = r"\x00-\x1f\x7f-\x9f";
/// Characters free text refuses: the controls except tab (`\x09`) and newline (`\x0a`).
const FREE_CONTROL_CLASS: &str = r"\x00-\x08\x0b-\x1f\x7f-\x9f";

/// One validation rule: what a raw value becomes and the JSON Schema of the values it accepts.
pub trait Rule {
    /// The raw value as serde decoded it.
    type Raw: ?Sized;
    /// The validated value.
    type Out;
    /// The JSON Schema of every raw value [`Rule::parse`] accepts (and of nothing else).
    fn schema() -> Value;
    /// Validates `raw`; on failure records one or more errors under `field` and returns `None`.
    fn parse(field: &str, raw: &Self::Raw, errors: &mut Vec<FieldError>) -> Option<Self::Out>;
}

/// A raw field as a request struct holds it: possibly absent (`Option`) or always there.
pub trait RawField<R: ?Sized> {
    /// The value, if the caller sent one (`null` counts as absent).
    fn present(&self) -> Option<&R>;
}

/// A plain `String` field (a path parameter, say) counts as absent when empty.
impl RawField<str> for String {
    fn present(&self) -> Option<&str> {
        (!self.is_empty()).then_some(self.as_str())
    }
}

impl RawField<str> for Option<String> {
    fn present(&self) -> Option<&str> {
        self.as_deref()
    }
}

impl RawField<i64> for Option<i64> {
    fn present(&self) -> Option<&i64> {
        self.as_ref()
    }
}

/// A JSON integer in a request body: `7`, or `7.0` (JSON Schema counts an integral number as an integer, so a
/// client may send either).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct JsonInt(pub i64);

impl<'de> serde::Deserialize<'de> for JsonInt {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = JsonInt;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an integer")
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<JsonInt, E> {
                Ok(JsonInt(v))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<JsonInt, E> {
                i64::try_from(v)
                    .map(JsonInt)
                    .map_err(|_| E::custom("integer out of range"))
            }

            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<JsonInt, E> {
                // Exactly integral and inside the range i64 represents (2^63 is not).
                if v.fract() == 0.0
                    && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&v)
                {
                    #[allow(clippy::cast_possible_truncation)]
                    Ok(JsonInt(v as i64))
                } else {
                    Err(E::custom("expected an integer"))
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl RawField<i64> for Option<JsonInt> {
    fn present(&self) -> Option<&i64> {
        self.as_ref().map(|v| &v.0)
    }
}

impl RawField<bool> for Option<bool> {
    fn present(&self) -> Option<&bool> {
        self.as_ref()
    }
}

impl<T> RawField<[T]> for Option<Vec<T>> {
    fn present(&self) -> Option<&[T]> {
        self.as_deref()
    }
}

/// Applies `R` to a required field: absent is "is required".
pub fn required<R: Rule, F: RawField<R::Raw> + ?Sized>(
    field: &str,
    raw: &F,
    errors: &mut Vec<FieldError>,
) -> Option<R::Out> {
    match raw.present() {
        Some(value) => R::parse(field, value, errors),
        None => {
            errors.push(FieldError::new(field, "is required"));
            None
        }
    }
}

/// Applies `R` to an optional field: absent is `Some(None)`, bad is `None` (with the error recorded).
pub fn optional<R: Rule, F: RawField<R::Raw> + ?Sized>(
    field: &str,
    raw: &F,
    errors: &mut Vec<FieldError>,
) -> Option<Option<R::Out>> {
    match raw.present() {
        Some(value) => R::parse(field, value, errors).map(Some),
        None => Some(None),
    }
}

/// A field a partial update may set, clear (`null`) or leave alone (absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Not sent: leave the value as it is.
    #[default]
    Absent,
    /// Sent as `null`: clear the value.
    Null,
    /// Sent: set it.
    Value(T),
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Patch<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(deserializer)?.map_or(Self::Null, Self::Value))
    }
}

impl<T: serde::Serialize> serde::Serialize for Patch<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Value(value) => value.serialize(serializer),
            Self::Absent | Self::Null => serializer.serialize_none(),
        }
    }
}

impl<T> Absent for Patch<T> {
    fn absent(&self) -> bool {
        matches!(self, Self::Absent)
    }
}

/// Applies `R` to a field a partial update may clear: absent is `Some(None)` (leave it), `null` is
/// `Some(Some(None))` (clear it), a good value `Some(Some(Some(v)))`, a bad or empty one `None` (with the error
/// recorded).
#[allow(clippy::option_option)]
pub fn clearable<R: Rule, F: RawField<R::Raw>>(
    field: &str,
    raw: &Patch<F>,
    errors: &mut Vec<FieldError>,
) -> Option<Option<Option<R::Out>>> {
    match raw {
        Patch::Absent => Some(None),
        Patch::Null => Some(Some(None)),
        Patch::Value(value) => match value.present() {
            Some(value) => R::parse(field, value, errors).map(|out| Some(Some(out))),
            None => {
                errors.push(FieldError::new(field, "must not be empty (null clears it)"));
                None
            }
        },
    }
}

/// The schema of an optional field: the rule's schema, or `null`.
pub fn nullable(mut schema: Value) -> Value {
    if let Some(object) = schema.as_object_mut() {
        match object.get("type").cloned() {
            Some(Value::String(ty)) => {
                object.insert("type".to_owned(), json!([ty, "null"]));
            }
            Some(_) => {}
            None => {
                object.insert("type".to_owned(), json!(["string", "null"]));
            }
        }
        if let Some(Value::Array(values)) = object.get_mut("enum") {
            values.push(Value::Null);
        }
    }
    schema
}

fn text_problem(raw: &str, max: usize, free: bool) -> Option<String> {
    let chars = raw.chars().count();
    let bad_control = |c: char| c.is_control() && !(free && (c == '\n' || c == '\t'));
    if chars > max {
        Some(format!("must be at most {max} characters (got {chars})"))
    } else if raw.chars().any(bad_control) {
        Some(if free {
            "must not contain control characters other than newline and tab".to_owned()
        } else {
            "must not contain control characters".to_owned()
        })
    } else if raw.trim().is_empty() {
        Some("must not be empty".to_owned())
    } else {
        None
    }
}

fn text_schema(max: usize, class: &str) -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": max,
        "pattern": format!(r"^[^{class}]*[^\s{class}][^{class}]*$"),
    })
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, free = $free:literal, class = $class:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name<const MAX: usize>(String);

        impl<const MAX: usize> $name<MAX> {
            /// Validates `raw` (trimmed; at most `MAX` characters as sent), or says what is wrong.
            pub fn parse(raw: &str) -> Result<Self, String> {
                match text_problem(raw, MAX, $free) {
                    Some(problem) => Err(problem),
                    None => Ok(Self(raw.trim().to_owned())),
                }
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl<const MAX: usize> AsRef<str> for $name<MAX> {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<const MAX: usize> std::fmt::Display for $name<MAX> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<const MAX: usize> From<$name<MAX>> for String {
            fn from(text: $name<MAX>) -> String {
                text.0
            }
        }

        impl<const MAX: usize> Rule for $name<MAX> {
            type Raw = str;
            type Out = Self;

            fn schema() -> Value {
                text_schema(MAX, $class)
            }

            fn parse(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<Self> {
                Self::parse(raw)
                    .map_err(|problem| errors.push(FieldError::new(field, problem)))
                    .ok()
            }
        }
    };
}

text_type!(
    /// One line of text: 1 to `MAX` characters, no control characters, trimmed.
    Text,
    free = false,
    class = CONTROL_CLASS
);
text_type!(
    /// Free text: 1 to `MAX` characters, no control characters but newline and tab, trimmed.
    FreeText,
    free = true,
    class = FREE_CONTROL_CLASS
);

/// A closed vocabulary as a Rust enum.
pub trait Vocabulary: Sized + Copy + 'static {
    /// Every value, in documentation order.
    const ALL: &'static [Self];
    /// Every value's wire form, in the same order.
    const WIRE: &'static [&'static str];
    /// The wire form.
    fn as_str(self) -> &'static str;

    /// The value with wire form `text`, if any.
    fn from_wire(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == text)
    }
}

/// Declares a closed vocabulary: a Rust enum with its wire strings, a [`Vocabulary`], a [`Rule`] (unknown values
/// are a field error naming the allowed ones) and a JSON Schema `enum`. The invoking crate needs `serde`.
#[macro_export]
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $wire:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $wire)] $variant,)*
        }

        impl $name {
            /// The wire form.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)*
                }
            }
        }

        impl $crate::input::Vocabulary for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),*];
            const WIRE: &'static [&'static str] = &[$($wire),*];
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl $crate::input::Rule for $name {
            type Raw = str;
            type Out = Self;

            fn schema() -> $crate::__private::Value {
                $crate::input::vocabulary_schema::<Self>()
            }

            fn parse(
                field: &str,
                raw: &str,
                errors: &mut Vec<$crate::FieldError>,
            ) -> Option<Self> {
                $crate::input::vocabulary_parse::<Self>(field, raw, errors)
            }
        }

        impl $crate::__private::schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(
                _: &mut $crate::__private::schemars::SchemaGenerator,
            ) -> $crate::__private::schemars::Schema {
                $crate::__private::schemars::Schema::try_from($crate::input::vocabulary_schema::<Self>())
                    .unwrap_or_default()
            }
        }
    };
}

/// The JSON Schema of a vocabulary: a string `enum`.
pub fn vocabulary_schema<V: Vocabulary>() -> Value {
    let values: Vec<&str> = V::ALL.iter().map(|v| v.as_str()).collect();
    json!({ "type": "string", "enum": values })
}

/// Parses a vocabulary value, recording an error naming the allowed values.
pub fn vocabulary_parse<V: Vocabulary>(
    field: &str,
    raw: &str,
    errors: &mut Vec<FieldError>,
) -> Option<V> {
    let found = V::from_wire(raw.trim());
    if found.is_none() {
        let values: Vec<&str> = V::ALL.iter().map(|v| v.as_str()).collect();
        errors.push(FieldError::new(
            field,
            format!("`{}` is not one of {}", raw.trim(), values.join(", ")),
        ));
    }
    found
}

crate::vocabulary!(
    /// How bad an incident is.
    Severity {
        /// Everything is down.
        Critical = "critical",
        /// A major function is down.
        High = "high",
        /// Degraded.
        Medium = "medium",
        /// A nuisance.
        Low = "low",
        /// For the record.
        Info = "info",
    }
);

crate::vocabulary!(
    /// How an incident was resolved.
    ResolutionType {
        /// By hand.
        Manual = "manual",
        /// By automation.
        Auto = "auto",
        /// A rollback.
        Rollback = "rollback",
        /// A hotfix.
        Hotfix = "hotfix",
        /// A configuration change.
        ConfigChange = "config_change",
        /// Mitigated, cause not removed.
        Mitigated = "mitigated",
        /// A duplicate of another incident.
        Duplicate = "duplicate",
        /// Not an incident after all.
        FalsePositive = "false_positive",
        /// Something else.
        Other = "other",
    }
);

crate::vocabulary!(
    /// How an incident left the active states other than by a resolution.
    ResolutionMethod {
        /// Closed by hand with a reason.
        ManualClosure = "manual_closure",
        /// Closed as a duplicate of another incident (`duplicate_of` names it).
        Duplicate = "duplicate",
    }
);

crate::vocabulary!(
    /// What a timeline row records.
    TimelineKind {
        /// The incident was opened.
        Created = "created",
        /// Somebody took it.
        Acknowledged = "acknowledged",
        /// It was resolved.
        Resolved = "resolved",
        /// It was closed by hand.
        ManuallyClosed = "manually_closed",
        /// It came back.
        Reopened = "reopened",
        /// Its postmortem was created.
        PostmortemCreated = "postmortem_created",
        /// A regroup moved it to another recurrence group.
        Regrouped = "regrouped",
        /// Its title or description was edited.
        Edited = "edited",
        /// Its severity was raised or lowered.
        SeverityChanged = "severity_changed",
        /// It was assigned, reassigned or unassigned.
        Assigned = "assigned",
        /// A note was added.
        NoteAdded = "note_added",
        /// A note was edited.
        NoteEdited = "note_edited",
        /// A note was deleted.
        NoteDeleted = "note_deleted",
        /// It was marked a duplicate of another incident, or another incident was marked a duplicate of it.
        DuplicateMarked = "duplicate_marked",
        /// A duplicate link was undone (on both incidents).
        DuplicateRemoved = "duplicate_removed",
        /// An alert that feeds it fired for the first time.
        AlertFired = "alert_fired",
        /// An alert that feeds it fired again.
        AlertFiredAgain = "alert_fired_again",
        /// An alert that feeds it resolved.
        AlertResolved = "alert_resolved",
        /// A delivery that named it left alerts out (the sender's `max_alerts`).
        AlertsTruncated = "alerts_truncated",
    }
);

crate::vocabulary!(
    /// What an API key may do.
    Scope {
        /// Read routes only.
        Read = "read",
        /// Read and write routes.
        Write = "write",
        /// The alert integrations only (a monitoring system's key: it can do nothing else).
        Ingest = "ingest",
    }
);

impl Scope {
    /// Whether this scope allows a route that needs `needed`: `write` allows `read`; `ingest` allows nothing but
    /// itself, and nothing else allows it.
    pub fn allows(self, needed: Scope) -> bool {
        self == needed || (self == Scope::Write && needed == Scope::Read)
    }
}

crate::vocabulary!(
    /// The states a postmortem can be in.
    PostmortemStatus {
        /// Written, not yet reviewed.
        Draft = "draft",
    }
);

crate::vocabulary!(
    /// The states an incident can be in.
    IncidentState {
        /// New, nobody on it yet.
        Open = "open",
        /// Someone is on it.
        Acknowledged = "acknowledged",
        /// Fixed, with a resolution record.
        Resolved = "resolved",
        /// Closed by hand.
        Closed = "closed",
    }
);

/// Declares a request: a serde struct that refuses unknown fields, its JSON Schema (one property per field, from
/// the field's [`Rule`]; `required` fields listed; `additionalProperties: false`), and a parsed form whose
/// `parse` applies every rule and returns every bad field at once.
///
/// ```
/// hoc_contracts::request! {
///     /// Ask for a thing.
///     pub struct AskThing => AskedThing {
///         /// What to ask for.
///         title: Option<String> => required hoc_contracts::input::Text<10>,
///         /// How many.
///         limit: Option<i64> => optional hoc_contracts::input::Limit,
///     }
/// }
/// let asked = AskThing { title: Some(" kettle ".into()), limit: None }.parse().unwrap();
/// assert_eq!(asked.title.as_str(), "kettle");
/// let errors = AskThing { title: None, limit: Some(0) }.parse().unwrap_err();
/// assert_eq!(errors.len(), 2);
/// ```
#[macro_export]
macro_rules! request {
    (
        $(#[doc = $doc:literal])*
        $vis:vis struct $name:ident => $parsed:ident {
            $(
                $(#[doc = $fdoc:literal])*
                $field:ident : $raw:ty => $presence:ident $rule:ty
            ),* $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        $vis struct $name {
            $(
                $(#[doc = $fdoc])*
                #[serde(default, skip_serializing_if = "Self::__absent")]
                $vis $field: $raw,
            )*
        }

        #[doc = concat!("[`", stringify!($name), "`] after every field passed its rule.")]
        #[derive(Debug, Clone, PartialEq)]
        $vis struct $parsed {
            $(
                $(#[doc = $fdoc])*
                $vis $field: $crate::__presence_type!($presence, <$rule as $crate::input::Rule>::Out),
            )*
        }

        impl $name {
            #[doc(hidden)]
            fn __absent<T: $crate::input::Absent>(value: &T) -> bool {
                value.absent()
            }

            /// Applies every field's rule; returns every bad field at once.
            $vis fn parse(&self) -> Result<$parsed, Vec<$crate::FieldError>> {
                let mut errors = Vec::new();
                $(
                    let $field = $crate::input::$presence::<$rule, _>(
                        stringify!($field),
                        &self.$field,
                        &mut errors,
                    );
                )*
                match ($($field,)*) {
                    ($(Some($field),)*) if errors.is_empty() => Ok($parsed { $($field,)* }),
                    _ => Err(errors),
                }
            }
        }

        impl $crate::input::RequestSchema for $name {
            fn fields() -> Vec<$crate::input::FieldSchema> {
                vec![$(
                    $crate::input::FieldSchema {
                        name: stringify!($field),
                        required: $crate::__presence_required!($presence),
                        description: concat!($($fdoc, "\n",)*).trim(),
                        schema: $crate::__presence_schema!($presence, <$rule as $crate::input::Rule>::schema()),
                    },
                )*]
            }

            fn description() -> &'static str {
                concat!($($doc, "\n",)*).trim()
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __presence_type {
    (required, $out:ty) => { $out };
    (optional, $out:ty) => { Option<$out> };
    (clearable, $out:ty) => { Option<Option<$out>> };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __presence_required {
    (required) => {
        true
    };
    (optional) => {
        false
    };
    (clearable) => {
        false
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __presence_schema {
    (required, $schema:expr) => {
        $schema
    };
    (optional, $schema:expr) => {
        $crate::input::nullable($schema)
    };
    (clearable, $schema:expr) => {
        $crate::input::nullable($schema)
    };
}

/// Decodes a request from JSON: only an object is a request (serde would take an array positionally), and the
/// message names the field and never a Rust type.
pub fn decode<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, String> {
    if !value.is_object() {
        return Err("the request must be a JSON object".to_owned());
    }
    serde_path_to_error::deserialize(value)
        .map_err(|e| shape_message(&e.path().to_string(), &e.into_inner().to_string()))
}

/// A serde error as a caller reads it: `field: problem`, with Rust type names taken out.
pub fn shape_message(path: &str, message: &str) -> String {
    let message = match message.find(", expected struct ") {
        Some(i) => format!("{}, expected an object", &message[..i]),
        None => message.to_owned(),
    };
    if path.is_empty() || path == "." {
        message
    } else {
        format!("{path}: {message}")
    }
}

/// Whether a raw field is left out when a request is serialized.
pub trait Absent {
    /// `None` is absent; a plain value never is.
    fn absent(&self) -> bool;
}

impl<T> Absent for Option<T> {
    fn absent(&self) -> bool {
        self.is_none()
    }
}

impl Absent for String {
    fn absent(&self) -> bool {
        false
    }
}

/// Doc-comment text as one paragraph: each line trimmed, joined with spaces.
pub fn doc_text(raw: &str) -> String {
    raw.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// One field of a request's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSchema {
    /// The field's name.
    pub name: &'static str,
    /// Whether the caller must send it.
    pub required: bool,
    /// Its documentation.
    pub description: &'static str,
    /// The JSON Schema of its accepted values.
    pub schema: Value,
}

/// The JSON Schema of a request declared with [`request!`](crate::request).
pub trait RequestSchema {
    /// Its fields, in declaration order.
    fn fields() -> Vec<FieldSchema>;
    /// Its documentation.
    fn description() -> &'static str;

    /// The object schema of the fields for which `keep` is true (descriptions from the doc comments).
    fn object_schema(keep: impl Fn(&str) -> bool) -> Value {
        let fields: Vec<FieldSchema> = Self::fields()
            .into_iter()
            .filter(|f| keep(f.name))
            .collect();
        let mut properties = serde_json::Map::new();
        for field in &fields {
            let mut schema = field.schema.clone();
            if !field.description.is_empty()
                && let Some(object) = schema.as_object_mut()
            {
                object.insert("description".to_owned(), json!(doc_text(field.description)));
            }
            properties.insert(field.name.to_owned(), schema);
        }
        let required: Vec<&str> = fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name)
            .collect();
        json!({
            "type": "object",
            "description": doc_text(Self::description()),
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        })
    }
}

#[cfg(test)]
mod tests;
