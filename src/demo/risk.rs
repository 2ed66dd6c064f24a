//! The demo's rows for the inspection's other checks (`risk_checks`): the kind of custodial
//! sentence, domestic-abuse and child-safeguarding enquiries, risk assessments and RoSH
//! changes, contact before release, and the handover of custody cases nobody holds.
//!
//! Calibrated so that at the anchor date the six inspected PDUs together show what the
//! inspectorate found (letter on London, November 2022, and its press release): about 36%
//! of domestic-abuse enquiries made (checks missed in 64% of cases), about 40% of releases
//! with contact before release (46 of 116), about a third with the risks of harm assessed
//! before release (32 of 101), and a start-of-custody assessment backlog of a few hundred
//! across London (436); HFKCW worst, the PDUs not inspected clearly better.
//!
//! Drawn from a stream of its own, after the main stream has drawn each case: the cases,
//! allocations, contacts and oversight of the main stream, and every figure calibrated on
//! them, stay as they were. What this changes of them: release dates (to the handover and
//! pre-release contact plans) and a contact before release added only where the case has a
//! later one, so that no case's last contact moves (a custody case, which the contact
//! clock exempts, may get its first).

use rand::Rng;

use super::{CaseFacts, Gen, PduPlan, Standing, Writer};
use crate::domain::{AssessmentKind, CustodyKind, EnquiryKind, Rosh};
use crate::risk_checks::RECENT_RELEASE_DAYS;
use rusqlite::params;

/// Seeds the risk rows' stream from the demo's seed ("risk").
pub(super) const STREAM: u64 = 0x7269_736b;

/// How well one PDU does the inspection's other checks: the chance of each thing being done.
#[derive(Debug, Clone, Copy)]
pub(super) struct RiskPlan {
    /// A case that needs them has a domestic-abuse / child-safeguarding enquiry requested.
    da_requested: f64,
    cs_requested: f64,
    /// A request has come back.
    returned: f64,
    /// A CUSTODY case sentenced in the last year has no assessment since sentence (the
    /// start-of-custody backlog); an older one, a tenth as often.
    custody_unassessed: f64,
    /// Another case has none.
    unassessed: f64,
    /// The initial assessment came after its due date.
    initial_late: f64,
    /// The latest assessment is within the review interval.
    review_on_time: f64,
    /// A RoSH change was reviewed.
    change_reviewed: f64,
    /// A contact / a pre-release assessment in the window before release.
    pre_release_contact: f64,
    pre_release_assessment: f64,
    /// An unallocated CUSTODY case is past its handover date (the others wait for it).
    handover_missed: f64,
}

/// The six inspected PDUs' plans, in [`RiskPlan`]'s order: domestic-abuse and safeguarding
/// enquiries requested, returned; custody cases unassessed, initial assessments late,
/// reviews on time (and RoSH changes reviewed); contact and assessment before release;
/// handovers missed. Set so that the six together give the published figures, HFKCW worst.
#[rustfmt::skip]
const INSPECTED: [(&str, [f64; 9]); 6] = [
    //         DA    CS    back  unass late  review contact assess missed
    ("HFKCW", [0.22, 0.30, 0.55, 0.55, 0.40, 0.30, 0.20, 0.18, 0.85]),
    ("LAM",   [0.36, 0.45, 0.65, 0.35, 0.25, 0.45, 0.48, 0.36, 0.60]),
    ("EAH",   [0.38, 0.46, 0.65, 0.32, 0.25, 0.45, 0.48, 0.36, 0.55]),
    ("LAB",   [0.35, 0.44, 0.62, 0.35, 0.25, 0.45, 0.48, 0.36, 0.60]),
    ("NEW",   [0.43, 0.50, 0.70, 0.25, 0.20, 0.50, 0.50, 0.38, 0.50]),
    ("BDH",   [0.43, 0.50, 0.70, 0.25, 0.20, 0.50, 0.50, 0.38, 0.50]),
];

