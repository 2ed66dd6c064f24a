//! The region as last read: its PDUs, their statuses, alerts and incidents, the one answer
//! every screen reads from (the overview's rows, a PDU's header and trend, the incidents).

use std::collections::HashMap;

use super::app::{Gens, Slot};
use super::worker::{OverviewData, Request};
use crate::alerts::{ReviewedAlert, Status as AlertStatus};
use crate::rules::{Level, Severity};
use crate::store::read::PduSummary;

/// A PDU's place on the status ladder, with what put it there, from the review's statuses
/// (PDU rules only: a case alert somewhere never makes a whole PDU critical).
#[derive(Debug, Clone, PartialEq)]
pub struct PduInfo {
    pub status: Level,
    /// The first reason, if any rule fired.
    pub reason: Option<String>,
    /// Open alerts by severity: (critical, high, warning).
    pub counts: (usize, usize, usize),
}

/// Open alerts of a PDU by severity: (critical, high, warning).
pub fn alert_counts(alerts: &[ReviewedAlert], pdu: &str) -> (usize, usize, usize) {
    let mut c = (0, 0, 0);
    for a in alerts
        .iter()
        .filter(|a| &*a.pdu == pdu && a.status != AlertStatus::Resolved)
    {
        match a.severity {
            Severity::Critical => c.0 += 1,
            Severity::High => c.1 += 1,
            Severity::Warning => c.2 += 1,
        }
    }
    c
}

#[derive(Debug, Clone, Default)]
pub struct Region {
    pub data: Option<std::sync::Arc<OverviewData>>,
    /// Per PDU: status and open alerts by severity, counted once when the overview arrives
    /// (a national region has tens of thousands of alerts; sorting and drawing look these up).
    pub pdu_info: HashMap<String, PduInfo>,
    /// Alert key to its index in `data.alerts`, for an incident's members.
    pub alert_index: HashMap<String, usize>,
    pub loading: bool,
    pub error: Option<String>,
}

impl Region {
    /// A PDU's place on the status ladder (OK when no PDU rule holds).
    pub fn pdu_status(&self, pdu: &str) -> Level {
        self.pdu_info.get(pdu).map_or(Level::Ok, |a| a.status)
    }

    /// The first reason for a PDU's status, if any.
    pub fn pdu_reason(&self, pdu: &str) -> Option<&str> {
        self.pdu_info.get(pdu).and_then(|a| a.reason.as_deref())
    }

    /// A PDU's open alerts by severity: (critical, high, warning).
    pub fn pdu_alert_counts(&self, pdu: &str) -> (usize, usize, usize) {
        self.pdu_info.get(pdu).map_or((0, 0, 0), |a| a.counts)
    }

    /// How many PDUs of the region stand at each level, worst first.
    pub fn level_counts(&self) -> [(Level, usize); 4] {
        let pdus = self.data.as_ref().map_or(&[][..], |o| &o.pdus[..]);
        Level::ALL.map(|l| {
            (
                l,
                pdus.iter()
                    .filter(|p| self.pdu_status(&p.code) == l)
                    .count(),
            )
        })
    }

    /// A PDU's figures, if the region has it.
    pub fn summary(&self, code: &str) -> Option<&PduSummary> {
        self.data.as_ref()?.pdus.iter().find(|p| p.code == code)
    }

    /// Asks for the region on screen afresh.
    pub fn request(&mut self, gens: &mut Gens) -> Request {
        let region = self.data.as_ref().map(|o| o.region.clone());
        self.request_of(gens, region)
    }

    /// Asks for `region` (None: the default one).
    pub fn request_of(&mut self, gens: &mut Gens, region: Option<String>) -> Request {
        let generation = gens.stamp(Slot::Overview);
        self.loading = true;
        Request::Overview { generation, region }
    }

    /// Takes the answer in, counting each PDU's status and alerts once; whether the region
    /// was read.
    pub fn loaded(
        &mut self,
        result: Result<std::sync::Arc<OverviewData>, crate::tui::worker::Failure>,
    ) -> bool {
        self.loading = false;
        let d = match result {
            Ok(d) => d,
            Err(e) => {
                self.error = Some(e.to_string());
                return false;
            }
        };
        self.error = None;
        let statuses: HashMap<&str, &crate::incidents::PduStatus> =
            d.statuses.iter().map(|s| (s.pdu.as_str(), s)).collect();
        self.pdu_info = d
            .pdus
            .iter()
            .map(|p| {
                let st = statuses.get(p.code.as_str());
                let info = PduInfo {
                    status: st.map_or(Level::Ok, |s| s.status),
                    reason: st.and_then(|s| s.status_reasons.first().cloned()),
                    counts: alert_counts(&d.alerts, &p.code),
                };
                (p.code.clone(), info)
            })
            .collect();
        self.alert_index = d
            .alerts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.key(), i))
            .collect();
        self.data = Some(d);
        true
    }
}
