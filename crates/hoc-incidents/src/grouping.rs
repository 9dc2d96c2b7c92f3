//! Grouping people can steer: each tenant's grouping configuration (the primary signature algorithm, an optional
//! secondary one during a transition, and ordered fingerprint rules), how a new incident is assigned to a group
//! under it, and regrouping a tenant's incidents under another algorithm with a preview first.
//! See `docs/recurrence-signatures.md` ("Grouping configuration", "Regroup").

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use hoc_contracts::input::{FreeText, Limit, PageCursor, Rule, Text, Vocabulary};
use hoc_contracts::paging::{Cursor, ReadAt};
use hoc_contracts::time_format::UtcTimestamp;
use hoc_contracts::{DomainEvent, FieldError};
use hoc_drivers::audit::AuditDraft;
use hoc_drivers::grouping::{self as driver, ConfigRow};
use hoc_drivers::paging::PageRequest;
use hoc_drivers::{DbTime, IncidentRow, Tx, incidents};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::procedures::{Caller, Outcome, append_timeline};
use crate::queries::SignatureVersion;
use crate::recurrence::{
    CURRENT_VERSION, Signature, SignatureAlgorithm, SignatureInputs, SignatureSource, algorithm,
    sign_with,
};
use crate::{FINGERPRINT_ITEM_MAX_CHARS, FINGERPRINT_MAX_ITEMS, IncidentError};

/// Most fingerprint rules a configuration may have.
pub const MAX_RULES: usize = 32;
/// Most fields one rule may match on.
pub const MAX_MATCHERS: usize = 8;
/// Longest glob.
pub const MAX_GLOB_CHARS: usize = 256;
/// Most glob characters in a whole configuration: matching one incident against every rule costs at most this
/// many character comparisons per character of the longest field.
pub const MAX_TOTAL_GLOB_CHARS: usize = 2048;
/// The incident fields a rule can match on and a fingerprint can substitute (`{{ field }}`).
pub const RULE_FIELDS: &[&str] = &[
    "category",
    "severity",
    "title",
    "error_code",
    "error_message",
    "trigger_type",
    "source_type",
    "source_ref",
];

/// One fingerprint rule: when every named field matches its glob (`*` any run of characters, `?` one character,
/// case-insensitive; an absent field is the empty string), the incident's fingerprint is `fingerprint`, each item
/// with `{{ field }}` replaced by that field's value. The first matching rule wins; a caller's own fingerprint
/// wins over every rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FingerprintRule {
    /// Field name → glob.
    #[serde(rename = "match", default)]
    pub matchers: BTreeMap<String, String>,
    /// The fingerprint items, with `{{ field }}` placeholders.
    #[serde(default)]
    pub fingerprint: Vec<String>,
}

/// The validation rule of a list of fingerprint rules (every problem of every rule at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FingerprintRules;

impl Rule for FingerprintRules {
    type Raw = [FingerprintRule];
    type Out = Vec<FingerprintRule>;

    fn schema() -> Value {
        let glob = <Text<MAX_GLOB_CHARS> as Rule>::schema();
        // An item is one-line text whose `{{` only ever opens a placeholder naming a field.
        let placeholder = format!(
            r"^(?:[^{{]|\{{[^{{]|\{{$|\{{\{{ *(?:{}) *\}}\}})*$",
            RULE_FIELDS.join("|")
        );
        let item = json!({
            "allOf": [
                <Text<FINGERPRINT_ITEM_MAX_CHARS> as Rule>::schema(),
                { "type": "string", "pattern": placeholder },
            ]
        });
        let properties: serde_json::Map<String, Value> = RULE_FIELDS
            .iter()
            .map(|f| ((*f).to_owned(), glob.clone()))
            .collect();
        json!({
            "type": "array",
            "maxItems": MAX_RULES,
            "items": {
                "type": "object",
                "additionalProperties": false,
                "required": ["match", "fingerprint"],
                "properties": {
                    "match": {
                        "type": "object",
                        "additionalProperties": false,
                        "minProperties": 1,
                        "maxProperties": MAX_MATCHERS,
                        "properties": properties,
                    },
                    "fingerprint": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": FINGERPRINT_MAX_ITEMS,
                        "items": item,
                    },
                },
            },
        })
    }

    fn parse(
        field: &str,
        raw: &[FingerprintRule],
        errors: &mut Vec<FieldError>,
    ) -> Option<Vec<FingerprintRule>> {
        let before = errors.len();
        if raw.len() > MAX_RULES {
            errors.push(FieldError::new(
                field,
                format!("must have at most {MAX_RULES} rules (got {})", raw.len()),
            ));
        }
        let total: usize = raw
            .iter()
            .flat_map(|r| r.matchers.values())
            .map(|g| g.chars().count())
            .sum();
        if total > MAX_TOTAL_GLOB_CHARS {
            errors.push(FieldError::new(
                field,
                format!("globs must total at most {MAX_TOTAL_GLOB_CHARS} characters (got {total})"),
            ));
        }
        for (i, rule) in raw.iter().enumerate() {
            let at = format!("{field}[{i}]");
            if rule.matchers.is_empty() || rule.matchers.len() > MAX_MATCHERS {
                errors.push(FieldError::new(
                    format!("{at}.match"),
                    format!(
                        "must name 1 to {MAX_MATCHERS} fields (got {})",
                        rule.matchers.len()
                    ),
                ));
            }
            for (name, glob) in &rule.matchers {
                let at = format!("{at}.match.{name}");
                if !RULE_FIELDS.contains(&name.as_str()) {
                    errors.push(FieldError::new(
                        &at,
                        format!("is not a field rules match on ({})", RULE_FIELDS.join(", ")),
                    ));
                }
                <Text<MAX_GLOB_CHARS> as Rule>::parse(&at, glob, errors);
            }
            if rule.fingerprint.is_empty() || rule.fingerprint.len() > FINGERPRINT_MAX_ITEMS {
                errors.push(FieldError::new(
                    format!("{at}.fingerprint"),
                    format!(
                        "must have 1 to {FINGERPRINT_MAX_ITEMS} items (got {})",
                        rule.fingerprint.len()
                    ),
                ));
            }
            for (j, item) in rule.fingerprint.iter().enumerate() {
                let at = format!("{at}.fingerprint[{j}]");
                <Text<FINGERPRINT_ITEM_MAX_CHARS> as Rule>::parse(&at, item, errors);
                if let Err(problem) = placeholders(item) {
                    errors.push(FieldError::new(&at, problem));
                }
            }
        }
        (errors.len() == before).then(|| raw.to_vec())
    }
}

