//! The calls into SQLite's C API: the auto-extension entry point that registers the functions in each new
//! connection, and the functions themselves.

#![allow(unsafe_code)]

use std::ffi::{c_char, c_int};
use std::ptr;

use libsqlite3_sys as sqlite;

/// `sqlite3_auto_extension(init)`: SQLite's result code.
pub(crate) fn auto_extension() -> c_int {
    // SAFETY: `init` has the signature SQLite calls an entry point with, and lives for the whole process.
    unsafe { sqlite::sqlite3_auto_extension(Some(init)) }
}

/// The entry point SQLite runs in every connection it opens: registers [`instances`] with the connection's FTS5.
/// A failure fails the opening of the connection, with SQLite's result code.
unsafe extern "C" fn init(
    db: *mut sqlite::sqlite3,
    _error: *mut *mut c_char,
    _api: *const sqlite::sqlite3_api_routines,
) -> c_int {
    // SAFETY: SQLite passes an open connection. The FTS5 API pointer is fetched the documented way (`SELECT
    // fts5(?1)` with a pointer bound as "fts5_api_ptr"), written by SQLite into `api` before `sqlite3_step`
    // returns; the statement is finalized before `api` is used; the name is a static C string; the function has
    // the signature of `fts5_extension_function` and keeps no state.
    unsafe {
        let mut statement: *mut sqlite::sqlite3_stmt = ptr::null_mut();
        let rc = sqlite::sqlite3_prepare_v2(
            db,
            c"SELECT fts5(?1)".as_ptr(),
            -1,
            &raw mut statement,
            ptr::null_mut(),
        );
        if rc != sqlite::SQLITE_OK {
            return rc;
        }
        let mut api: *mut sqlite::fts5_api = ptr::null_mut();
        sqlite::sqlite3_bind_pointer(
            statement,
            1,
            (&raw mut api).cast(),
            c"fts5_api_ptr".as_ptr(),
            None,
        );
        sqlite::sqlite3_step(statement);
        let rc = sqlite::sqlite3_finalize(statement);
        if rc != sqlite::SQLITE_OK {
            return rc;
        }
        if api.is_null() {
            return sqlite::SQLITE_ERROR;
        }
        match (*api).xCreateFunction {
            Some(create) => create(
                api,
                crate::INSTANCES_C.as_ptr(),
                ptr::null_mut(),
                Some(instances),
                None,
            ),
            None => sqlite::SQLITE_ERROR,
        }
    }
}

/// `hoc_instances(table)`: the number of the query's phrase instances in the current row (FTS5's `xInstCount`,
/// read from the token positions the match already loaded).
unsafe extern "C" fn instances(
    api: *const sqlite::Fts5ExtensionApi,
    fts: *mut sqlite::Fts5Context,
    context: *mut sqlite::sqlite3_context,
    _arguments: c_int,
    _values: *mut *mut sqlite::sqlite3_value,
) {
    // SAFETY: FTS5 calls an auxiliary function with its extension API, the cursor's context and the SQL function's
    // result context, all valid for the duration of the call.
    unsafe {
        let mut count: c_int = 0;
        let rc = match (*api).xInstCount {
            Some(inst_count) => inst_count(fts, &raw mut count),
            None => sqlite::SQLITE_ERROR,
        };
        if rc == sqlite::SQLITE_OK {
            sqlite::sqlite3_result_int64(context, i64::from(count));
        } else {
            sqlite::sqlite3_result_error_code(context, rc);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::ffi::CString;

    use super::*;

    /// Runs `statements` in a new in-memory database and returns the rows of the last one, two integers each.
    pub(crate) fn query_i64(statements: &[&str]) -> Result<Vec<(i64, i64)>, String> {
        let mut rows = Vec::new();
        // SAFETY: a connection opened here and closed at the end; each statement is prepared from a C string that
        // outlives it, stepped, read while it has a row, and finalized.
        unsafe {
            let mut db: *mut sqlite::sqlite3 = ptr::null_mut();
            if sqlite::sqlite3_open(c":memory:".as_ptr(), &raw mut db) != sqlite::SQLITE_OK {
                return Err("open failed".to_owned());
            }
            for (i, sql) in statements.iter().enumerate() {
                let text = CString::new(*sql).map_err(|e| e.to_string())?;
                let mut statement: *mut sqlite::sqlite3_stmt = ptr::null_mut();
                if sqlite::sqlite3_prepare_v2(
                    db,
                    text.as_ptr(),
                    -1,
                    &raw mut statement,
                    ptr::null_mut(),
                ) != sqlite::SQLITE_OK
                {
                    let message = std::ffi::CStr::from_ptr(sqlite::sqlite3_errmsg(db));
                    return Err(format!("{sql}: {}", message.to_string_lossy()));
                }
                loop {
                    match sqlite::sqlite3_step(statement) {
                        sqlite::SQLITE_ROW if i + 1 == statements.len() => rows.push((
                            sqlite::sqlite3_column_int64(statement, 0),
                            sqlite::sqlite3_column_int64(statement, 1),
                        )),
                        sqlite::SQLITE_ROW => {}
                        sqlite::SQLITE_DONE => break,
                        code => {
                            sqlite::sqlite3_finalize(statement);
                            return Err(format!("{sql}: result code {code}"));
                        }
                    }
                }
                sqlite::sqlite3_finalize(statement);
            }
            sqlite::sqlite3_close(db);
        }
        Ok(rows)
    }
}
