//! One scenario per workflow of the catalogue, through HTTP with the tokens of the agencies
//! of one seed province: the main path, an alternative path, and refusals.

mod asset_seizure_auction;
mod coercion_plan;
pub(crate) mod common;
mod complaint;
mod condition_verification;
mod court_explanation;
mod court_transfer;
mod denunciation;
mod entrustment;
mod evidence_handover;
mod exemption_reduction;
mod information_request;
mod judgment_review;
mod procuracy_supervision;
mod soc_trang_2023;
