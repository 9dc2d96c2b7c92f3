//! Which group a new incident joins under its tenant's configuration: the fields grouping looks at, the
//! configuration ready to sign (`Grouping`), and fingerprint substitution.

use hoc_contracts::input::FreeText;
use hoc_drivers::grouping::{self as driver, TemplateRow};
use hoc_drivers::{IncidentRow, Tx};

use super::*;
use crate::IncidentError;
use crate::learn::{self, TemplateField, TemplateIndex};
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
    templates: Templates,
}

/// The learned templates of a configuration, as far as they are loaded.
enum Templates {
    /// The configuration has none.
    None,
    /// It has some, looked up per incident by [`Grouping::assign`] (one index seek).
    Lookup(i64),
    /// All of them (a regroup signs every incident).
    Loaded(i64, TemplateIndex),
}

impl Grouping {
    /// The tenant's current configuration (one statement); its learned templates are looked up per incident by
    /// [`Self::assign`].
    pub async fn load(tx: &Tx, tenant_id: &str) -> Result<Self, IncidentError> {
        Self::new(tenant_id, config_at(tx, tenant_id, None).await?)
    }

    /// [`Self::load`], and whether it is the defaults of a tenant without incidents (see
    /// `config::config_and_origin`).
    pub(crate) async fn load_with_origin(
        tx: &Tx,
        tenant_id: &str,
    ) -> Result<(Self, bool), IncidentError> {
        let (config, before_first_incident) =
            super::config::config_and_origin(tx, tenant_id, None).await?;
        Ok((Self::new(tenant_id, config)?, before_first_incident))
    }

    /// The configuration version it was loaded from (0: the defaults).
    pub(crate) fn version(&self) -> i64 {
        self.config.version
    }

    /// The tenant's current configuration with all its learned templates, for signing many incidents with
    /// [`Self::sign`] (two statements).
    pub async fn load_with_templates(tx: &Tx, tenant_id: &str) -> Result<Self, IncidentError> {
        let mut grouping = Self::load(tx, tenant_id).await?;
        if let Templates::Lookup(version) = grouping.templates {
            let rows = driver::templates(tx, tenant_id, version).await?;
            grouping.templates = Templates::Loaded(version, index_of(tenant_id, &rows)?);
        }
        Ok(grouping)
    }

    pub(super) fn new(tenant_id: &str, config: GroupingConfig) -> Result<Self, IncidentError> {
        let primary = algorithm_named(tenant_id, &config.primary_version)?;
        let secondary = config
            .secondary_version
            .as_deref()
            .map(|v| algorithm_named(tenant_id, v))
            .transpose()?;
        let templates = match config.templates_version {
            Some(version) => Templates::Lookup(version),
            None => Templates::None,
        };
        Ok(Self {
            config,
            primary,
            secondary,
            templates,
        })
    }

    /// The fingerprint the first matching rule gives, with the rule's name.
    pub(super) fn rule_fingerprint(
        &self,
        fields: &GroupingFields<'_>,
    ) -> Option<(Vec<String>, String)> {
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
    /// matching rule's, else the algorithm's own inputs, where a learned template loaded by
    /// [`Self::load_with_templates`] replaces an `rsig-v3` template it matches.
    pub fn sign(
        &self,
        algorithm: &'static dyn SignatureAlgorithm,
        fields: &GroupingFields<'_>,
        caller_fingerprint: Option<&[String]>,
    ) -> Signature {
        match &self.templates {
            Templates::Loaded(version, index) => self.sign_in(
                algorithm,
                fields,
                caller_fingerprint,
                Some((*version, index)),
            ),
            _ => self.sign_in(algorithm, fields, caller_fingerprint, None),
        }
    }

    /// [`Self::sign`], looking the learned templates up when they are not loaded (one index seek when the
    /// configuration has templates and the incident is signed from a message or title template under `rsig-v3`).
    async fn sign_looking_up(
        &self,
        tx: &Tx,
        tenant_id: &str,
        algorithm: &'static dyn SignatureAlgorithm,
        fields: &GroupingFields<'_>,
        caller_fingerprint: Option<&[String]>,
    ) -> Result<Signature, IncidentError> {
        let Templates::Lookup(version) = self.templates else {
            return Ok(self.sign(algorithm, fields, caller_fingerprint));
        };
        let plain = self.sign_in(algorithm, fields, caller_fingerprint, None);
        let Some((field, v3)) = learn::learnable(&plain.inputs) else {
            return Ok(plain);
        };
        let (count, first) = learn::match_key(v3);
        let first: String = first.chars().take(64).collect();
        let rows = driver::template_candidates(
            tx,
            tenant_id,
            version,
            field.as_str(),
            i64::try_from(count).unwrap_or(i64::MAX),
            &first,
        )
        .await?;
        if rows.is_empty() {
            return Ok(plain);
        }
        let index = index_of(tenant_id, &rows)?;
        Ok(self.sign_in(
            algorithm,
            fields,
            caller_fingerprint,
            Some((version, &index)),
        ))
    }

    fn sign_in(
        &self,
        algorithm: &'static dyn SignatureAlgorithm,
        fields: &GroupingFields<'_>,
        caller_fingerprint: Option<&[String]>,
        templates: Option<(i64, &TemplateIndex)>,
    ) -> Signature {
        let ruled = match caller_fingerprint {
            Some(_) => None,
            None => self.rule_fingerprint(fields),
        };
        let fingerprint = caller_fingerprint.or(ruled.as_ref().map(|(items, _)| items.as_slice()));
        let source = SignatureSource {
            category: fields.category,
            error_code: fields.error_code,
            trigger_type: fields.trigger_type,
            source_type: fields.source_type,
            error_message: fields.error_message,
            title: fields.title,
            fingerprint,
        };
        let mut signature = match templates {
            Some((version, index)) => {
                learn::sign_learned(algorithm, &source, index, &format!("v{version}"))
            }
            None => sign_with(algorithm, &source),
        };
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
        let primary = self
            .sign_looking_up(tx, tenant_id, self.primary, fields, caller_fingerprint)
            .await?;
        let Some(secondary) = self.secondary else {
            return Ok(primary);
        };
        let secondary = self
            .sign_looking_up(tx, tenant_id, secondary, fields, caller_fingerprint)
            .await?;
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

/// The matching index of stored learned templates.
fn index_of(tenant_id: &str, rows: &[TemplateRow]) -> Result<TemplateIndex, IncidentError> {
    let mut templates = Vec::with_capacity(rows.len());
    for row in rows {
        let field = TemplateField::parse(&row.field)
            .ok_or_else(|| corrupt(tenant_id, format!("template field `{}`", row.field)))?;
        let number = usize::try_from(row.template_no)
            .map_err(|_| corrupt(tenant_id, format!("template number {}", row.template_no)))?;
        templates.push((number, field, row.template.as_str()));
    }
    Ok(TemplateIndex::new(templates))
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