/// The `{{ field }}` placeholders of a fingerprint item, in order, as (start, end, field) character ranges of the
/// item; an unclosed `{{` or an unknown field is an error.
fn placeholders(item: &str) -> Result<Vec<(usize, usize, &'static str)>, String> {
    let mut found = Vec::new();
    let mut rest = 0;
    while let Some(open) = item[rest..].find("{{").map(|i| rest + i) {
        let Some(close) = item[open + 2..].find("}}").map(|i| open + 2 + i) else {
            return Err("has a `{{` without its `}}`".to_owned());
        };
        let name = item[open + 2..close].trim_matches(' ');
        let Some(field) = RULE_FIELDS.iter().find(|f| **f == name) else {
            return Err(format!(
                "`{{{{ {name} }}}}` names no field ({})",
                RULE_FIELDS.join(", ")
            ));
        };
        found.push((open, close + 2, *field));
        rest = close + 2;
    }
    Ok(found)
}

/// Whether `value` matches `glob` (`*` any run, `?` one character; case-insensitive). The pattern is cut at its
/// stars: the first piece must start the value, the last end it, and each middle piece is found at its leftmost
/// place after the previous one, so a match costs at most (value length × glob length) comparisons, never the
/// exponential backtracking a regular expression can.
pub fn glob_matches(glob: &str, value: &str) -> bool {
    let glob: Vec<char> = glob.to_lowercase().chars().collect();
    let value: Vec<char> = value.to_lowercase().chars().collect();
    let piece_at = |piece: &[char], at: usize| -> bool {
        value
            .get(at..at + piece.len())
            .is_some_and(|window| window.iter().zip(piece).all(|(v, p)| *p == '?' || v == p))
    };
    let pieces: Vec<&[char]> = glob.split(|c| *c == '*').collect();
    let [first, middle @ .., last] = pieces.as_slice() else {
        // No star: the glob is one piece that must be the whole value.
        return glob.len() == value.len() && piece_at(&glob, 0);
    };
    if value.len() < first.len() + last.len()
        || !piece_at(first, 0)
        || !piece_at(last, value.len() - last.len())
    {
        return false;
    }
    let (mut from, end) = (first.len(), value.len() - last.len());
    for piece in middle {
        let found = (from..=end.saturating_sub(piece.len()))
            .take_while(|at| at + piece.len() <= end)
            .find(|at| piece_at(piece, *at));
        match found {
            Some(at) => from = at + piece.len(),
            None => return false,
        }
    }
    true
}

/// The incident fields grouping looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupingFields<'a> {
    /// Category.
    pub category: &'a str,
    /// Severity.
    pub severity: &'a str,
    /// Title.
    pub title: &'a str,
    /// Error code.
    pub error_code: Option<&'a str>,
    /// Error message.
    pub error_message: Option<&'a str>,
    /// Trigger type.
    pub trigger_type: Option<&'a str>,
    /// Source type.
    pub source_type: Option<&'a str>,
    /// Source reference.
    pub source_ref: Option<&'a str>,
}

impl<'a> GroupingFields<'a> {
    /// The fields of a stored incident.
    pub fn of(row: &'a IncidentRow) -> Self {
        Self {
            category: &row.category,
            severity: &row.severity,
            title: &row.title,
            error_code: row.error_code.as_deref(),
            error_message: row.error_message.as_deref(),
            trigger_type: row.trigger_type.as_deref(),
            source_type: row.source_type.as_deref(),
            source_ref: row.source_ref.as_deref(),
        }
    }

    fn get(&self, field: &str) -> &'a str {
        match field {
            "category" => self.category,
            "severity" => self.severity,
            "title" => self.title,
            "error_code" => self.error_code.unwrap_or(""),
            "error_message" => self.error_message.unwrap_or(""),
            "trigger_type" => self.trigger_type.unwrap_or(""),
            "source_type" => self.source_type.unwrap_or(""),
            "source_ref" => self.source_ref.unwrap_or(""),
            _ => "",
        }
    }
}

