//! The tenant's grouping configuration: its versions, validation, and the get and put procedures.

use hoc_contracts::input::FreeText;
use hoc_contracts::outcome::AuditDraft;
use hoc_contracts::paging::ReadAt;
use hoc_contracts::time_format::UtcTimestamp;
use hoc_contracts::{DomainEvent, FieldError};
use hoc_drivers::grouping::{self as driver, ConfigRow};
use hoc_drivers::{DbTime, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::*;
use crate::IncidentError;
use crate::procedures::{Caller, Outcome};
use crate::recurrence::{NEWEST_VERSION, algorithm};

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
    /// The configuration version whose learned templates are in force (`hocd grouping learn`); none when there
    /// are none. A version written by `PUT` keeps the templates in force.
    #[serde(default)]
    pub templates_version: Option<i64>,
    /// How many learned templates are in force.
    #[serde(default)]
    pub template_count: i64,
    /// When this version was written (none for the defaults).
    #[serde(with = "hoc_contracts::time_format::utc::option")]
    #[schemars(with = "Option<UtcTimestamp>")]
    pub updated_at: Option<OffsetDateTime>,
    /// Who wrote it (none for the defaults).
    pub updated_by: Option<String>,
}

impl GroupingConfig {
    /// The configuration of a tenant that never configured grouping, signing with `primary`.
    pub fn defaults(primary: &str) -> Self {
        Self {
            version: 0,
            primary_version: primary.to_owned(),
            secondary_version: None,
            fingerprint_rules: Vec::new(),
            templates_version: None,
            template_count: 0,
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
            templates_version: row.templates_version,
            template_count: row.template_count,
            updated_at: Some(row.created_at.get()),
            updated_by: Some(row.created_by),
        })
    }
}

/// A configuration version a write expects (0: never configured).
pub type ConfigVersion = hoc_contracts::input::Version<0>;

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

pub(super) fn same_versions() -> FieldError {
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

/// The tenant's configuration at `at` (now when none): its latest version written by then, or the defaults — the
/// signature version of its first incident (created by then), or the newest version when it had none: a tenant
/// that never configured grouping starts on the newest version, and one whose incidents were signed before keeps
/// their version until it moves. One statement, two without a configuration.
pub(crate) async fn config_at(
    tx: &Tx,
    tenant_id: &str,
    at: Option<DbTime>,
) -> Result<GroupingConfig, IncidentError> {
    Ok(config_and_origin(tx, tenant_id, at).await?.0)
}

/// [`config_at`], and whether the configuration is the defaults of a tenant that had no incident yet (the only
/// case in which it can change without a new configuration version: by the tenant's first incident).
pub(crate) async fn config_and_origin(
    tx: &Tx,
    tenant_id: &str,
    at: Option<DbTime>,
) -> Result<(GroupingConfig, bool), IncidentError> {
    if let Some(row) = driver::config_at(tx, tenant_id, at).await? {
        return Ok((GroupingConfig::from_row(row)?, false));
    }
    let first = driver::first_signature_version(tx, tenant_id, at).await?;
    let primary = first
        .as_deref()
        .filter(|v| algorithm(v).is_some())
        .unwrap_or(NEWEST_VERSION);
    Ok((GroupingConfig::defaults(primary), first.is_none()))
}

/// Writes a new version of the tenant's configuration, audited and announced.
pub async fn put_config(
    tx: &Tx,
    caller: &Caller<'_>,
    input: NewGroupingConfig,
) -> Result<Outcome<GroupingConfig>, IncidentError> {
    let tenant_id = caller.tenant_id;
    let before = config_at(tx, tenant_id, None).await?;
    expect_version(&before, input.expected_version)?;
    let rules = input.fingerprint_rules.unwrap_or_default();
    let row = ConfigRow {
        tenant_id: tenant_id.to_owned(),
        version: before.version + 1,
        primary_version: input.primary_version.as_str().to_owned(),
        secondary_version: input.secondary_version.map(|v| v.as_str().to_owned()),
        rules: serde_json::to_string(&rules).map_err(|e| corrupt(tenant_id, e))?,
        created_at: caller.now.into(),
        created_by: caller.actor.actor_id.clone(),
        templates_version: before.templates_version,
        template_count: before.template_count,
    };
    write_version(
        tx,
        &before,
        row,
        VersionAudit {
            action: "incidents.grouping.put_config",
            reason: input.reason.map(FreeText::into_string),
            extra: None,
        },
    )
    .await
}

/// `stale_version` unless the configuration is at `expected` (when given).
pub(super) fn expect_version(
    before: &GroupingConfig,
    expected: Option<i64>,
) -> Result<(), IncidentError> {
    match expected {
        Some(expected) if expected != before.version => Err(IncidentError::StaleVersion {
            message: format!(
                "the grouping configuration is at version {}, not {expected}",
                before.version
            ),
        }),
        _ => Ok(()),
    }
}

/// How a new configuration version is audited.
pub(super) struct VersionAudit {
    pub(super) action: &'static str,
    pub(super) reason: Option<String>,
    /// Added to the after state (a learned version's template digest).
    pub(super) extra: Option<(&'static str, Value)>,
}

/// Writes `row`, the version after `before`, with its audit entry and `GroupingConfigChanged` event.
pub(super) async fn write_version(
    tx: &Tx,
    before: &GroupingConfig,
    row: ConfigRow,
    audit: VersionAudit,
) -> Result<Outcome<GroupingConfig>, IncidentError> {
    let tenant_id = row.tenant_id.clone();
    driver::insert_config(tx, &row).await?;
    let after = GroupingConfig::from_row(row)?;
    let state = |c: &GroupingConfig| serde_json::to_value(c).unwrap_or(Value::Null);
    let mut after_state = state(&after);
    if let (Some((name, value)), Value::Object(map)) = (audit.extra, &mut after_state) {
        map.insert(name.to_owned(), value);
    }
    Ok(Outcome {
        audit: vec![AuditDraft {
            entity_type: "grouping_config",
            entity_id: tenant_id,
            action: audit.action,
            reason: audit.reason,
            before_state: Some(state(before)),
            after_state: Some(after_state),
        }],
        events: vec![DomainEvent::GroupingConfigChanged(
            hoc_contracts::events::GroupingConfigChanged {
                config_version: after.version,
                primary_version: after.primary_version.clone(),
                secondary_version: after
                    .secondary_version
                    .clone()
                    .unwrap_or_else(|| "none".to_owned()),
                rule_count: i64::try_from(after.fingerprint_rules.len()).unwrap_or(i64::MAX),
            },
        )],
        response: after,
    })
}