impl RiskPlan {
    /// The six inspected PDUs as the inspection found them ([`INSPECTED`]); the others from
    /// how well they keep up oversight.
    pub(super) fn of(p: &PduPlan) -> RiskPlan {
        if let Some((
            _,
            [
                da,
                cs,
                back,
                unassessed,
                late,
                review,
                contact,
                assess,
                missed,
            ],
        )) = INSPECTED.iter().find(|(code, _)| *code == p.code)
        {
            return RiskPlan {
                da_requested: *da,
                cs_requested: *cs,
                returned: *back,
                custody_unassessed: *unassessed,
                unassessed: unassessed / 10.0,
                initial_late: *late,
                review_on_time: *review,
                change_reviewed: *review,
                pre_release_contact: *contact,
                pre_release_assessment: *assess,
                handover_missed: *missed,
            };
        }
        // 8% to 30% of oversight overdue: 77% to 90% of enquiries made.
        let o = p.oversight_overdue;
        RiskPlan {
            da_requested: 0.95 - 0.6 * o,
            cs_requested: 0.97 - 0.6 * o,
            returned: 0.92,
            custody_unassessed: 0.06,
            unassessed: 0.006,
            initial_late: 0.10,
            review_on_time: 0.80,
            change_reviewed: 0.85,
            pre_release_contact: 0.97 - 0.6 * o,
            pre_release_assessment: 0.92 - 0.7 * o,
            handover_missed: 0.08,
        }
    }
}

/// What the case row keeps of a case's risk rows (the values `schema::RISK_TRIGGERS` would
/// compute from them), and its custody kind and RoSH change.
#[derive(Default)]
pub(super) struct RiskColumns<'d> {
    pub custody_kind: Option<&'static str>,
    pub rosh_changed_on: Option<&'d str>,
    /// A case has at most one request of each kind: the first and the latest.
    pub da_requested: Option<&'d str>,
    pub da_returned: Option<&'d str>,
    pub cs_requested: Option<&'d str>,
    pub cs_returned: Option<&'d str>,
    pub first_assessed: Option<&'d str>,
    pub last_assessed: Option<&'d str>,
    pub pre_release_assessed: Option<&'d str>,
}

/// The assessments written for one case, folded as `schema::RISK_TRIGGERS` fold them, in
/// days before the anchor.
#[derive(Default)]
struct Assessed {
    /// Since sentence (inclusive): the first and the latest.
    first: Option<u64>,
    last: Option<u64>,
    /// The latest `pre_release` one before release.
    pre_release: Option<u64>,
}