/// A tenant's grouping configuration (the HTTP API's grouping-config object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupingConfig {
    /// Its version: 1, 2, … for each change; 0 for a tenant that never configured grouping (the defaults).
    pub version: i64,
    /// The algorithm new incidents are signed with.
    pub primary_version: String,
    /// The algorithm also computed during a transition: a new incident joins an existing group found by either.
    pub secondary_version: Option<String>,
    /// The fingerprint rules, first match wins.
    pub fingerprint_rules: Vec<FingerprintRule>,
    /// When this version was written (none for the defaults).
    #[serde(with = "hoc_contracts::time_format::utc::option")]
    #[schemars(with = "Option<UtcTimestamp>")]
    pub updated_at: Option<OffsetDateTime>,
    /// Who wrote it (none for the defaults).
    pub updated_by: Option<String>,
}

impl GroupingConfig {
    /// The configuration of a tenant that never configured grouping.
    pub fn defaults() -> Self {
        Self {
            version: 0,
            primary_version: CURRENT_VERSION.to_owned(),
            secondary_version: None,
            fingerprint_rules: Vec::new(),
            updated_at: None,
            updated_by: None,
        }
    }

    fn from_row(row: ConfigRow) -> Result<Self, IncidentError> {
        let fingerprint_rules =
            serde_json::from_str(&row.rules).map_err(|e| corrupt(&row.tenant_id, e))?;
        Ok(Self {
            version: row.version,
            primary_version: row.primary_version,
            secondary_version: row.secondary_version,
            fingerprint_rules,
            updated_at: Some(row.created_at.get()),
            updated_by: Some(row.created_by),
        })
    }
}

fn corrupt(tenant: &str, problem: impl std::fmt::Display) -> IncidentError {
    IncidentError::Storage(hoc_drivers::StorageError::Corrupt {
        table: "grouping_configs",
        problem: format!("configuration of {tenant}: {problem}"),
    })
}

fn algorithm_named(
    tenant: &str,
    version: &str,
) -> Result<&'static dyn SignatureAlgorithm, IncidentError> {
    algorithm(version)
        .ok_or_else(|| corrupt(tenant, format!("unknown signature version `{version}`")))
}

/// A configuration ready to sign incidents.
pub struct Grouping {
    config: GroupingConfig,
    primary: &'static dyn SignatureAlgorithm,
    secondary: Option<&'static dyn SignatureAlgorithm>,
}

impl Grouping {
    /// The tenant's current configuration (one statement).
    pub async fn load(tx: &Tx, tenant_id: &str) -> Result<Self, IncidentError> {
        Self::new(tenant_id, config_at(tx, tenant_id, None).await?)
    }

    fn new(tenant_id: &str, config: GroupingConfig) -> Result<Self, IncidentError> {
        let primary = algorithm_named(tenant_id, &config.primary_version)?;
        let secondary = config
            .secondary_version
            .as_deref()
            .map(|v| algorithm_named(tenant_id, v))
            .transpose()?;
        Ok(Self {
            config,
            primary,
            secondary,
        })
    }

    /// The fingerprint the first matching rule gives, with the rule's name.
    fn rule_fingerprint(&self, fields: &GroupingFields<'_>) -> Option<(Vec<String>, String)> {
        self.config
            .fingerprint_rules
            .iter()
            .enumerate()
            .find(|(_, rule)| {
                rule.matchers
                    .iter()
                    .all(|(field, glob)| glob_matches(glob, fields.get(field)))
            })
            .map(|(i, rule)| {
                let items = rule
                    .fingerprint
                    .iter()
                    .map(|item| substitute(item, fields))
                    .collect();
                (items, format!("v{}#{}", self.config.version, i + 1))
            })
    }

    /// The signature of an incident under `algorithm`: the caller's fingerprint if it gave one, else the first
    /// matching rule's, else the algorithm's own inputs.
    pub fn sign(
        &self,
        algorithm: &'static dyn SignatureAlgorithm,
        fields: &GroupingFields<'_>,
        caller_fingerprint: Option<&[String]>,
    ) -> Signature {
        let ruled = match caller_fingerprint {
            Some(_) => None,
            None => self.rule_fingerprint(fields),
        };
        let fingerprint = caller_fingerprint.or(ruled.as_ref().map(|(items, _)| items.as_slice()));
        let mut signature = sign_with(
            algorithm,
            &SignatureSource {
                category: fields.category,
                error_code: fields.error_code,
                trigger_type: fields.trigger_type,
                source_type: fields.source_type,
                error_message: fields.error_message,
                title: fields.title,
                fingerprint,
            },
        );
        signature.inputs.rule = ruled.map(|(_, name)| name);
        signature
    }

    /// The group a new incident joins: its primary signature's group if that exists; during a transition, else
    /// its secondary signature's group if that exists (so an upgrade does not split groups); else a new group
    /// under the primary signature. One statement during a transition, none otherwise.
    pub async fn assign(
        &self,
        tx: &Tx,
        tenant_id: &str,
        fields: &GroupingFields<'_>,
        caller_fingerprint: Option<&[String]>,
    ) -> Result<Signature, IncidentError> {
        let primary = self.sign(self.primary, fields, caller_fingerprint);
        let Some(secondary) = self.secondary else {
            return Ok(primary);
        };
        let secondary = self.sign(secondary, fields, caller_fingerprint);
        let existing = driver::existing_groups(
            tx,
            tenant_id,
            &[
                (primary.version, &primary.signature),
                (secondary.version, &secondary.signature),
            ],
        )
        .await?;
        let exists = |s: &Signature| {
            existing
                .iter()
                .any(|(v, sig)| v == s.version && *sig == s.signature)
        };
        Ok(if !exists(&primary) && exists(&secondary) {
            secondary
        } else {
            primary
        })
    }
}

