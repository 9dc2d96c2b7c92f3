//! Which group a new incident joins under its tenant's configuration: the fields grouping looks at, the
//! configuration ready to sign (`Grouping`), and fingerprint substitution.

use hoc_contracts::input::FreeText;
use hoc_drivers::grouping::{self as driver};
use hoc_drivers::{IncidentRow, Tx};

use super::*;
use crate::IncidentError;
use crate::queries::SignatureVersion;
use crate::recurrence::{Signature, SignatureAlgorithm, SignatureSource, algorithm, sign_with};

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
            severity: row.severity.get().as_str(),
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

pub(super) fn corrupt(tenant: &str, problem: impl std::fmt::Display) -> IncidentError {
    IncidentError::Storage(hoc_drivers::StorageError::Corrupt {
        table: "grouping_configs",
        problem: format!("configuration of {tenant}: {problem}"),
    })
}

pub(super) fn algorithm_named(
    tenant: &str,
    version: &str,
) -> Result<&'static dyn SignatureAlgorithm, IncidentError> {
    algorithm(version)
        .ok_or_else(|| corrupt(tenant, format!("unknown signature version `{version}`")))
}

/// A configuration ready to sign incidents.
pub struct Grouping {
    pub(super) config: GroupingConfig,
    primary: &'static dyn SignatureAlgorithm,
    secondary: Option<&'static dyn SignatureAlgorithm>,
}

impl Grouping {
    /// The tenant's current configuration (one statement).
    pub async fn load(tx: &Tx, tenant_id: &str) -> Result<Self, IncidentError> {
        Self::new(tenant_id, config_at(tx, tenant_id, None).await?)
    }

    pub(super) fn new(tenant_id: &str, config: GroupingConfig) -> Result<Self, IncidentError> {
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

pub(super) fn substitute(item: &str, fields: &GroupingFields<'_>) -> String {
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
