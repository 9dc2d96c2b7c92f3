//! Regrouping a tenant's incidents under another algorithm: the preview and its report, and the batches that
//! apply it (each move a compare-and-set, audited and announced).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use hoc_contracts::DomainEvent;
use hoc_contracts::input::{Limit, PageCursor};
use hoc_contracts::outcome::AuditDraft;
use hoc_contracts::paging::{Cursor, ReadAt};
use hoc_contracts::time_format::UtcTimestamp;
use hoc_drivers::grouping::{self as driver};
use hoc_drivers::paging::PageRequest;
use hoc_drivers::{DbTime, IncidentRow, Tx, incidents};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::*;
use crate::IncidentError;
use crate::procedures::{Caller, Outcome, append_timeline};
use crate::queries::SignatureVersion;
use crate::recurrence::{Signature, SignatureAlgorithm, SignatureInputs};

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
pub(super) fn caller_fingerprint(row: &IncidentRow) -> Result<Option<Vec<String>>, IncidentError> {
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

pub(super) fn key_of(row: &IncidentRow) -> GroupKey {
    GroupKey {
        signature_version: row.signature_version.clone().unwrap_or_default(),
        recurrence_signature: row.recurrence_signature.clone().unwrap_or_default(),
    }
}

/// An incident's signature under `target` with the tenant's rules.
pub(super) fn target_of(
    grouping: &Grouping,
    target: &'static dyn SignatureAlgorithm,
    row: &IncidentRow,
) -> Result<Signature, IncidentError> {
    let fingerprint = caller_fingerprint(row)?;
    Ok(grouping.sign(target, &GroupingFields::of(row), fingerprint.as_deref()))
}

/// Incidents read per statement while previewing.
pub(super) const PREVIEW_PAGE: u64 = 500;

/// The dry run: every incident of the tenant as of the read's instant, assigned under `to` with the current
/// configuration's rules. Writes nothing.
pub async fn preview_regroup(
    tx: &Tx,
    tenant_id: &str,
    query: RegroupQuery,
    at: ReadAt,
) -> Result<RegroupReport, IncidentError> {
    let target = algorithm_named(tenant_id, query.to.as_str())?;
    let grouping = Grouping::load_with_templates(tx, tenant_id).await?;
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
    let grouping = Grouping::load_with_templates(tx, tenant_id).await?;
    let limit = Limit::or_default(input.limit);
    let after = input
        .cursor
        .as_ref()
        .map(|c| (DbTime::new(c.created_at), c.id.as_str()));
    let rows = driver::scan_current(tx, tenant_id, after, limit).await?;
    let mut outcome = Outcome {
        response: RegroupBatchResult {
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
        if !incidents::compare_and_set(tx, &[before.status.get()], before, &after).await? {
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
            Some(before.status.get()),
            hoc_contracts::input::TimelineKind::Regrouped,
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
        outcome.events.push(DomainEvent::IncidentRegrouped(
            hoc_contracts::events::IncidentRegrouped {
                incident_id: before.id.clone(),
                previous_signature: from.recurrence_signature.clone(),
                previous_signature_version: from.signature_version.clone(),
                recurrence_signature: to.recurrence_signature.clone(),
                signature_version: to.signature_version.clone(),
            },
        ));
        outcome.response.moved.push(IncidentMove {
            incident_id: before.id.clone(),
            from,
            to,
        });
    }
    if rows.len() as u64 == limit
        && let Some(last) = rows.last()
    {
        outcome.response.next_cursor = Some(
            Cursor {
                as_of: last.created_at.get(),
                created_at: last.created_at.get(),
                id: last.id.clone(),
                rank: None,
            }
            .encode(),
        );
    }
    Ok(outcome)
}