fn substitute(item: &str, fields: &GroupingFields<'_>) -> String {
    let Ok(found) = placeholders(item) else {
        return item.to_owned();
    };
    let mut out = String::with_capacity(item.len());
    let mut at = 0;
    for (start, end, field) in found {
        out.push_str(&item[at..start]);
        out.push_str(fields.get(field).trim());
        at = end;
    }
    out.push_str(&item[at..]);
    out
}

hoc_contracts::request! {
    /// The tenant's grouping configuration (at `as_of`, if given).
    pub struct GetGroupingConfig => GroupingConfigQuery {}
}

hoc_contracts::request! {
    /// Replace the tenant's grouping configuration with a new version: the primary signature algorithm, an
    /// optional secondary one for a transition, and ordered fingerprint rules.
    pub struct PutGroupingConfig => NewGroupingConfig {
        /// The algorithm new incidents are signed with (`rsig-v1` or `rsig-v2`).
        primary_version: Option<String> => required SignatureVersion,
        /// During a transition: the algorithm also computed, whose existing groups new incidents still join.
        secondary_version: Option<String> => optional SignatureVersion,
        /// Fingerprint rules, first match wins (at most 32; globs with `*` and `?`; fingerprints may use
        /// `{{ field }}`).
        fingerprint_rules: Option<Vec<FingerprintRule>> => optional FingerprintRules,
        /// Write only if the current configuration has this version (0: never configured); otherwise
        /// `stale_version`.
        expected_version: Option<hoc_contracts::input::JsonInt> => optional ConfigVersion,
        /// Why (recorded in the audit entry).
        reason: Option<String> => optional FreeText<{ crate::MAX_TEXT_CHARS }>,
    }
}

/// A configuration version number (≥ 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigVersion;

impl Rule for ConfigVersion {
    type Raw = i64;
    type Out = i64;

    fn schema() -> Value {
        json!({ "type": "integer", "minimum": 0, "maximum": i64::MAX })
    }

    fn parse(field: &str, raw: &i64, errors: &mut Vec<FieldError>) -> Option<i64> {
        if *raw < 0 {
            errors.push(FieldError::new(field, "must be 0 or more"));
            return None;
        }
        Some(*raw)
    }
}

impl PutGroupingConfig {
    /// Every field's rule, and that the secondary differs from the primary: every problem at once.
    pub fn validate(&self) -> Result<NewGroupingConfig, Vec<FieldError>> {
        let parsed = self.parse();
        let same =
            self.secondary_version.is_some() && self.secondary_version == self.primary_version;
        match parsed {
            Ok(config) if !same => Ok(config),
            Ok(_) => Err(vec![same_versions()]),
            Err(mut errors) => {
                if same {
                    errors.push(same_versions());
                }
                Err(errors)
            }
        }
    }
}

fn same_versions() -> FieldError {
    FieldError::new("secondary_version", "must differ from primary_version")
}

/// The tenant's configuration as of the read's instant.
pub async fn get_config(
    tx: &Tx,
    tenant_id: &str,
    at: ReadAt,
) -> Result<GroupingConfig, IncidentError> {
    config_at(tx, tenant_id, Some(DbTime::new(at.instant()))).await
}

/// The tenant's configuration at `at` (now when none): its latest version written by then, or the defaults.
async fn config_at(
    tx: &Tx,
    tenant_id: &str,
    at: Option<DbTime>,
) -> Result<GroupingConfig, IncidentError> {
    match driver::config_at(tx, tenant_id, at).await? {
        Some(row) => GroupingConfig::from_row(row),
        None => Ok(GroupingConfig::defaults()),
    }
}

/// Writes a new version of the tenant's configuration, audited and announced.
pub async fn put_config(
    tx: &Tx,
    caller: &Caller<'_>,
    input: NewGroupingConfig,
) -> Result<Outcome<GroupingConfig>, IncidentError> {
    let tenant_id = caller.tenant_id;
    let before = config_at(tx, tenant_id, None).await?;
    if let Some(expected) = input.expected_version
        && expected != before.version
    {
        return Err(IncidentError::StaleVersion {
            message: format!(
                "the grouping configuration is at version {}, not {expected}",
                before.version
            ),
        });
    }
    let rules = input.fingerprint_rules.unwrap_or_default();
    let row = ConfigRow {
        tenant_id: tenant_id.to_owned(),
        version: before.version + 1,
        primary_version: input.primary_version.as_str().to_owned(),
        secondary_version: input.secondary_version.map(|v| v.as_str().to_owned()),
        rules: serde_json::to_string(&rules).map_err(|e| corrupt(tenant_id, e))?,
        created_at: caller.now.into(),
        created_by: caller.actor.actor_id.clone(),
    };
    driver::insert_config(tx, &row).await?;
    let after = GroupingConfig::from_row(row)?;
    let state = |c: &GroupingConfig| serde_json::to_value(c).unwrap_or(Value::Null);
    Ok(Outcome {
        audit: vec![AuditDraft {
            entity_type: "grouping_config",
            entity_id: tenant_id.to_owned(),
            action: "incidents.grouping.put_config",
            reason: input.reason.map(FreeText::into_string),
            before_state: Some(state(&before)),
            after_state: Some(state(&after)),
        }],
        events: vec![DomainEvent::GroupingConfigChanged {
            config_version: after.version,
            primary_version: after.primary_version.clone(),
            secondary_version: after
                .secondary_version
                .clone()
                .unwrap_or_else(|| "none".to_owned()),
            rule_count: i64::try_from(after.fingerprint_rules.len()).unwrap_or(i64::MAX),
        }],
        result: after,
    })
}

