//! Learning templates from a tenant's incidents ([`crate::learn`] mines them): a preview that writes nothing, and
//! the learn that applies the proposal as a new configuration version. Learning never changes a stored incident;
//! a regroup under the new version does.

use hoc_contracts::input::{FreeText, Timestamp};
use hoc_contracts::paging::ReadAt;
use hoc_drivers::grouping::{self as driver, ConfigRow, TemplateRow};
use hoc_drivers::paging::PageRequest;
use hoc_drivers::{DbTime, Tx, incidents};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::regroup::{PREVIEW_PAGE, caller_fingerprint};
use super::*;
use crate::IncidentError;
use crate::learn::{self, LearnedTemplate, TemplateField};
use crate::procedures::{Caller, Outcome};
use crate::recurrence::sha256_hex;

/// The algorithm learned templates refine.
pub const LEARNED_VERSION: &str = "rsig-v3";

hoc_contracts::request! {
    /// What learning templates from the tenant's incidents would propose (a dry run: nothing is written).
    pub struct PreviewLearn => LearnQuery {
        /// Learn only from incidents created at or after this instant.
        since: Option<String> => optional Timestamp,
    }
}

hoc_contracts::request! {
    /// Learn templates from the tenant's incidents and apply them as a new grouping-configuration version:
    /// primary `rsig-v3` with the learned templates; a previous primary other than `rsig-v3` becomes the
    /// secondary (new incidents still join its existing groups); the fingerprint rules are kept. No incident
    /// changes until a regroup.
    pub struct LearnTemplates => LearnInput {
        /// Learn only from incidents created at or after this instant.
        since: Option<String> => optional Timestamp,
        /// Write only if the current configuration has this version (0: never configured).
        expected_version: Option<hoc_contracts::input::JsonInt> => optional ConfigVersion,
        /// Why (recorded in the audit entry).
        reason: Option<String> => optional FreeText<{ crate::MAX_TEXT_CHARS }>,
    }
}

/// A learning proposal: the configuration version it makes and the templates it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LearnProposal {
    /// The configuration version written (after a learn) or that would be written (preview).
    pub config: GroupingConfig,
    /// Whether it was written.
    pub applied: bool,
    /// The instant whose incidents were read.
    #[serde(with = "hoc_contracts::time_format::utc")]
    #[schemars(with = "hoc_contracts::time_format::UtcTimestamp")]
    pub as_of: OffsetDateTime,
    /// Incidents read.
    pub incidents_read: u64,
    /// Of those, the ones signed from a message or title template (no fingerprint, no error code, no matching
    /// fingerprint rule): what was mined.
    pub messages_mined: u64,
    /// SHA-256 of the templates, one line `<field> <template>` each in number order: a learn that wrote exactly
    /// the previewed templates has the same.
    pub templates_digest: String,
    /// The learned templates, numbered from 1 in this order.
    pub templates: Vec<LearnedTemplate>,
}

/// The digest of `templates` (see [`LearnProposal::templates_digest`]).
pub fn templates_digest(templates: &[LearnedTemplate]) -> String {
    let lines: String = templates
        .iter()
        .map(|t| format!("{} {}\n", t.field.as_str(), t.template))
        .collect();
    sha256_hex(&lines)
}

