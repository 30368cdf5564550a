//! The SQL text of the D1 store (`storage`, built for the Worker only), kept here where
//! it also compiles natively, so that native tests run the statements on SQLite, the engine
//! under D1, with every migration of `migrations/` applied. The in-memory twins prove the
//! stores' rules; these tests prove that the SQL keeps the same ones, including guards that no
//! end-to-end test can reach (a race that HTTP cannot time).
//!
//! One file per store, as in `storage`; parameters are numbered (`?1`) and bound in that order
//! by the D1 store.

pub mod sessions;

/// An in-memory SQLite database with every migration of `migrations/` applied, in order (as
/// `wrangler d1 migrations apply` does).
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) fn migrated_db() -> rusqlite::Connection {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    let db = rusqlite::Connection::open_in_memory().unwrap();
    for f in files {
        db.execute_batch(&std::fs::read_to_string(f).unwrap())
            .unwrap();
    }
    db
}