/// A recurrence group's key.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct GroupKey {
    /// The algorithm.
    pub signature_version: String,
    /// The signature.
    pub recurrence_signature: String,
}

/// One planned or applied move of an incident to another group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IncidentMove {
    /// The incident.
    pub incident_id: String,
    /// Its group before.
    pub from: GroupKey,
    /// Its group after.
    pub to: GroupKey,
}

/// Incidents moving from one group to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupFlow {
    /// The group before.
    pub from: GroupKey,
    /// The group after.
    pub to: GroupKey,
    /// How many incidents.
    pub incidents: u64,
}

/// Groups that become one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupMerge {
    /// The group after.
    pub into: GroupKey,
    /// The groups before whose incidents it gets (two or more).
    pub from: Vec<GroupKey>,
    /// How many incidents it has after.
    pub incidents: u64,
}

/// A group that becomes several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupSplit {
    /// The group before.
    pub from: GroupKey,
    /// The groups after that get its incidents (two or more).
    pub into: Vec<GroupKey>,
    /// How many incidents it had.
    pub incidents: u64,
}

/// Most merges, splits and flows a report lists (the counts cover all).
pub const REPORT_TOP: usize = 10;

/// What regrouping a tenant's incidents under another algorithm changes (a dry run) or changed (an apply).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RegroupReport {
    /// The target algorithm.
    pub to: String,
    /// The configuration version whose rules were applied.
    pub config_version: i64,
    /// The instant of the incidents read.
    #[serde(with = "hoc_contracts::time_format::utc")]
    #[schemars(with = "UtcTimestamp")]
    pub as_of: OffsetDateTime,
    /// Incidents considered.
    pub incidents: u64,
    /// Incidents whose group changes.
    pub incidents_moving: u64,
    /// Groups with a member before.
    pub groups_before: u64,
    /// Groups with a member after.
    pub groups_after: u64,
    /// How many groups after receive incidents of two or more groups before.
    pub merge_count: u64,
    /// How many groups before send incidents to two or more groups after.
    pub split_count: u64,
    /// The largest merges, most incidents first.
    pub merges: Vec<GroupMerge>,
    /// The largest splits, most incidents first.
    pub splits: Vec<GroupSplit>,
    /// The largest flows of moving incidents from one group to another, most incidents first.
    pub largest_moves: Vec<GroupFlow>,
    /// SHA-256 of every move, one line `<incident id> <from version>:<from signature> <to version>:<to
    /// signature>` per move in incident id order: an apply that made exactly the previewed moves has the same.
    pub moves_digest: String,
}

impl RegroupReport {
    /// The report of `assignments`: (incident id, group before, group after) for every incident considered.
    pub fn of(
        to: &str,
        config_version: i64,
        as_of: OffsetDateTime,
        assignments: &[(String, GroupKey, GroupKey)],
    ) -> Self {
        let moves: Vec<IncidentMove> = assignments
            .iter()
            .filter(|(_, from, to)| from != to)
            .map(|(id, from, to)| IncidentMove {
                incident_id: id.clone(),
                from: from.clone(),
                to: to.clone(),
            })
            .collect();
        let mut into_from: BTreeMap<&GroupKey, BTreeSet<&GroupKey>> = BTreeMap::new();
        let mut from_into: BTreeMap<&GroupKey, BTreeSet<&GroupKey>> = BTreeMap::new();
        let mut size_after: HashMap<&GroupKey, u64> = HashMap::new();
        let mut size_before: HashMap<&GroupKey, u64> = HashMap::new();
        let mut flows: BTreeMap<(&GroupKey, &GroupKey), u64> = BTreeMap::new();
        for (_, from, to) in assignments {
            into_from.entry(to).or_default().insert(from);
            from_into.entry(from).or_default().insert(to);
            *size_after.entry(to).or_default() += 1;
            *size_before.entry(from).or_default() += 1;
            if from != to {
                *flows.entry((from, to)).or_default() += 1;
            }
        }
        let mut merges: Vec<GroupMerge> = into_from
            .iter()
            .filter(|(_, sources)| sources.len() > 1)
            .map(|(into, sources)| GroupMerge {
                into: (*into).clone(),
                from: sources.iter().map(|k| (*k).clone()).collect(),
                incidents: size_after[into],
            })
            .collect();
        let mut splits: Vec<GroupSplit> = from_into
            .iter()
            .filter(|(_, targets)| targets.len() > 1)
            .map(|(from, targets)| GroupSplit {
                from: (*from).clone(),
                into: targets.iter().map(|k| (*k).clone()).collect(),
                incidents: size_before[from],
            })
            .collect();
        let mut largest_moves: Vec<GroupFlow> = flows
            .into_iter()
            .map(|((from, to), incidents)| GroupFlow {
                from: from.clone(),
                to: to.clone(),
                incidents,
            })
            .collect();
        let (merge_count, split_count) = (merges.len() as u64, splits.len() as u64);
        // Largest first; the keys break ties, so the report is the same on every run.
        merges.sort_by(|a, b| {
            b.incidents
                .cmp(&a.incidents)
                .then_with(|| a.into.cmp(&b.into))
        });
        splits.sort_by(|a, b| {
            b.incidents
                .cmp(&a.incidents)
                .then_with(|| a.from.cmp(&b.from))
        });
        largest_moves.sort_by(|a, b| {
            b.incidents
                .cmp(&a.incidents)
                .then_with(|| (&a.from, &a.to).cmp(&(&b.from, &b.to)))
        });
        merges.truncate(REPORT_TOP);
        splits.truncate(REPORT_TOP);
        largest_moves.truncate(REPORT_TOP);
        Self {
            to: to.to_owned(),
            config_version,
            as_of,
            incidents: assignments.len() as u64,
            incidents_moving: moves.len() as u64,
            groups_before: size_before.len() as u64,
            groups_after: size_after.len() as u64,
            merge_count,
            split_count,
            merges,
            splits,
            largest_moves,
            moves_digest: moves_digest(&moves),
        }
    }
}