/// The field and text an incident would be templated from under `rsig-v3` with `grouping`'s rules, if any.
fn minable(
    grouping: &Grouping,
    row: &hoc_drivers::IncidentRow,
) -> Result<Option<(TemplateField, String)>, IncidentError> {
    let fields = GroupingFields::of(row);
    let present = |v: Option<&str>| {
        v.map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    if present(fields.error_code).is_some()
        || caller_fingerprint(row)?.is_some()
        || grouping.rule_fingerprint(&fields).is_some()
    {
        return Ok(None);
    }
    Ok(Some(match present(fields.error_message) {
        Some(message) => (TemplateField::ErrorMessage, message),
        None => (TemplateField::Title, row.title.clone()),
    }))
}

/// Mines the tenant's incidents at `as_of` (created at or after `since`) under the current configuration.
async fn propose(
    tx: &Tx,
    tenant_id: &str,
    since: Option<OffsetDateTime>,
    as_of: OffsetDateTime,
    author: Option<&Caller<'_>>,
) -> Result<(GroupingConfig, LearnProposal), IncidentError> {
    let before = config_at(tx, tenant_id, None).await?;
    let grouping = Grouping::new(tenant_id, before.clone())?;
    let mut texts: Vec<(TemplateField, String)> = Vec::new();
    let mut incidents_read = 0_u64;
    let mut after = None;
    loop {
        let page = PageRequest {
            as_of: DbTime::new(as_of),
            after: after.clone(),
            limit: PREVIEW_PAGE,
        };
        let filter = incidents::IncidentFilter {
            created_from: since.map(DbTime::new),
            ..incidents::IncidentFilter::default()
        };
        let rows = incidents::list(tx, tenant_id, filter, &page).await?;
        incidents_read += rows.len() as u64;
        for row in &rows {
            texts.extend(minable(&grouping, row)?);
        }
        match rows.last() {
            Some(last) if rows.len() as u64 == PREVIEW_PAGE => {
                after = Some((last.created_at, last.id.clone()));
            }
            _ => break,
        }
    }
    let templates = learn::mine(texts.iter().map(|(f, t)| (*f, t.as_str())));
    let version = before.version + 1;
    let secondary = if before.primary_version == LEARNED_VERSION {
        before.secondary_version.clone()
    } else {
        Some(before.primary_version.clone())
    };
    let config = GroupingConfig {
        version,
        primary_version: LEARNED_VERSION.to_owned(),
        secondary_version: secondary,
        fingerprint_rules: before.fingerprint_rules.clone(),
        templates_version: (!templates.is_empty()).then_some(version),
        template_count: i64::try_from(templates.len()).unwrap_or(i64::MAX),
        updated_at: author.map(|c| c.now),
        updated_by: author.map(|c| c.actor.actor_id.clone()),
    };
    Ok((
        before,
        LearnProposal {
            config,
            applied: false,
            as_of,
            incidents_read,
            messages_mined: texts.len() as u64,
            templates_digest: templates_digest(&templates),
            templates,
        },
    ))
}

/// The preview: what a learn at the read's instant would propose. Writes nothing.
pub async fn preview_learn(
    tx: &Tx,
    tenant_id: &str,
    query: LearnQuery,
    at: ReadAt,
) -> Result<LearnProposal, IncidentError> {
    Ok(propose(tx, tenant_id, query.since, at.instant(), None)
        .await?
        .1)
}

/// The reading half of a learn, done before its write begins (on a reader, at the tenant's last committed instant
/// `at`): the incidents as they were then, mined under the configuration in force. No write lock is held while it
/// reads; [`learn_templates`] applies it if the configuration has not changed since.
#[derive(Debug, Clone)]
pub struct MinedLearn {
    before: GroupingConfig,
    proposal: LearnProposal,
}

/// Mines for a learn at `at` (see [`MinedLearn`]). Writes nothing.
pub async fn mine_for_learn(
    tx: &Tx,
    tenant_id: &str,
    input: &LearnInput,
    at: OffsetDateTime,
) -> Result<MinedLearn, IncidentError> {
    let (before, proposal) = propose(tx, tenant_id, input.since, at, None).await?;
    Ok(MinedLearn { before, proposal })
}

/// Learns templates from the tenant's incidents and writes them as a new configuration version (audited as
/// `incidents.grouping.learn`, announced as `GroupingConfigChanged`). With `mined` (read before this transaction
/// began) and the configuration unchanged since, that proposal is applied, its `as_of` the instant it was mined at;
/// otherwise the incidents are mined now, in this transaction.
pub async fn learn_templates(
    tx: &Tx,
    caller: &Caller<'_>,
    input: LearnInput,
    mined: Option<&MinedLearn>,
) -> Result<Outcome<LearnProposal>, IncidentError> {
    let tenant_id = caller.tenant_id;
    let current = config_at(tx, tenant_id, None).await?;
    let (before, mut proposal) = match mined {
        Some(mined) if mined.before == current => {
            let mut proposal = mined.proposal.clone();
            proposal.config.updated_at = Some(caller.now);
            proposal.config.updated_by = Some(caller.actor.actor_id.clone());
            (current, proposal)
        }
        _ => propose(tx, tenant_id, input.since, caller.now, Some(caller)).await?,
    };
    expect_version(&before, input.expected_version)?;
    let config = &proposal.config;
    let row = ConfigRow {
        tenant_id: tenant_id.to_owned(),
        version: config.version,
        primary_version: config.primary_version.clone(),
        secondary_version: config.secondary_version.clone(),
        rules: serde_json::to_string(&config.fingerprint_rules)
            .map_err(|e| corrupt(tenant_id, e))?,
        created_at: caller.now.into(),
        created_by: caller.actor.actor_id.clone(),
        templates_version: config.templates_version,
        template_count: config.template_count,
    };
    let rows = proposal
        .templates
        .iter()
        .zip(1_i64..)
        .map(|(t, number)| {
            Ok(TemplateRow {
                tenant_id: tenant_id.to_owned(),
                config_version: config.version,
                template_no: number,
                field: t.field.as_str().to_owned(),
                token_count: i64::try_from(t.token_count()).unwrap_or(i64::MAX),
                first_token: t.first_token().chars().take(64).collect(),
                template: t.template.clone(),
                member_count: i64::try_from(t.member_count).unwrap_or(i64::MAX),
                joined_templates: i64::try_from(t.joined_templates).unwrap_or(i64::MAX),
                examples: serde_json::to_string(&t.examples).map_err(|e| corrupt(tenant_id, e))?,
            })
        })
        .collect::<Result<Vec<_>, IncidentError>>()?;
    let outcome = write_version(
        tx,
        &before,
        row,
        VersionAudit {
            action: "incidents.grouping.learn",
            reason: input.reason.map(FreeText::into_string),
            extra: Some((
                "templates_digest",
                serde_json::Value::String(proposal.templates_digest.clone()),
            )),
        },
    )
    .await?;
    driver::insert_templates(tx, rows).await?;
    proposal.config = outcome.response;
    proposal.applied = true;
    Ok(Outcome {
        audit: outcome.audit,
        events: outcome.events,
        response: proposal,
    })
}

hoc_contracts::request! {
    /// The learned templates in force (at `as_of`, if given).
    pub struct GetLearnedTemplates => LearnedTemplatesQuery {}
}

/// The learned templates in force at an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LearnedTemplates {
    /// The configuration version in force then.
    pub config_version: i64,
    /// The version that learned them (none: no learned templates).
    pub templates_version: Option<i64>,
    /// The templates, template 1 first (signature inputs name template `n` of version `v` as `v<v>#t<n>`).
    pub templates: Vec<LearnedTemplate>,
}

/// The learned templates in force at the read's instant.
pub async fn templates_at(
    tx: &Tx,
    tenant_id: &str,
    at: ReadAt,
) -> Result<LearnedTemplates, IncidentError> {
    let config = config_at(tx, tenant_id, Some(DbTime::new(at.instant()))).await?;
    let mut out = LearnedTemplates {
        config_version: config.version,
        templates_version: config.templates_version,
        templates: Vec::new(),
    };
    let Some(version) = config.templates_version else {
        return Ok(out);
    };
    for row in driver::templates(tx, tenant_id, version).await? {
        out.templates.push(LearnedTemplate {
            field: TemplateField::parse(&row.field)
                .ok_or_else(|| corrupt(tenant_id, format!("template field `{}`", row.field)))?,
            template: row.template,
            member_count: u64::try_from(row.member_count).unwrap_or(0),
            joined_templates: u64::try_from(row.joined_templates).unwrap_or(0),
            examples: serde_json::from_str(&row.examples).map_err(|e| corrupt(tenant_id, e))?,
        });
    }
    Ok(out)
}
