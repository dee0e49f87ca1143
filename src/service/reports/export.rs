//! The reports' tables as CSV, for the spreadsheets offices keep.

use super::percent;
use super::table::{Cell, Table};
use crate::error::{ApiError, ApiResult};

/// A cell as the CSV writes it: a rate or gap with its two places, a target as set, a date as
/// ISO 8601, nothing for an empty cell.
fn text(cell: &Cell) -> String {
    match cell {
        Cell::Text(s) => s.clone(),
        Cell::Date(d) => d.to_string(),
        Cell::Count(n) => n.to_string(),
        Cell::Money(d) | Cell::Target(d) => d.to_string(),
        Cell::Rate(d) => percent(d),
        Cell::Empty => String::new(),
    }
}

impl Table {
    /// The table as CSV under its columns' keys, after a UTF-8 byte-order mark: without it
    /// Excel reads the Vietnamese letters as another code page's.
    pub fn csv(&self) -> ApiResult<String> {
        let mut w = ::csv::Writer::from_writer(Vec::new());
        w.write_record(&self.keys).map_err(ApiError::internal)?;
        for row in &self.rows {
            w.write_record(row.iter().map(text)).map_err(ApiError::internal)?;
        }
        let bytes = w.into_inner().map_err(ApiError::internal)?;
        let text = String::from_utf8(bytes).map_err(ApiError::internal)?;
        Ok(format!("{BOM}{text}"))
    }
}

/// The byte-order mark a CSV starts with.
pub const BOM: char = '\u{FEFF}';