impl<'d> Gen<'d> {
    /// Shapes the case's release to the PDU's plan, draws its custody kind, its contact
    /// before release, enquiries and assessments, and writes them; returns what its row
    /// keeps of them.
    pub(super) fn risk_rows<'s>(
        &mut self,
        w: &mut Writer,
        plan: &RiskPlan,
        case: &mut CaseFacts,
        standing: &mut Standing<'s>,
    ) -> rusqlite::Result<RiskColumns<'d>>
    where
        'd: 's,
    {
        let mut out = RiskColumns::default();
        if case.release.is_some() {
            self.shape_release(w, plan, case, standing)?;
            let kind = self.custody_kind(case);
            out.custody_kind = Some(kind.as_str());
        }
        let (da, cs) = self.enquiries(w, plan, case)?;
        (out.da_requested, out.da_returned) = da;
        (out.cs_requested, out.cs_returned) = cs;
        if let Some(rosh) = case.rosh {
            let (a, changed) = self.assessments(w, plan, case, rosh)?;
            let d = self.dates;
            out.rosh_changed_on = changed.map(|k| d.ago(k));
            out.first_assessed = a.first.map(|k| d.ago(k));
            out.last_assessed = a.last.map(|k| d.ago(k));
            out.pre_release_assessed = a.pre_release.map(|k| d.ago(k));
        }
        Ok(out)
    }

    /// The release date and the contact before it:
    /// - a CUSTODY case nobody holds is either past its handover date (as often as the plan
    ///   says) or released far enough ahead to be waiting for it;
    /// - a case released in the last 12 weeks had a contact in the window before release as
    ///   often as the plan says: one is added before the case's later contacts, or the
    ///   release is moved to on or before its earliest contact (its first appointment);
    /// - a CUSTODY case released in the next 12 weeks has had one as often, by its holder.
    fn shape_release<'s>(
        &mut self,
        w: &mut Writer,
        plan: &RiskPlan,
        case: &mut CaseFacts,
        standing: &mut Standing<'s>,
    ) -> rusqlite::Result<()>
    where
        'd: 's,
    {
        let Some(release) = case.release else {
            return Ok(());
        };
        let window = u64::from(self.policy.release.contact_window_days);
        let rng = &mut self.risk;
        let s = case.sentence_ago;
        if case.case_type == "CUSTODY" {
            let Some(alloc_ago) = standing.alloc_ago else {
                // Inside the standard handover period less the grace (8 months 14 days and
                // 14 days, about 243 days), or beyond the longest (12 months).
                let ahead = if rng.random_bool(plan.handover_missed) {
                    rng.random_range(60..240)
                } else {
                    rng.random_range(400..900)
                };
                case.release = Some(ahead);
                return Ok(());
            };
            let ahead = release as u64;
            if ahead <= window && rng.random_bool(plan.pre_release_contact) {
                // The window opened `window - ahead` days ago; the holder had the case by then.
                let on = rng.random_range(0..=(window - ahead).min(alloc_ago));
                self.pre_release_contact(w, case, standing, on)?;
                // The first contact of a custody case, so its last.
                standing.last_contact = Some(self.dates.ago(on));
            }
            return Ok(());
        }
        let r = release.unsigned_abs();
        if r > u64::from(RECENT_RELEASE_DAYS) {
            return Ok(());
        }
        let c = standing.contacts;
        let in_window = |k: Option<u64>| k.is_some_and(|k| k > r && k <= r + window);
        let met = in_window(c.latest) || in_window(c.earliest);
        if rng.random_bool(plan.pre_release_contact) {
            // Added only before a contact since release, by a holder who had the case then.
            if let (false, Some(latest), Some(alloc_ago)) = (met, c.latest, standing.alloc_ago)
                && latest <= r
            {
                let hi = (r + window).min(alloc_ago).min(s);
                if r < hi {
                    let on = rng.random_range(r + 1..=hi);
                    self.pre_release_contact(w, case, standing, on)?;
                }
            }
        } else if met {
            // Released on or after its earliest contact: none before release.
            let earliest = c.earliest.unwrap_or(0);
            let hi = u64::from(RECENT_RELEASE_DAYS).min(s - 1);
            if earliest <= hi {
                case.release = Some(-(rng.random_range(earliest..=hi) as i64));
            }
        }
        Ok(())
    }

    fn pre_release_contact(
        &mut self,
        w: &mut Writer,
        case: &CaseFacts,
        standing: &Standing<'_>,
        on: u64,
    ) -> rusqlite::Result<()> {
        let kind = ["face_to_face", "video"][self.risk.random_range(0..2)];
        w.rows.contacts.push(params![
            case.crn,
            self.dates.ago(on),
            kind,
            standing.allocated_to
        ])?;
        w.stats.contacts += 1;
        Ok(())
    }

    /// Mostly standard; parole-eligible for some of the long sentences (two years or more
    /// from sentence to release), indeterminate for a few of the longest (four years or
    /// more), a third of whose CUSTODY cases have no release date yet (no tariff set).
    fn custody_kind(&mut self, case: &mut CaseFacts) -> CustodyKind {
        let rng = &mut self.risk;
        let Some(release) = case.release else {
            return CustodyKind::Standard;
        };
        let term = case.sentence_ago as i64 + release;
        let x = rng.random_range(0..100);
        if term >= 4 * 365 && x < 10 {
            if case.case_type == "CUSTODY" && release > 365 && rng.random_bool(0.3) {
                case.release = None;
            }
            CustodyKind::Indeterminate
        } else if term >= 2 * 365 && x < 30 {
            CustodyKind::ParoleEligible
        } else {
            CustodyKind::Standard
        }
    }

    /// At most one request of each kind: for a case that needs them (every COMMUNITY and
    /// LICENCE case; a CUSTODY case once release is within the policy's year), as often as
    /// the plan says; some before they were due (at court), most within the period, some
    /// late. Returns each kind's request and return dates.
    #[allow(clippy::type_complexity)] // two pairs of dates
    fn enquiries(
        &mut self,
        w: &mut Writer,
        plan: &RiskPlan,
        case: &CaseFacts,
    ) -> rusqlite::Result<(
        (Option<&'d str>, Option<&'d str>),
        (Option<&'d str>, Option<&'d str>),
    )> {
        let q = &self.policy.enquiries;
        let s = case.sentence_ago;
        // Needed from this many days ago.
        let from = match (case.case_type, case.release) {
            ("CUSTODY", None) => None,
            ("CUSTODY", Some(ahead)) => {
                let within = i64::from(q.custody_release_within_days);
                (ahead <= within).then(|| s.min((within - ahead) as u64))
            }
            _ => Some(s),
        };
        let Some(from) = from else {
            return Ok(((None, None), (None, None)));
        };
        let within = u64::from(q.request_within_days);
        let back = u64::from(q.return_within_days);
        let mut out = [(None, None); 2];
        for (i, (kind, chance)) in [
            (EnquiryKind::DomesticAbuse, plan.da_requested),
            (EnquiryKind::ChildSafeguarding, plan.cs_requested),
        ]
        .into_iter()
        .enumerate()
        {
            let rng = &mut self.risk;
            if !rng.random_bool(chance) {
                continue;
            }
            let requested = match rng.random_range(0..100) {
                0..15 => from + rng.random_range(1..=20),
                15..75 => from.saturating_sub(rng.random_range(0..=within)),
                _ => from.saturating_sub(rng.random_range(within + 1..=within + 110)),
            };
            let returned = if rng.random_bool(plan.returned) {
                let took = if rng.random_bool(0.8) {
                    rng.random_range(2..=back)
                } else {
                    rng.random_range(back + 1..=3 * back)
                };
                requested.checked_sub(took)
            } else {
                None
            };
            let outcome = returned.map(|_| match rng.random_range(0..100) {
                0..55 => "no_concerns",
                55..85 => "concerns",
                _ => "no_record",
            });
            let d = self.dates;
            let (requested, returned) = (d.ago(requested), returned.map(|k| d.ago(k)));
            w.rows.enquiries.push(params![
                case.crn,
                kind.as_str(),
                requested,
                returned,
                outcome
            ])?;
            w.stats.enquiries += 1;
            out[i] = (Some(requested), returned);
        }
        Ok((out[0], out[1]))
    }

    /// A case with a RoSH level has been assessed: an initial assessment after sentence (on
    /// time or late), or only one at court before it (the backlog); the latest review within
    /// the interval or not; for a few, a RoSH change, reviewed or not; and before release, a
    /// pre-release assessment as often as the plan says. A case with no RoSH level has no
    /// assessment. Returns them folded and the RoSH change, if any.
    fn assessments(
        &mut self,
        w: &mut Writer,
        plan: &RiskPlan,
        case: &CaseFacts,
        rosh: Rosh,
    ) -> rusqlite::Result<(Assessed, Option<u64>)> {
        let a = &self.policy.assessments;
        let (initial_within, interval) = (
            u64::from(a.initial_within_days),
            u64::from(a.review_interval_days),
        );
        let window = u64::from(a.pre_release_window_days);
        let s = case.sentence_ago;
        let rng = &mut self.risk;
        let unassessed = if case.case_type == "CUSTODY" {
            if s < 365 {
                plan.custody_unassessed
            } else {
                plan.custody_unassessed / 10.0
            }
        } else {
            plan.unassessed
        };
        // The RoSH level before a change: one step lower (a rise is what needs the review).
        let changed = (rng.random_bool(0.03) && rosh != Rosh::Low).then_some(match rosh {
            Rosh::VeryHigh => Rosh::High,
            Rosh::High => Rosh::Medium,
            _ => Rosh::Low,
        });
        let mut rows: [Option<(AssessmentKind, u64, Rosh)>; 3] = [None; 3];
        let mut change_on = None;
        if rng.random_bool(unassessed) {
            rows[0] = Some((AssessmentKind::Initial, s + rng.random_range(3..=40), rosh));
        } else {
            let delay = if rng.random_bool(plan.initial_late) {
                rng.random_range(initial_within + 1..=90)
            } else {
                rng.random_range(1..=initial_within)
            };
            let initial = s.saturating_sub(delay);
            match changed {
                Some(before) if initial > 2 => {
                    let on = rng.random_range(1..initial.min(150));
                    change_on = Some(on);
                    rows[0] = Some((AssessmentKind::Initial, initial, before));
                    rows[1] = if rng.random_bool(plan.change_reviewed) {
                        let after = rng.random_range(0..=on.min(10));
                        Some((AssessmentKind::Review, on - after, rosh))
                    } else if on + 1 < initial && rng.random_bool(0.5) {
                        Some((
                            AssessmentKind::Review,
                            rng.random_range(on + 1..initial),
                            before,
                        ))
                    } else {
                        None
                    };
                }
                _ => {
                    rows[0] = Some((AssessmentKind::Initial, initial, rosh));
                    rows[1] = if initial <= interval {
                        None
                    } else if rng.random_bool(plan.review_on_time) {
                        Some((AssessmentKind::Review, rng.random_range(0..interval), rosh))
                    } else if initial > interval + 1 && rng.random_bool(0.5) {
                        let on = rng.random_range(interval + 1..initial);
                        Some((AssessmentKind::Review, on, rosh))
                    } else {
                        None
                    };
                }
            }
        }
        // In the window before release, after sentence and not after the anchor.
        let pre_release = match case.release {
            // Released (today's release counts: the window has closed).
            Some(rel) if rel <= 0 => {
                let r = rel.unsigned_abs();
                let hi = (r + window).min(s);
                (r < hi && rng.random_bool(plan.pre_release_assessment))
                    .then(|| rng.random_range(r + 1..=hi))
            }
            Some(ahead) => {
                // The window is open: done by now in proportion to how long it has been.
                let open = window.saturating_sub(ahead as u64).min(s);
                let chance = plan.pre_release_assessment * open as f64 / window as f64;
                (open > 0 && rng.random_bool(chance)).then(|| rng.random_range(0..=open))
            }
            None => None,
        };
        rows[2] = pre_release.map(|on| (AssessmentKind::PreRelease, on, rosh));

        let mut folded = Assessed::default();
        for (kind, on, level) in rows.into_iter().flatten() {
            w.rows.assessments.push(params![
                case.crn,
                kind.as_str(),
                self.dates.ago(on),
                level.as_str()
            ])?;
            w.stats.assessments += 1;
            if on <= s {
                folded.first = folded.first.max(Some(on));
                folded.last = Some(folded.last.map_or(on, |l| l.min(on)));
            }
            let before_release = match case.release {
                Some(rel) if rel <= 0 => on > rel.unsigned_abs(),
                Some(_) => true,
                None => false,
            };
            if kind == AssessmentKind::PreRelease && before_release {
                folded.pre_release = Some(folded.pre_release.map_or(on, |p| p.min(on)));
            }
        }
        Ok((folded, change_on))
    }
}
