//! SQL functions of our own inside the SQLite that every connection of this process opens (sqlx's bundled
//! `libsqlite3-sys`): one FTS5 auxiliary function, [`INSTANCES`], the rank of SQLite's text search.
//!
//! Why a function of our own: SQLite's rank of a hit must depend on the document and the query alone (so a read at an
//! instant and its cursors never move as later incidents are written), which rules out FTS5's `bm25` (corpus
//! statistics); and it must not read the hit's row, which rules out counting words in the stored text: a common
//! word's thousand hits lie on a thousand pages (`docs/PERFORMANCE.md`, "Text search at 1M"). FTS5 already holds
//! every hit's token positions while it matches; [`INSTANCES`] returns how many of them are the query's, from the
//! index alone.
//!
//! [`register`] installs the functions with `sqlite3_auto_extension`, so every SQLite connection opened afterwards in
//! the process has them; `hoc-drivers` calls it before it opens a SQLite pool. This crate is the workspace's one
//! use of `unsafe` (SQLite's C API), kept in [`ffi`].

mod ffi;

/// `hoc_instances(<fts5 table>)`: in a query `WHERE <table> MATCH …`, how many times the query's phrases occur in
/// the row (every instance of every phrase, in every column), by the table's tokenizer (so by word stem with the
/// Porter tokenizer, case folded). An integer.
pub const INSTANCES: &str = match INSTANCES_C.to_str() {
    Ok(name) => name,
    Err(_) => "",
};

/// [`INSTANCES`] as SQLite's C API takes it (the one spelling of the name: [`INSTANCES`] is read from it).
const INSTANCES_C: &std::ffi::CStr = c"hoc_instances";

/// What can go wrong installing the functions.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SqliteExtError {
    /// SQLite refused the auto-extension (its result code).
    #[error("sqlite refused to register the auto-extension (result code {code})")]
    Register {
        /// SQLite's result code.
        code: i32,
    },
}

/// Installs the functions into every SQLite connection this process opens from now on (connections already open
/// do not get them). Idempotent: SQLite registers an entry point once however often it is asked.
pub fn register() -> Result<(), SqliteExtError> {
    match ffi::auto_extension() {
        0 => Ok(()),
        code => Err(SqliteExtError::Register { code }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_counts_the_query_phrases_in_each_row_by_stem_and_case() -> Result<(), String> {
        register().map_err(|e| e.to_string())?;
        register().map_err(|e| e.to_string())?;
        let rows = ffi::tests::query_i64(&[
            "CREATE VIRTUAL TABLE t USING fts5(document, content='', tokenize='porter unicode61')",
            "INSERT INTO t (rowid, document) VALUES (1, 'timeout after 30 s; TIMEOUTS again'), \
             (2, 'a single timeout'), (3, 'timed out'), (4, 'timeout talking to the session store')",
            "SELECT rowid, hoc_instances(t) FROM t WHERE t MATCH '\"timeouts\"' ORDER BY rowid",
        ])?;
        assert_eq!(rows, [(1, 2), (2, 1), (4, 1)]);
        // Every phrase of the query counts: both words of a two-word query.
        let rows = ffi::tests::query_i64(&[
            "CREATE VIRTUAL TABLE t USING fts5(document, tokenize='porter unicode61')",
            "INSERT INTO t (rowid, document) VALUES (1, 'session timeout, session lost'), (2, 'timeout session')",
            "SELECT rowid, hoc_instances(t) FROM t WHERE t MATCH '\"session\" \"timeout\"' ORDER BY rowid",
        ])?;
        assert_eq!(rows, [(1, 3), (2, 2)]);
        Ok(())
    }
}
