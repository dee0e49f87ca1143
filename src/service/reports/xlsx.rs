//! The reports' tables as XLSX workbooks: one worksheet under the columns' Vietnamese titles,
//! figures stored as numbers and dates as dates, so that offices can sum and sort them.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use rust_xlsxwriter::{Format, Workbook};

use super::table::{Cell, Table};
use crate::error::{ApiError, ApiResult};

// Number formats. In a format code `,` always stands for the thousands separator and `.` for
// the decimal point; readers show them as a locale writes them. The tag `[$-42A]` (vi-VN) names
// Vietnamese as the figures' locale, so readers that format by it (LibreOffice) show
// 1.026.755.382.000 and 97,23 wherever they run; Excel always takes the separators from its
// system's settings, which on a Vietnamese system are the same.

/// Whole numbers: counts, seconds, whole amounts of đồng.
const WHOLE: &str = "[$-42A]#,##0";
/// Amounts with a part of a đồng, and percentages, with two places.
const TWO_PLACES: &str = "[$-42A]#,##0.00";
/// Dates as Vietnamese readers write them.
const DATE: &str = "dd/mm/yyyy";

/// The workbook's formats, made once.
struct Formats {
    header: Format,
    whole: Format,
    two_places: Format,
    date: Format,
}

/// A decimal as the number a cell holds. An XLSX number is a double, so the exact decimal
/// becomes one here, as it is written, and nowhere else.
fn double(d: &Decimal) -> ApiResult<f64> {
    d.to_f64().ok_or_else(|| ApiError::internal(format!("{d} has no double")))
}

impl Table {
    /// The table as an XLSX workbook of one worksheet: the titles in bold on the first row,
    /// kept in view, each figure with its number format.
    pub fn xlsx(&self) -> ApiResult<Vec<u8>> {
        let f = Formats {
            header: Format::new().set_bold().set_text_wrap(),
            whole: Format::new().set_num_format(WHOLE),
            two_places: Format::new().set_num_format(TWO_PLACES),
            date: Format::new().set_num_format(DATE),
        };
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name(self.sheet).map_err(ApiError::internal)?;
        for (c, title) in (0u16..).zip(&self.titles) {
            sheet.write_string_with_format(0, c, *title, &f.header).map_err(ApiError::internal)?;
        }
        for (r, row) in (1u32..).zip(&self.rows) {
            for (c, cell) in (0u16..).zip(row) {
                let written = match cell {
                    Cell::Text(s) if s.is_empty() => continue,
                    Cell::Text(s) => sheet.write_string(r, c, s.as_str()),
                    Cell::Date(d) => sheet.write_date_with_format(r, c, d, &f.date),
                    // Counts stay far below 2^53, where a double holds every whole number.
                    Cell::Count(n) => sheet.write_number_with_format(r, c, *n as f64, &f.whole),
                    Cell::Money(d) if d.fract().is_zero() => {
                        sheet.write_number_with_format(r, c, double(d)?, &f.whole)
                    }
                    Cell::Money(d) | Cell::Rate(d) | Cell::Target(d) => {
                        sheet.write_number_with_format(r, c, double(d)?, &f.two_places)
                    }
                    Cell::Empty => continue,
                };
                written.map_err(ApiError::internal)?;
            }
        }
        sheet.set_freeze_panes(1, 0).map_err(ApiError::internal)?;
        sheet.set_autofit_max_width(320).autofit();
        book.save_to_buffer().map_err(ApiError::internal)
    }
}