impl std::fmt::Display for RegroupReport {
    /// The report for a person: totals, then the largest merges, splits and flows.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = |k: &GroupKey| {
            format!(
                "{}:{}",
                k.signature_version,
                k.recurrence_signature.chars().take(12).collect::<String>()
            )
        };
        writeln!(
            f,
            "regroup to {} (grouping config v{}) as of {}",
            self.to,
            self.config_version,
            hoc_contracts::time_format::format_utc(self.as_of)
        )?;
        writeln!(
            f,
            "incidents: {} considered, {} moving",
            self.incidents, self.incidents_moving
        )?;
        writeln!(
            f,
            "groups: {} before, {} after",
            self.groups_before, self.groups_after
        )?;
        writeln!(f, "merges: {}", self.merge_count)?;
        for m in &self.merges {
            let from: Vec<String> = m.from.iter().map(key).collect();
            writeln!(
                f,
                "  {} <- {} ({} incidents)",
                key(&m.into),
                from.join(", "),
                m.incidents
            )?;
        }
        writeln!(f, "splits: {}", self.split_count)?;
        for s in &self.splits {
            let into: Vec<String> = s.into.iter().map(key).collect();
            writeln!(
                f,
                "  {} -> {} ({} incidents)",
                key(&s.from),
                into.join(", "),
                s.incidents
            )?;
        }
        writeln!(f, "largest moves:")?;
        for m in &self.largest_moves {
            writeln!(f, "  {} -> {}: {}", key(&m.from), key(&m.to), m.incidents)?;
        }
        write!(f, "moves digest: {}", self.moves_digest)
    }
}

/// The digest of a set of moves (see [`RegroupReport::moves_digest`]).
pub fn moves_digest(moves: &[IncidentMove]) -> String {
    let mut sorted: Vec<&IncidentMove> = moves.iter().collect();
    sorted.sort_by(|a, b| a.incident_id.cmp(&b.incident_id));
    let mut hasher = Sha256::new();
    for m in sorted {
        hasher.update(
            format!(
                "{} {}:{} {}:{}\n",
                m.incident_id,
                m.from.signature_version,
                m.from.recurrence_signature,
                m.to.signature_version,
                m.to.recurrence_signature
            )
            .as_bytes(),
        );
    }
    hasher.finalize().iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

hoc_contracts::request! {
    /// What regrouping the tenant's incidents under another signature algorithm would change (a dry run: nothing
    /// is written).
    pub struct PreviewRegroup => RegroupQuery {
        /// The target algorithm (`rsig-v1` or `rsig-v2`).
        to: Option<String> => required SignatureVersion,
    }
}

hoc_contracts::request! {
    /// Regroup one batch of the tenant's incidents (in creation order, after `cursor`) under another signature
    /// algorithm: each incident whose group changes gets a new version, a timeline row, an audit entry and an
    /// `incidents.IncidentRegrouped` event. Running it again changes nothing that already moved.
    pub struct RegroupBatch => RegroupBatchInput {
        /// The target algorithm.
        to: Option<String> => required SignatureVersion,
        /// Incidents per batch (1 to 500, default 50).
        limit: Option<i64> => optional Limit,
        /// From a previous batch's `next_cursor`.
        cursor: Option<String> => optional PageCursor,
    }
}

/// What one regroup batch did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RegroupBatchResult {
    /// Incidents considered.
    pub incidents: u64,
    /// Every incident moved, with its group before and after.
    pub moved: Vec<IncidentMove>,
    /// The cursor of the next batch; none after the last.
    pub next_cursor: Option<String>,
}

