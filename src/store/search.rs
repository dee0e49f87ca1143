//! The search index: a row of words for each instance and case (see `search_terms` in the
//! migrations), and the query that finds rows by them on each backend: SQLite's FTS5, or
//! PostgreSQL's full text search over a GIN index. The words come folded (see the engine's
//! search); who may find a row is among its words, so the index answers within a caller's
//! scope and never reads past it.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::fixed::Sink;
use super::schema::{pending_tasks, search_terms};
use super::DbConn;

/// An instance.
pub const INSTANCE: &str = "instance";
/// A case.
pub const CASE: &str = "case";
/// The task a migration leaves: index what was there before search.
pub const INDEX_TASK: &str = "index_for_search";

/// The words of one instance or case.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, QueryableByName, Insertable)]
#[diesel(table_name = search_terms)]
pub struct Terms {
    pub kind: String,
    pub target_id: String,
    /// Anyone who may see it searches by these.
    pub numbers: String,
    /// Only those who may see its personal data search by these.
    pub names: String,
    /// Who may find it.
    pub scope: String,
}

/// Writes the words of an instance or case, in place of any it had.
pub fn put(to: &mut impl Sink, terms: &Terms) -> QueryResult<()> {
    to.write(
        "INSERT INTO search_terms (kind, target_id, numbers, names, scope) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (kind, target_id) DO UPDATE SET numbers = excluded.numbers, \
         names = excluded.names, scope = excluded.scope",
        &[
            (&terms.kind).into(),
            (&terms.target_id).into(),
            (&terms.numbers).into(),
            (&terms.names).into(),
            (&terms.scope).into(),
        ],
    )
}

/// What to find.
#[derive(Debug, Clone)]
pub struct Query<'a> {
    /// Every one of these words, folded.
    pub words: &'a [String],
    /// Whether a word may be found among the names, not only the numbers.
    pub names: bool,
    /// Only rows with one of these words in their scope; any row when none.
    pub scope: Option<&'a [String]>,
    pub limit: i64,
}

/// Most rows a word may be found in, within the caller's scope, to lead a search alone (see
/// [`find`]; BENCHMARKS.md, "Search at national volume").
const LEAD: i64 = 500;

/// The rows that hold every word of `q`, newest first.
///
/// On SQLite, a query of several words is led by its rarest one within the caller's scope
/// when that word stands in fewer than [`LEAD`] rows: the full-text index finds those, and
/// the other words are checked against the rows' own words. FTS5 would otherwise walk the
/// long doclists of the words nearly every number holds (`qd`, `thads`, the year) to find
/// the few rows the rare one is in. Each word's count is asked with a limit, so a common
/// word costs at most [`LEAD`] entries of its doclist.
pub fn find(conn: &mut DbConn, q: &Query<'_>) -> QueryResult<Vec<Terms>> {
    if q.words.is_empty() || q.scope.is_some_and(<[String]>::is_empty) {
        return Ok(Vec::new());
    }
    match conn {
        DbConn::Sqlite(c) => {
            if q.words.len() > 1 {
                if let Some(lead) = rarest(c, q)? {
                    let alone = Query { words: std::slice::from_ref(lead), limit: LEAD, ..q.clone() };
                    let rows = sqlite_rows(c, &fts5_match(&alone), LEAD)?;
                    let limit = usize::try_from(q.limit).unwrap_or(0);
                    return Ok(rows.into_iter().filter(|t| holds_every_word(t, q)).take(limit).collect());
                }
            }
            sqlite_rows(c, &fts5_match(q), q.limit)
        }
        DbConn::Pg(c) => diesel::sql_query(
            "SELECT kind, target_id, numbers, names, scope FROM search_terms \
             WHERE words @@ to_tsquery('simple', $1) ORDER BY id DESC LIMIT $2",
        )
        .bind::<Text, _>(tsquery(q))
        .bind::<BigInt, _>(q.limit)
        .load(c),
    }
}

fn sqlite_rows(c: &mut SqliteConnection, fts5: &str, limit: i64) -> QueryResult<Vec<Terms>> {
    diesel::sql_query(
        "SELECT t.kind, t.target_id, t.numbers, t.names, t.scope FROM search_index \
         JOIN search_terms t ON t.id = search_index.rowid \
         WHERE search_index MATCH ? ORDER BY search_index.rowid DESC LIMIT ?",
    )
    .bind::<Text, _>(fts5)
    .bind::<BigInt, _>(limit)
    .load(c)
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = BigInt)]
    rows: i64,
}

/// The word of `q` in the fewest rows within its scope, if one is in fewer than [`LEAD`].
fn rarest<'a>(c: &mut SqliteConnection, q: &Query<'a>) -> QueryResult<Option<&'a String>> {
    let mut rarest = None;
    let mut fewest = LEAD;
    for word in q.words {
        let alone = Query { words: std::slice::from_ref(word), ..q.clone() };
        let found: Found = diesel::sql_query(
            "SELECT count(*) AS rows FROM \
             (SELECT 1 FROM search_index WHERE search_index MATCH ? LIMIT ?)",
        )
        .bind::<Text, _>(fts5_match(&alone))
        .bind::<BigInt, _>(LEAD)
        .get_result(c)?;
        if found.rows < fewest {
            fewest = found.rows;
            rarest = Some(word);
        }
    }
    Ok(rarest)
}

