use diesel::RunQueryDsl;
use diesel_migrations::MigrationHarness;
use lienganh::store::{Backend as DbBackend, Db, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};

use crate::helpers::{backends, spawn};

#[derive(diesel::QueryableByName, PartialEq, Eq, Debug)]
struct Table {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

fn tables(db: &Db, url: &str) -> Vec<String> {
    let sql = match db.backend {
        DbBackend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        DbBackend::Postgres => {
            "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name"
        }
    };
    let mut conn = lienganh::store::direct(url).unwrap();
    let rows: Vec<Table> = diesel::sql_query(sql).load(&mut conn).unwrap();
    rows.into_iter().map(|t| t.name).filter(|n| n != "__diesel_schema_migrations").collect()
}

/// Every migration's down.sql undoes its up.sql: up, down, up again.
#[tokio::test]
async fn migrations_revert_cleanly() {
    for backend in backends() {
        let app = spawn(backend).await;
        let db = Db::connect(&app.database_url, 1).unwrap();
        let url = app.database_url.clone();
        let migrated = tables(&db, &url);
        assert!(migrated.contains(&"events".to_owned()), "{migrated:?}");
        {
            let mut conn = lienganh::store::direct(&url).unwrap();
            let source = match db.backend {
                DbBackend::Sqlite => SQLITE_MIGRATIONS,
                DbBackend::Postgres => POSTGRES_MIGRATIONS,
            };
            conn.revert_all_migrations(source).unwrap();
        }
        assert_eq!(tables(&db, &url), Vec::<String>::new(), "{backend:?}");
        db.migrate().unwrap();
        assert_eq!(tables(&db, &url), migrated);
    }
}
