//! casewatch: a terminal monitor that keeps probation cases from falling through the cracks.
//!
//! The headless core (`domain`, `policy`, `store`, `demo`, `report`) never touches the
//! terminal; `tui` is the only module that knows ratatui.

pub mod actions;
pub mod alerts;
pub mod chart;
pub mod cli;
pub mod config;
pub mod context;
pub mod demo;
pub mod domain;
pub mod eligibility;
pub mod equity;
pub mod export;
pub mod filter;
pub mod forecast;
#[doc(hidden)]
pub mod fuzzcheck;
pub mod import;
pub mod incidents;
pub mod outliers;
pub mod policy;
pub mod report;
pub mod risk_checks;
pub mod risk_lists;
pub mod risk_memo;
pub mod rules;
pub mod store;
pub mod text;
pub mod tui;
