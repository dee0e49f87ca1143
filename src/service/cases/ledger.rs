//! A case changed in memory: each change checked, recorded as a hash-chained event, then
//! written with its payments and its move in the kept figures, if nobody changed the case
//! meanwhile.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::model::*;
use super::{payment_view, ChangedBy};
use crate::domain::{check_text, now, today_local};
use crate::engine::history::{canonical_json, GENESIS};
use crate::engine::search::{fold, office_word};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::service::case_stats::{Changes, Facts};
use crate::store::cases::{self as store, CaseChange, CaseEventRow, CaseRow, PaymentRow};
use crate::store::{is_unique_violation, search, DbConn};

pub(super) fn dec(raw: &str) -> ApiResult<Decimal> {
    raw.parse().map_err(ApiError::internal)
}

pub(super) fn day(raw: &str) -> ApiResult<NaiveDate> {
    raw.parse().map_err(ApiError::internal)
}

/// What search finds a case by: its number and its judgment's, for anyone who sees it; its
/// parties' names and ID numbers, for those who may see its personal data; found by its office
/// and the offices above it.
pub fn findable(row: &CaseRow) -> search::Terms {
    let mut names = Vec::new();
    for party in [&row.obligor, &row.obligee] {
        if let Ok(person) = serde_json::from_str::<Person>(party) {
            names.push(fold(&person.name));
            names.extend(person.id_number.as_deref().map(fold));
        }
    }
    search::Terms {
        kind: search::CASE.into(),
        target_id: row.id.clone(),
        numbers: fold(&format!("{} {}", row.number, row.judgment_ref)),
        names: names.join(" "),
        scope: office_word(&row.agency_code),
    }
}