/// The caller's own fingerprint of a stored incident (from its signature inputs), if it gave one.
fn caller_fingerprint(row: &IncidentRow) -> Result<Option<Vec<String>>, IncidentError> {
    let Some(inputs) = &row.signature_inputs else {
        return Ok(None);
    };
    let inputs: SignatureInputs = serde_json::from_str(inputs).map_err(|e| {
        IncidentError::Storage(hoc_drivers::StorageError::Corrupt {
            table: "incidents",
            problem: format!("signature inputs of {}: {e}", row.id),
        })
    })?;
    Ok((inputs.mode == "fingerprint" && inputs.rule.is_none())
        .then(|| inputs.fields.into_iter().map(|(_, value)| value).collect()))
}

fn key_of(row: &IncidentRow) -> GroupKey {
    GroupKey {
        signature_version: row.signature_version.clone().unwrap_or_default(),
        recurrence_signature: row.recurrence_signature.clone().unwrap_or_default(),
    }
}

/// An incident's signature under `target` with the tenant's rules.
fn target_of(
    grouping: &Grouping,
    target: &'static dyn SignatureAlgorithm,
    row: &IncidentRow,
) -> Result<Signature, IncidentError> {
    let fingerprint = caller_fingerprint(row)?;
    Ok(grouping.sign(target, &GroupingFields::of(row), fingerprint.as_deref()))
}

/// Incidents read per statement while previewing.
const PREVIEW_PAGE: u64 = 500;

/// The dry run: every incident of the tenant as of the read's instant, assigned under `to` with the current
/// configuration's rules. Writes nothing.
pub async fn preview_regroup(
    tx: &Tx,
    tenant_id: &str,
    query: RegroupQuery,
    at: ReadAt,
) -> Result<RegroupReport, IncidentError> {
    let target = algorithm_named(tenant_id, query.to.as_str())?;
    let grouping = Grouping::load(tx, tenant_id).await?;
    let as_of = at.instant();
    let mut assignments = Vec::new();
    let mut after = None;
    loop {
        let page = PageRequest {
            as_of: DbTime::new(as_of),
            after: after.clone(),
            limit: PREVIEW_PAGE,
        };
        let rows =
            incidents::list(tx, tenant_id, incidents::IncidentFilter::default(), &page).await?;
        for row in &rows {
            let signature = target_of(&grouping, target, row)?;
            assignments.push((
                row.id.clone(),
                key_of(row),
                GroupKey {
                    signature_version: signature.version.to_owned(),
                    recurrence_signature: signature.signature,
                },
            ));
        }
        match rows.last() {
            Some(last) if rows.len() as u64 == PREVIEW_PAGE => {
                after = Some((last.created_at, last.id.clone()));
            }
            _ => break,
        }
    }
    Ok(RegroupReport::of(
        query.to.as_str(),
        grouping.config.version,
        as_of,
        &assignments,
    ))
}