/// Whether `row` holds every word of `q`, among its numbers (or names, where `q` may find
/// them), as the full-text index would match them: whole words of the folded text.
fn holds_every_word(row: &Terms, q: &Query<'_>) -> bool {
    let holds = |text: &str, word: &str| text.split(' ').any(|w| w == word);
    q.words.iter().all(|w| holds(&row.numbers, w) || (q.names && holds(&row.names, w)))
}

/// `q` as an FTS5 query: `{numbers names} : ("a" AND "b") AND scope : ("x" OR "y")`. Words
/// are folded letters and digits, quoted all the same.
fn fts5_match(q: &Query<'_>) -> String {
    let columns = if q.names { "{numbers names}" } else { "numbers" };
    let words: Vec<String> = q.words.iter().map(|w| format!("\"{w}\"")).collect();
    let mut text = format!("{columns} : ({})", words.join(" AND "));
    if let Some(scope) = q.scope {
        let scope: Vec<String> = scope.iter().map(|w| format!("\"{w}\"")).collect();
        text.push_str(&format!(" AND scope : ({})", scope.join(" OR ")));
    }
    text
}

/// `q` as a PostgreSQL `tsquery` over the weights of `search_terms.words`: A numbers, B names,
/// D who may find it.
fn tsquery(q: &Query<'_>) -> String {
    let weights = if q.names { "AB" } else { "A" };
    let words: Vec<String> = q.words.iter().map(|w| format!("'{w}':{weights}")).collect();
    let mut text = format!("({})", words.join(" & "));
    if let Some(scope) = q.scope {
        let scope: Vec<String> = scope.iter().map(|w| format!("'{w}':D")).collect();
        text.push_str(&format!(" & ({})", scope.join(" | ")));
    }
    text
}

/// Takes the task of indexing what was there before search: true if it was pending. In the
/// caller's transaction, so that the task is gone exactly when the index is written.
pub fn take_index_task(conn: &mut DbConn) -> QueryResult<bool> {
    diesel::delete(pending_tasks::table.find(INDEX_TASK)).execute(conn).map(|n| n == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query<'a>(words: &'a [String], names: bool, scope: Option<&'a [String]>) -> Query<'a> {
        Query { words, names, scope, limit: 20 }
    }

    #[test]
    fn queries_name_their_columns_and_scope() {
        let words = vec!["nguyen".to_owned(), "van".to_owned()];
        let scope = vec!["p41".to_owned(), "o41".to_owned()];
        assert_eq!(
            fts5_match(&query(&words, true, Some(&scope))),
            "{numbers names} : (\"nguyen\" AND \"van\") AND scope : (\"p41\" OR \"o41\")"
        );
        assert_eq!(fts5_match(&query(&words, false, None)), "numbers : (\"nguyen\" AND \"van\")");
        assert_eq!(
            tsquery(&query(&words, true, Some(&scope))),
            "('nguyen':AB & 'van':AB) & ('p41':D | 'o41':D)"
        );
        assert_eq!(tsquery(&query(&words, false, None)), "('nguyen':A & 'van':A)");
    }

    /// A search led by its rarest word finds what the full-text index finds for every word,
    /// newest first, within the scope and the limit; so does one whose words are all common.
    #[test]
    fn a_rare_word_leads_and_finds_what_every_word_finds() {
        let dir = tempfile::tempdir().unwrap();
        let db =
            crate::store::Db::connect(&format!("sqlite://{}", dir.path().join("s.db").display()), 1).unwrap();
        db.migrate().unwrap();
        db.write_blocking(|conn| {
            for i in 0..(4 * LEAD) {
                let numbers = match i % 100 {
                    7 => "6877 2025 kn vks",
                    8 => "6877 2024 kn vks",
                    _ => "45 2025 kn vks",
                };
                let terms = Terms {
                    kind: INSTANCE.into(),
                    target_id: format!("i{i:04}"),
                    numbers: numbers.into(),
                    names: if i % 2 == 0 { "nguyen van a".into() } else { String::new() },
                    scope: if i % 3 == 0 { "pa".into() } else { "pb".into() },
                };
                put(conn, &terms).map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(())
        })
        .unwrap();
        let mut conn = db.read().unwrap();
        let words = |text: &str| text.split(' ').map(str::to_owned).collect::<Vec<_>>();
        let scope = ["pa".to_owned()];
        for (text, names, scope, limit) in [
            ("6877 2025 vks", false, None, 20),
            ("6877 2025 vks", false, Some(&scope[..]), 20),
            ("6877 2025", false, None, 3),
            ("6877 nguyen", true, None, 20),
            ("6877 nguyen", false, None, 20),
            ("2025 kn vks", false, Some(&scope[..]), 20),
        ] {
            let words = words(text);
            let q = Query { words: &words, names, scope, limit };
            let led = find(&mut conn, &q).unwrap();
            let DbConn::Sqlite(c) = &mut **conn else { unreachable!() };
            let every = sqlite_rows(c, &fts5_match(&q), limit).unwrap();
            assert_eq!(led, every, "{text:?} names {names} scope {scope:?}");
            let fewest = rarest(c, &q).unwrap();
            assert_eq!(fewest.is_some(), text.starts_with("6877"), "{text:?} led by {fewest:?}");
            if text == "6877 nguyen" && !names {
                assert!(led.is_empty());
            } else {
                assert!(!led.is_empty(), "{text:?} found nothing");
            }
        }
    }
}
