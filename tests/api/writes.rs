//! A step's writes sent together (`Writes`), against the real database of each backend.

use lienganh::store::deadlines as deadline_store;
use lienganh::store::fixed::{Sink, Writes};
use lienganh::store::reminders::{self as reminder_store, ReminderRow};
use lienganh::store::DbConn;

use crate::helpers::*;

fn pending(id: &str, deadline_id: &str) -> ReminderRow {
    ReminderRow {
        id: id.to_owned(),
        deadline_id: deadline_id.to_owned(),
        kind: "due".to_owned(),
        working_days_before: None,
        fire_at: 0,
        status: reminder_store::PENDING.to_owned(),
        lease_owner: None,
        lease_until: None,
        sent_at: None,
    }
}

/// A server with one instance, a connection of its own to its database, and the id of the
/// instance's deadline.
async fn a_deadline(backend: Backend) -> (TestApp, DbConn, String) {
    let app = spawn(backend).await;
    let created = app.start_transfer("standard").await;
    let id = created["id"].as_str().unwrap();
    let mut conn = lienganh::store::direct(&app.database_url).unwrap();
    let deadline = deadline_store::of_instance(&mut conn, id).unwrap().pop().expect("a deadline");
    (app, conn, deadline.id)
}

/// Queued writes run with one snapshot on PostgreSQL: a write that changes rows a queued one
/// wrote sees them only after a barrier, as it does on SQLite where each runs at once.
#[tokio::test]
async fn a_write_after_a_barrier_sees_the_queued_ones() {
    for backend in backends() {
        let (_app, mut conn, deadline) = a_deadline(backend).await;

        let mut writes = Writes::new(&mut conn);
        reminder_store::insert_all(
            &mut writes,
            &[pending("queued-1", &deadline), pending("queued-2", &deadline)],
        )
        .unwrap();
        writes.barrier().unwrap();
        reminder_store::cancel_pending(&mut writes, &deadline).unwrap();
        writes.finish().unwrap();

        let rows = reminder_store::of_deadline(&mut conn, &deadline).unwrap();
        for id in ["queued-1", "queued-2"] {
            let row = rows.iter().find(|r| r.id == id).expect("inserted");
            assert_eq!(row.status, reminder_store::CANCELLED, "{backend:?} {id}");
        }
        assert!(rows.iter().all(|r| r.status != reminder_store::PENDING), "{backend:?}: {rows:?}");
    }
}

/// A queued write that the database refuses fails the writes it went with, and the error is
/// the database's, not a lost write.
#[tokio::test]
async fn a_refused_write_fails_its_batch() {
    for backend in backends() {
        let (_app, mut conn, deadline) = a_deadline(backend).await;

        let mut writes = Writes::new(&mut conn);
        reminder_store::insert_all(&mut writes, &[pending("refused-1", &deadline)]).unwrap();
        // No such deadline: the foreign key refuses it.
        let sent = reminder_store::insert_all(&mut writes, &[pending("refused-2", "no-such-deadline")])
            .and_then(|()| writes.finish());
        assert!(sent.is_err(), "{backend:?}");

        let rows = reminder_store::of_deadline(&mut conn, "no-such-deadline").unwrap();
        assert!(rows.is_empty(), "{backend:?}");
    }
}
