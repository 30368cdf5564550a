//! The settings statements on SQLite with every migration applied.

use super::*;
use crate::store::sql::testing::{migrated_db, num, run};

#[test]
fn the_recorded_import_cost_rises_to_the_costliest_hash_and_never_falls() {
    let db = migrated_db();
    let read = || run(&db, IMPORTED_HASH_WORK, &[]);
    assert!(read().is_empty(), "no row before any import");
    run(&db, RECORD_IMPORTED_HASH_WORK, &[num(1_000_000.0)]);
    assert_eq!(read(), ["Integer(1000000)"]);
    run(&db, RECORD_IMPORTED_HASH_WORK, &[num(1_310_720.0)]);
    assert_eq!(read(), ["Integer(1310720)"]);
    // A later import of cheaper hashes keeps the padding of the costlier ones.
    run(&db, RECORD_IMPORTED_HASH_WORK, &[num(600_000.0)]);
    assert_eq!(read(), ["Integer(1310720)"]);
    // The same statement as the importer writes it into a SQL file, with the number in place.
    let literal = RECORD_IMPORTED_HASH_WORK.replace("?1", "2000000");
    db.execute_batch(&literal).unwrap();
    assert_eq!(read(), ["Integer(2000000)"]);
}

#[test]
fn the_settings_table_holds_only_whole_non_negative_numbers() {
    let db = migrated_db();
    let put = |value: &str| {
        db.execute(
            &format!(
                "INSERT INTO settings (key, value) VALUES ('imported_hash_max_work', {value})"
            ),
            [],
        )
    };
    assert!(put("'lots'").is_err());
    assert!(put("-1").is_err());
    assert!(put("1.5").is_err());
    assert!(put("NULL").is_err());
    // A whole number bound as a double (how D1 binds JS numbers) is stored as an integer.
    put("1310720.0").unwrap();
    assert_eq!(run(&db, IMPORTED_HASH_WORK, &[]), ["Integer(1310720)"]);
}