/// The hash of a case event: SHA-256 over the canonical JSON of every field but the hash.
pub(super) fn event_hash(e: &CaseEventRow) -> String {
    let data: Value = serde_json::from_str(&e.data).unwrap_or(Value::Null);
    let body = json!({
        "encoding": 1,
        "case_id": e.case_id,
        "seq": e.seq,
        "occurred_at": e.occurred_at,
        "actor_sub": e.actor_sub,
        "actor_name": e.actor_name,
        "actor_agency": e.actor_agency,
        "actor_role": e.actor_role,
        "kind": e.kind,
        "data": data,
        "prev_hash": e.prev_hash,
    });
    let mut text = String::new();
    canonical_json(&body, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A digest of the personal data, kept in the history instead of the data itself.
pub(super) fn personal_digest(obligor: &str, obligee: &str) -> String {
    let value = json!({
        "obligor": serde_json::from_str::<Value>(obligor).unwrap_or(Value::Null),
        "obligee": serde_json::from_str::<Value>(obligee).unwrap_or(Value::Null),
    });
    let mut text = String::new();
    canonical_json(&value, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A case being changed in memory: its row as it will be, the events and payments to write,
/// and its contribution as it was when loaded.
pub(super) struct Ledger {
    pub(super) row: CaseRow,
    pub(super) loaded_version: i64,
    pub(super) before: Option<Facts>,
    pub(super) payments: Vec<PaymentRow>,
    pub(super) new_events: Vec<CaseEventRow>,
    pub(super) new_payments: Vec<PaymentRow>,
    pub(super) by: ChangedBy,
    pub(super) at: i64,
}

/// What a case's first event records of it: its personal data by their digest only.
pub(super) fn opened_event(row: &CaseRow) -> Value {
    json!({
        "agency": row.agency_code, "number": row.number, "judgment_ref": row.judgment_ref,
        "court": row.court_code, "court_name": row.court_name, "category": row.category,
        "amount_due": row.amount_due, "received_on": row.received_on,
        "classification": row.classification,
        "personal_data_sha256": personal_digest(&row.obligor, &row.obligee),
    })
}

pub(super) fn refuse(code: ErrorCode, detail: impl Into<String>) -> ApiError {
    ApiError::new(code, detail)
}

pub(super) fn field_error(field: &str, reason: impl Into<String>) -> ApiError {
    ApiError::validation("the request does not fit the case", vec![FieldError::new(field, reason)])
}

impl Ledger {
    /// The ledger of a case not saved yet, with no event.
    pub(super) fn new(row: CaseRow, by: ChangedBy, at: i64) -> Ledger {
        Ledger {
            loaded_version: 0,
            before: None,
            payments: Vec::new(),
            new_events: Vec::new(),
            new_payments: Vec::new(),
            by,
            at,
            row,
        }
    }

    pub(super) fn load(conn: &mut DbConn, row: CaseRow, by: ChangedBy) -> ApiResult<Ledger> {
        let payments = store::payments_of(conn, &row.id)?;
        let before = Some(facts(&row, &payments)?);
        Ok(Ledger {
            loaded_version: row.version,
            row,
            before,
            payments,
            new_events: Vec::new(),
            new_payments: Vec::new(),
            by,
            at: now().timestamp_micros(),
        })
    }

    pub(super) fn status(&self) -> ApiResult<CaseStatus> {
        CaseStatus::parse(&self.row.status)
    }

    pub(super) fn event(&mut self, kind: &str, data: Value) {
        let mut e = CaseEventRow {
            case_id: self.row.id.clone(),
            seq: self.row.version + 1,
            occurred_at: self.at,
            actor_sub: self.by.sub.clone(),
            actor_name: self.by.name.clone(),
            actor_agency: self.by.agency.clone(),
            actor_role: self.by.role.clone(),
            kind: kind.into(),
            data: data.to_string(),
            prev_hash: self.row.last_hash.clone(),
            hash: String::new(),
        };
        e.hash = event_hash(&e);
        self.row.version = e.seq;
        self.row.last_hash = e.hash.clone();
        self.row.updated_at = self.at;
        self.new_events.push(e);
    }

    pub(super) fn check_day(&self, field: &str, on: NaiveDate) -> ApiResult<()> {
        if on > today_local() {
            return Err(field_error(field, "is in the future"));
        }
        if on.to_string() < self.row.received_on {
            return Err(field_error(
                field,
                format!("is before the case was received on {}", self.row.received_on),
            ));
        }
        Ok(())
    }

    pub(super) fn last_payment_day(&self) -> Option<String> {
        self.payments.iter().chain(&self.new_payments).map(|p| p.paid_on.clone()).max()
    }

    pub(super) fn classify(
        &mut self,
        to: Classification,
        on: Option<NaiveDate>,
        basis: &str,
        extra: Value,
    ) -> ApiResult<()> {
        let from = self.row.classification.clone();
        if from == to.as_str() {
            return Ok(());
        }
        if self.status()?.is_closed() {
            return Err(refuse(
                ErrorCode::CaseClosed,
                format!("case {} is {}", self.row.number, self.row.status),
            ));
        }
        self.row.classification = to.as_str().into();
        self.event(
            "classification",
            json!({"from": from, "to": to, "on": on, "basis": basis, "source": extra}),
        );
        Ok(())
    }

    pub(super) fn set_status(
        &mut self,
        to: CaseStatus,
        on: NaiveDate,
        basis: &str,
        extra: Value,
    ) -> ApiResult<()> {
        let from = self.status()?;
        if from == to {
            return Err(refuse(ErrorCode::ValidationFailed, format!("the case is already {}", to.as_str())));
        }
        if from.is_closed() {
            return Err(refuse(
                ErrorCode::CaseClosed,
                format!(
                    "case {} is {}; a closed case changes only by reversing a payment",
                    self.row.number,
                    from.as_str()
                ),
            ));
        }
        self.check_day("on", on)?;
        let mut data = json!({"from": from, "to": to, "on": on, "basis": basis, "source": extra});
        if to.is_closed() {
            if let Some(last) = self.last_payment_day() {
                if on.to_string() < last {
                    return Err(field_error("on", format!("is before the last payment, on {last}")));
                }
            }
            self.row.closed_on = Some(on.to_string());
            // A case carried out in full had the conditions to be: it counts as enforceable.
            if to == CaseStatus::Completed && self.row.classification != Classification::Enforceable.as_str()
            {
                data["classification"] = json!({"from": self.row.classification, "to": "enforceable"});
                self.row.classification = Classification::Enforceable.as_str().into();
            }
        } else {
            self.row.closed_on = None;
        }
        self.row.status = to.as_str().into();
        self.event("status", data);
        Ok(())
    }

    /// Takes an amount exempted or reduced off the amount due, never below what was collected.
    pub(super) fn reduce_due(
        &mut self,
        by: Decimal,
        on: NaiveDate,
        basis: &str,
        source: Value,
    ) -> ApiResult<()> {
        if self.status()?.is_closed() {
            return Err(refuse(
                ErrorCode::CaseClosed,
                format!("case {} is {}", self.row.number, self.row.status),
            ));
        }
        self.check_day("on", on)?;
        let (due, collected) = (dec(&self.row.amount_due)?, dec(&self.row.collected)?);
        let to = due - by;
        if to < collected {
            return Err(refuse(
                ErrorCode::ValidationFailed,
                format!("{by} off {due} leaves less than the {collected} already collected"),
            ));
        }
        self.row.amount_due = to.normalize().to_string();
        self.event(
            "amount_due",
            json!({"from": due.normalize().to_string(), "to": self.row.amount_due, "reduced_by": by.normalize().to_string(),
                   "on": on, "basis": basis, "source": source}),
        );
        Ok(())
    }

    /// A case for what is outstanding here, opened at `office` under `number` on `on`: the
    /// judgment, the parties and the classification carried over, with where it came from.
    pub(super) fn entrusted_copy(
        &self,
        office: &str,
        number: &str,
        on: NaiveDate,
        by: ChangedBy,
        source: Value,
    ) -> ApiResult<Ledger> {
        if number.is_empty() || number.chars().count() > 64 {
            return Err(field_error(
                "number",
                "the case at the office entrusted needs a number of 1 to 64 characters",
            ));
        }
        let outstanding = dec(&self.row.amount_due)? - dec(&self.row.collected)?;
        let row = CaseRow {
            id: Uuid::now_v7().to_string(),
            agency_code: office.to_owned(),
            number: number.to_owned(),
            amount_due: outstanding.normalize().to_string(),
            collected: "0".into(),
            received_on: on.to_string(),
            status: CaseStatus::Open.as_str().into(),
            closed_on: None,
            version: 0,
            created_at: self.at,
            updated_at: self.at,
            last_hash: GENESIS.into(),
            ..self.row.clone()
        };
        let mut opened = Ledger::new(row, by, self.at);
        let mut data = opened_event(&opened.row);
        data["entrusted_by"] =
            json!({"case_id": self.row.id, "agency": self.row.agency_code, "number": self.row.number});
        data["source"] = source;
        opened.event("opened", data);
        Ok(opened)
    }

    pub(super) fn pay(&mut self, p: &NewPayment, source: Option<(&str, i64)>) -> ApiResult<Payment> {
        let note = p.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
        if let Some(n) = &note {
            check_text(n).map_err(|r| field_error("note", r))?;
            if n.chars().count() > 1000 {
                return Err(field_error("note", "is longer than 1000 characters"));
            }
        }
        self.check_day("paid_on", p.paid_on)?;
        let due = dec(&self.row.amount_due)?;
        let collected = dec(&self.row.collected)?;
        let amount = match p.reverses {
            None => {
                if p.amount.value().is_zero() {
                    return Err(field_error("amount", "must be above zero"));
                }
                if self.status()?.is_closed() {
                    return Err(refuse(
                        ErrorCode::CaseClosed,
                        format!("case {} is {}: it takes no more payments", self.row.number, self.row.status),
                    ));
                }
                if collected + p.amount.value() > due {
                    return Err(refuse(
                        ErrorCode::OverCollection,
                        format!(
                            "{} would bring the collected amount to {} of {} due; {} is outstanding",
                            p.amount,
                            collected + p.amount.value(),
                            due,
                            due - collected
                        ),
                    ));
                }
                p.amount.value()
            }
            Some(reversed) => {
                let reversed = reversed.to_string();
                let original = self
                    .payments
                    .iter()
                    .chain(&self.new_payments)
                    .find(|x| x.id == reversed)
                    .ok_or_else(|| field_error("reverses", "names no payment of this case"))?;
                let original_amount = dec(&original.amount)?;
                if original_amount.is_sign_negative() {
                    return Err(field_error("reverses", "names a reversal; record a new payment instead"));
                }
                if self
                    .payments
                    .iter()
                    .chain(&self.new_payments)
                    .any(|x| x.reverses.as_deref() == Some(&reversed))
                {
                    return Err(field_error("reverses", "that payment is already reversed"));
                }
                if original_amount != p.amount.value() {
                    return Err(field_error(
                        "amount",
                        format!("must be the reversed payment's amount, {original_amount}"),
                    ));
                }
                if p.paid_on.to_string() < original.paid_on {
                    return Err(field_error(
                        "paid_on",
                        format!("is before the reversed payment, on {}", original.paid_on),
                    ));
                }
                match self.status()? {
                    CaseStatus::Completed => {
                        let reason = format!("payment {reversed} reversed");
                        self.row.status = CaseStatus::Open.as_str().into();
                        self.row.closed_on = None;
                        self.event(
                            "status",
                            json!({"from": "completed", "to": "open", "on": p.paid_on, "basis": reason}),
                        );
                    }
                    CaseStatus::Terminated | CaseStatus::Entrusted => {
                        return Err(refuse(
                            ErrorCode::CaseClosed,
                            format!("case {} is {}: its payments stand", self.row.number, self.row.status),
                        ))
                    }
                    CaseStatus::Open | CaseStatus::Suspended => {}
                }
                -original_amount
            }
        };
        let after = collected + amount;
        self.row.collected = after.normalize().to_string();
        let id = Uuid::now_v7().to_string();
        let method = p.method.as_str().to_owned();
        self.event(
            "payment",
            json!({
                "payment_id": id, "amount": amount.normalize().to_string(), "paid_on": p.paid_on, "method": method,
                "reverses": p.reverses, "note": note, "collected": self.row.collected,
                "instance_id": source.map(|s| s.0), "instance_seq": source.map(|s| s.1),
            }),
        );
        let row = PaymentRow {
            id,
            case_id: self.row.id.clone(),
            agency_code: self.row.agency_code.clone(),
            case_seq: self.row.version,
            amount: amount.normalize().to_string(),
            paid_on: p.paid_on.to_string(),
            method,
            reverses: p.reverses.map(|r| r.to_string()),
            instance_id: source.map(|s| s.0.to_owned()),
            instance_seq: source.map(|s| s.1),
            note,
            recorded_at: self.at,
            recorded_by: format!("{}/{}", self.by.agency, self.by.sub),
        };
        self.new_payments.push(row.clone());
        if p.reverses.is_none() && !due.is_zero() && after == due {
            let on = self.last_payment_day().and_then(|d| d.parse().ok()).unwrap_or(p.paid_on);
            self.set_status(CaseStatus::Completed, on, "collected in full", Value::Null)?;
        }
        payment_view(row)
    }

    /// Writes what changed; the case must still be at the version it was loaded at.
    pub(super) fn save(self, conn: &mut DbConn, changes: &mut Changes, new: bool) -> ApiResult<CaseRow> {
        if new {
            store::insert(conn, &self.row).map_err(|e| {
                if is_unique_violation(&e) {
                    ApiError::new(
                        ErrorCode::AlreadyExists,
                        format!(
                            "office {} already has a case numbered {:?}",
                            self.row.agency_code, self.row.number
                        ),
                    )
                } else {
                    e.into()
                }
            })?;
            search::put(conn, &findable(&self.row))?;
        } else if !self.new_events.is_empty() {
            let change = CaseChange {
                amount_due: self.row.amount_due.clone(),
                collected: self.row.collected.clone(),
                classification: self.row.classification.clone(),
                status: self.row.status.clone(),
                closed_on: self.row.closed_on.clone(),
                version: self.row.version,
                updated_at: self.row.updated_at,
                last_hash: self.row.last_hash.clone(),
            };
            if !store::change(conn, &self.row.id, self.loaded_version, &change)? {
                return Err(stale(&self.row.id));
            }
        }
        for e in &self.new_events {
            store::insert_event(conn, e)?;
        }
        for p in &self.new_payments {
            store::insert_payment(conn, p)?;
        }
        let all: Vec<PaymentRow> = self.payments.iter().chain(&self.new_payments).cloned().collect();
        changes.replace(self.before.as_ref(), &facts(&self.row, &all)?);
        Ok(self.row)
    }
}

pub(super) fn stale(id: &str) -> ApiError {
    ApiError::new(ErrorCode::VersionConflict, format!("case {id} changed meanwhile; read it again and retry"))
}

pub(super) fn facts(row: &CaseRow, payments: &[PaymentRow]) -> ApiResult<Facts> {
    let dated =
        payments.iter().map(|p| Ok((day(&p.paid_on)?, dec(&p.amount)?))).collect::<ApiResult<Vec<_>>>()?;
    Facts::of(row, dated)
}
