//! Reading the append-only audit ledger (appending is `hoc-ledger`'s; nothing updates or deletes, and the
//! database refuses both).

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entity::audit_ledger::{Column, Entity};
use crate::paging::{Direction, PageRequest, keyset_condition};
use crate::{AuditRow, StorageError, Tx};

/// The audit entries of one entity, oldest first, ties broken by id (all of them).
pub async fn list_for_entity(
    tx: &Tx,
    tenant_id: &str,
    entity_id: &str,
) -> Result<Vec<AuditRow>, StorageError> {
    Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::EntityId.eq(entity_id))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .all(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// Which of a tenant's audit entries a page lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditFilter<'a> {
    /// Only entries about this entity.
    pub entity_id: Option<&'a str>,
    /// Only entries written by this request.
    pub request_id: Option<&'a str>,
}

/// One page of the tenant's audit entries (optionally of one entity or one request), oldest first by
/// (created_at, id).
pub async fn list_page(
    tx: &Tx,
    tenant_id: &str,
    filter: AuditFilter<'_>,
    page: &PageRequest,
) -> Result<Vec<AuditRow>, StorageError> {
    list_page_query(tenant_id, filter, page)
        .all(&tx.conn())
        .await
        .map_err(StorageError::from_db)
}

/// The query of [`list_page`].
pub(crate) fn list_page_query(
    tenant_id: &str,
    filter: AuditFilter<'_>,
    page: &PageRequest,
) -> sea_orm::Select<Entity> {
    let mut query = Entity::find().filter(Column::TenantId.eq(tenant_id));
    if let Some(entity_id) = filter.entity_id {
        query = query.filter(Column::EntityId.eq(entity_id));
    }
    if let Some(request_id) = filter.request_id {
        query = query.filter(Column::RequestId.eq(request_id));
    }
    query
        .filter(keyset_condition(
            Column::CreatedAt,
            Column::Id,
            page,
            Direction::Ascending,
        ))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .limit(page.limit)
}

pub use hoc_contracts::audit::AuditEntry;

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StorageError;

    fn try_from(row: AuditRow) -> Result<Self, StorageError> {
        let json = |text: Option<String>| -> Result<Option<serde_json::Value>, StorageError> {
            text.map(|t| serde_json::from_str(&t))
                .transpose()
                .map_err(|e| StorageError::Corrupt {
                    table: "audit_ledger",
                    problem: format!("entry {}: {e}", row.id),
                })
        };
        Ok(Self {
            before_state: json(row.before_state.clone())?,
            after_state: json(row.after_state.clone())?,
            id: row.id,
            entity_type: row.entity_type,
            entity_id: row.entity_id,
            action: row.action,
            actor_type: row.actor_type.get(),
            actor_id: row.actor_id,
            reason: row.reason,
            request_id: row.request_id,
            created_at: row.created_at.get(),
        })
    }
}
