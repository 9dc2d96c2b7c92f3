//! The stored tenant clock, `tenant_clocks.last_micros`: the last instant a tenant committed a change at, in
//! microseconds since 1970. What it means (instants in commit order) is `hoc_ledger::clock`'s; here is how it is
//! stored and read, shared by the ledger and by the read replicas' check of how far a replica has replayed.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use time::OffsetDateTime;

use crate::{StorageError, Tx};

/// `t` in microseconds since 1970, as the clock stores it (saturating far in the future).
pub fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// The instant of a stored clock value.
pub fn instant(micros: i64) -> Result<OffsetDateTime, StorageError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).map_err(|e| {
        StorageError::Corrupt {
            table: "tenant_clocks",
            problem: e.to_string(),
        }
    })
}

/// The statement reading one tenant's clock (`last_micros`), its tenant bound as `placeholder`.
pub(crate) fn last_sql(placeholder: &str) -> String {
    format!("SELECT last_micros FROM tenant_clocks WHERE tenant_id = {placeholder}")
}

/// The tenant's clock as `tx` sees it, in microseconds (`None`: the tenant never changed anything).
pub async fn last_micros(tx: &Tx, tenant_id: &str) -> Result<Option<i64>, StorageError> {
    let conn = tx.executor();
    let backend = conn.get_database_backend();
    let placeholder = match backend {
        DbBackend::Postgres => "$1",
        _ => "?",
    };
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            last_sql(placeholder),
            [tenant_id.into()],
        ))
        .await
        .map_err(StorageError::from_db)?;
    row.map(|row| {
        row.try_get::<i64>("", "last_micros")
            .map_err(StorageError::from_db)
    })
    .transpose()
}