/// One batch of an apply: the next `limit` incidents in creation order after the cursor, each moved to its group
/// under `to` if that differs from its group now (compare-and-set on its version, like every change).
pub async fn regroup_batch(
    tx: &Tx,
    caller: &Caller<'_>,
    input: RegroupBatchInput,
) -> Result<Outcome<RegroupBatchResult>, IncidentError> {
    let tenant_id = caller.tenant_id;
    let target = algorithm_named(tenant_id, input.to.as_str())?;
    let grouping = Grouping::load(tx, tenant_id).await?;
    let limit = Limit::or_default(input.limit);
    let after = input
        .cursor
        .as_ref()
        .map(|c| (DbTime::new(c.created_at), c.id.as_str()));
    let rows = driver::scan_current(tx, tenant_id, after, limit).await?;
    let mut outcome = Outcome {
        result: RegroupBatchResult {
            incidents: rows.len() as u64,
            moved: Vec::new(),
            next_cursor: None,
        },
        audit: Vec::new(),
        events: Vec::new(),
    };
    for before in &rows {
        let signature = target_of(&grouping, target, before)?;
        let (from, to) = (
            key_of(before),
            GroupKey {
                signature_version: signature.version.to_owned(),
                recurrence_signature: signature.signature.clone(),
            },
        );
        if from == to {
            continue;
        }
        let mut after = before.clone();
        after.recurrence_signature = Some(to.recurrence_signature.clone());
        after.signature_version = Some(to.signature_version.clone());
        after.signature_inputs =
            Some(serde_json::to_string(&signature.inputs).map_err(|e| corrupt(tenant_id, e))?);
        after.updated_at = caller.now.into();
        after.version = before.version + 1;
        if !incidents::compare_and_set(tx, &[before.status.as_str()], before, &after).await? {
            // Changed since it was read in this transaction: only a concurrent writer can do that, and the
            // whole batch is safe to run again.
            return Err(IncidentError::Contended {
                id: before.id.clone(),
            });
        }
        let short = |k: &GroupKey| {
            format!(
                "{} {}",
                k.signature_version,
                k.recurrence_signature.chars().take(12).collect::<String>()
            )
        };
        append_timeline(
            tx,
            &after,
            Some(before.status.clone()),
            "regrouped",
            caller,
            format!("regrouped from {} to {}", short(&from), short(&to)),
        )
        .await?;
        let state = |k: &GroupKey, version: i64| {
            json!({
                "signature_version": k.signature_version,
                "recurrence_signature": k.recurrence_signature,
                "version": version,
            })
        };
        outcome.audit.push(AuditDraft {
            entity_type: "incident",
            entity_id: before.id.clone(),
            action: "incidents.grouping.regroup",
            reason: Some(format!("regroup to {}", to.signature_version)),
            before_state: Some(state(&from, before.version)),
            after_state: Some(state(&to, after.version)),
        });
        outcome.events.push(DomainEvent::IncidentRegrouped {
            incident_id: before.id.clone(),
            previous_signature: from.recurrence_signature.clone(),
            previous_signature_version: from.signature_version.clone(),
            recurrence_signature: to.recurrence_signature.clone(),
            signature_version: to.signature_version.clone(),
        });
        outcome.result.moved.push(IncidentMove {
            incident_id: before.id.clone(),
            from,
            to,
        });
    }
    if rows.len() as u64 == limit
        && let Some(last) = rows.last()
    {
        outcome.result.next_cursor = Some(
            Cursor {
                as_of: last.created_at.get(),
                created_at: last.created_at.get(),
                id: last.id.clone(),
            }
            .encode(),
        );
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let cases = [
            ("*timeout*", "Upstream TIMEOUT after 30s", true),
            ("*timeout", "timeout after 30s", false),
            ("db-?.prod", "db-3.prod", true),
            ("db-?.prod", "db-13.prod", false),
            ("*", "", true),
            ("", "", true),
            ("", "x", false),
            ("a*b*c", "a-b-b-c", true),
            ("a*b*c", "a-c-b", false),
            ("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
            ("pg-*", "PG-53300", true),
            ("ab*ba", "aba", false),
        ];
        for (glob, value, expected) in cases {
            assert_eq!(glob_matches(glob, value), expected, "{glob:?} {value:?}");
        }
    }

    #[test]
    fn every_bad_rule_is_named_at_once() {
        let config = PutGroupingConfig {
            primary_version: Some("rsig-v9".into()),
            secondary_version: None,
            fingerprint_rules: Some(vec![
                FingerprintRule {
                    matchers: BTreeMap::from([("colour".to_owned(), "red".to_owned())]),
                    fingerprint: vec!["{{ colour }}".into(), " ".into()],
                },
                FingerprintRule {
                    matchers: BTreeMap::new(),
                    fingerprint: vec!["{{ title".into()],
                },
            ]),
            expected_version: Some(hoc_contracts::input::JsonInt(-1)),
            reason: None,
        };
        let errors: Vec<String> = config
            .validate()
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        let fields: Vec<&str> = errors
            .iter()
            .map(|e| e.split(':').next().unwrap_or(""))
            .collect();
        assert_eq!(
            fields,
            [
                "primary_version",
                "fingerprint_rules[0].match.colour",
                "fingerprint_rules[0].fingerprint[0]",
                "fingerprint_rules[0].fingerprint[1]",
                "fingerprint_rules[1].match",
                "fingerprint_rules[1].fingerprint[0]",
                "expected_version"
            ],
            "{errors:#?}"
        );
        let same = PutGroupingConfig {
            primary_version: Some("rsig-v2".into()),
            secondary_version: Some("rsig-v2".into()),
            ..PutGroupingConfig::default()
        };
        assert_eq!(
            same.validate().unwrap_err()[0].to_string(),
            "secondary_version: must differ from primary_version"
        );
    }

    #[test]
    fn the_first_matching_rule_fingerprints_and_a_callers_fingerprint_wins() {
        let grouping = Grouping::new(
            "t",
            GroupingConfig {
                version: 3,
                primary_version: "rsig-v2".into(),
                fingerprint_rules: vec![
                    FingerprintRule {
                        matchers: BTreeMap::from([
                            ("category".to_owned(), "database".to_owned()),
                            ("error_message".to_owned(), "*timeout*".to_owned()),
                        ]),
                        fingerprint: vec!["db-timeout".into(), "{{ source_ref }}".into()],
                    },
                    FingerprintRule {
                        matchers: BTreeMap::from([("category".to_owned(), "data*".to_owned())]),
                        fingerprint: vec!["any-database".into()],
                    },
                ],
                ..GroupingConfig::defaults()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let v2 = algorithm("rsig-v2").unwrap_or_else(|| panic!("rsig-v2 registered"));
        let fields = GroupingFields {
            category: "Database",
            error_message: Some("statement TIMEOUT on db-1"),
            source_ref: Some(" eu-west "),
            ..GroupingFields::default()
        };
        let first = grouping.sign(v2, &fields, None);
        assert_eq!(first.inputs.rule.as_deref(), Some("v3#1"));
        assert_eq!(
            first.inputs.fields,
            [
                ("fingerprint".to_owned(), "db-timeout".to_owned()),
                ("fingerprint".to_owned(), "eu-west".to_owned())
            ]
        );
        let second = grouping.sign(
            v2,
            &GroupingFields {
                error_message: Some("disk full"),
                ..fields
            },
            None,
        );
        assert_eq!(second.inputs.rule.as_deref(), Some("v3#2"));
        let own = ["mine".to_owned()];
        let callers = grouping.sign(v2, &fields, Some(&own));
        assert_eq!(callers.inputs.rule, None);
        assert_eq!(
            callers.inputs.fields,
            [("fingerprint".to_owned(), "mine".to_owned())]
        );
        let unmatched = grouping.sign(
            v2,
            &GroupingFields {
                category: "network",
                ..fields
            },
            None,
        );
        assert_eq!(unmatched.inputs.mode, "message");
    }
}
