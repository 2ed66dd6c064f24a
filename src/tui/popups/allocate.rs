//! The allocation form: suitable officers first (best fit preselected), then the rest with
//! the reason each is not suitable; a reason from the list, a rationale, and a second Enter
//! for a choice that needs confirming.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::text::{Line, Span};

use super::{Form, cycle, push_text};
use crate::actions::{self, Candidate};
use crate::domain::AllocationReason;
use crate::tui::event::{Ctx, EventState};
use crate::tui::widgets::{DrawCtx, clean};
use crate::tui::worker::{Act, Request};

/// Which part of the allocation form takes the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocateFocus {
    /// j/k, g/G, PgUp/PgDn move; letters are commands.
    List,
    /// Typing narrows the list (`/`).
    Filter,
    /// Typing writes the rationale (Tab).
    Rationale,
}

/// The allocation picker: suitable officers first (best fit preselected), then the rest
/// with the reason each is not suitable; a reason from the list and a rationale.
#[derive(Debug, Clone, PartialEq)]
pub struct AllocatePopup {
    pub crn: String,
    /// The case as read when the form (re)opened, who holds it, and the officers.
    pub picker: Option<Box<actions::Picker>>,
    /// Index into [`AllocatePopup::visible`].
    pub selected: usize,
    pub filter: String,
    pub focus: AllocateFocus,
    pub reason: AllocationReason,
    pub note: String,
    pub sensitive: bool,
    /// Set after the first Enter on a choice that needs confirming: Enter again allocates.
    pub confirming: bool,
    pub error: Option<String>,
    /// What changed since the form opened, when a write found the case changed.
    pub changed: Option<String>,
}

/// Rows a page key moves in the picker.
pub const PICKER_PAGE: usize = 10;

impl AllocatePopup {
    /// The form for `crn`, before its officers are read.
    pub fn new(crn: String) -> AllocatePopup {
        AllocatePopup {
            crn,
            picker: None,
            selected: 0,
            filter: String::new(),
            focus: AllocateFocus::List,
            reason: AllocationReason::InitialAllocation,
            note: String::new(),
            sensitive: false,
            confirming: false,
            error: None,
            changed: None,
        }
    }

    /// Indexes of the candidates the filter lets through (staff code, name, grade or team).
    pub fn visible(&self) -> Vec<usize> {
        let Some(p) = &self.picker else {
            return Vec::new();
        };
        let f = self.filter.trim().to_lowercase();
        p.candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                f.is_empty()
                    || c.staff_code.to_lowercase().contains(&f)
                    || c.name.to_lowercase().contains(&f)
                    || c.grade.as_str().to_lowercase() == f
                    || c.team
                        .as_deref()
                        .is_some_and(|t| t.to_lowercase().contains(&f))
            })
            .map(|(i, _)| i)
            .collect()
    }

    pub fn chosen(&self) -> Option<&Candidate> {
        let i = *self.visible().get(self.selected)?;
        self.picker.as_ref()?.candidates.get(i)
    }

    /// The officers arrived (or why not).
    pub fn candidates_loaded(
        &mut self,
        result: Result<Box<actions::Picker>, crate::tui::worker::Failure>,
    ) {
        match result {
            Ok(picker) => {
                // The best fit is first; a reallocation is not an initial one.
                if picker.case.allocated_to.is_some()
                    && self.reason == AllocationReason::InitialAllocation
                {
                    self.reason = AllocationReason::CaseloadAdjustment;
                }
                self.picker = Some(picker);
                self.selected = 0;
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    /// The allocation was refused: why, and the choice is to be confirmed again.
    pub fn refused(&mut self, why: &str) {
        self.error = Some(why.to_string());
        self.confirming = false;
    }

    /// The case changed since the form opened: say what, and read the officers afresh.
    pub fn conflict(&mut self, what: String, generation: u64) -> Request {
        self.changed = Some(what);
        self.picker = None;
        self.confirming = false;
        self.error = None;
        Request::Candidates {
            generation,
            crn: self.crn.clone(),
        }
    }

    /// Keys of the allocation form. Letters are commands on the list and text in the filter
    /// and the rationale; arrows always work. Esc first leaves the filter; after that it is
    /// not taken (it closes the form).
    pub fn key(&mut self, k: KeyEvent, cx: &mut Ctx) -> EventState {
        if k.code == KeyCode::Esc {
            if self.focus != AllocateFocus::Filter {
                return EventState::NotConsumed;
            }
            self.focus = AllocateFocus::List;
            self.filter.clear();
            self.selected = 0;
            return EventState::Consumed;
        }
        let before = self.selected;
        if k.code == KeyCode::Enter && self.focus != AllocateFocus::Filter {
            cx.ask(self.submit());
        } else {
            self.edit(k);
        }
        if self.selected != before {
            self.confirming = false;
        }
        EventState::Consumed
    }

    /// A key that moves, cycles, toggles or types.
    fn edit(&mut self, k: KeyEvent) {
        let n = self.visible().len();
        let last = n.saturating_sub(1);
        let typing = self.focus != AllocateFocus::List;
        match k.code {
            KeyCode::Down => self.selected = (self.selected + 1).min(last),
            KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::PageDown => self.selected = (self.selected + PICKER_PAGE).min(last),
            KeyCode::PageUp => self.selected = self.selected.saturating_sub(PICKER_PAGE),
            KeyCode::Home => self.selected = 0,
            KeyCode::End => self.selected = last,
            KeyCode::Right => self.reason = cycle(AllocationReason::ALL, self.reason, 1),
            KeyCode::Left => self.reason = cycle(AllocationReason::ALL, self.reason, -1),
            KeyCode::Tab | KeyCode::BackTab => {
                self.focus = match self.focus {
                    AllocateFocus::Rationale => AllocateFocus::List,
                    _ => AllocateFocus::Rationale,
                };
            }
            KeyCode::Enter => self.focus = AllocateFocus::List,
            KeyCode::Backspace if typing => {
                if self.focus == AllocateFocus::Filter {
                    self.filter.pop();
                    self.selected = 0;
                } else {
                    self.note.pop();
                }
            }
            KeyCode::Char(c) if typing => {
                if self.focus == AllocateFocus::Filter {
                    push_text(&mut self.filter, c, k.modifiers);
                    self.selected = 0;
                } else {
                    push_text(&mut self.note, c, k.modifiers);
                }
            }
            KeyCode::Char('j') => self.selected = (self.selected + 1).min(last),
            KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Char('g') => self.selected = 0,
            KeyCode::Char('G') => self.selected = last,
            KeyCode::Char('l') => self.reason = cycle(AllocationReason::ALL, self.reason, 1),
            KeyCode::Char('h') => self.reason = cycle(AllocationReason::ALL, self.reason, -1),
            KeyCode::Char('s') => self.sensitive = !self.sensitive,
            KeyCode::Char('/') => self.focus = AllocateFocus::Filter,
            _ => {}
        }
    }

    /// Enter: asks for what is missing, then for confirmation when the choice needs it,
    /// then writes, stating who held the case when the form opened.
    fn submit(&mut self) -> Vec<Request> {
        let (Some(picker), Some(c)) = (self.picker.as_ref(), self.chosen()) else {
            return Vec::new();
        };
        if self.note.trim().is_empty()
            && (picker.rationale_required || self.reason == AllocationReason::Other)
        {
            self.error =
                Some("write the rationale first: why this officer (Tab to type it)".into());
            self.focus = AllocateFocus::Rationale;
            return Vec::new();
        }
        if !c.to_confirm().is_empty() && !self.confirming {
            self.confirming = true;
            return Vec::new();
        }
        let req = actions::Allocation {
            crn: self.crn.clone(),
            staff_code: c.staff_code.clone(),
            reason: self.reason,
            note: Some(self.note.clone()).filter(|n| !n.trim().is_empty()),
            sensitive: self.sensitive,
            expect: Some(picker.case.holding()),
            confirmed: self.confirming,
        };
        self.error = None;
        vec![Request::Act(Act::Allocate(req))]
    }

    /// Where the "not suitable" divider goes among the visible rows, if anywhere.
    fn divider_at(&self, picker: &actions::Picker) -> Option<usize> {
        self.visible().iter().position(|&i| i >= picker.suitable)
    }

    /// The form: the case and its holder, the officers (suitable first, then the rest below
    /// a divider with their reason), the reason, the rationale and the keys.
    pub fn form(&self, wide: bool, dc: &DrawCtx) -> Form {
        let mut form = Form::new(" Allocate ");
        form.head = self.head_lines(wide, dc);
        form.list = self.officer_lines(wide, dc);
        // While the officers are read, the form shows no foot.
        if self.picker.is_some() {
            form.foot = self.foot_lines(dc);
        }
        form.selected = self.selected
            + usize::from(
                self.picker
                    .as_ref()
                    .is_some_and(|pk| self.divider_at(pk).is_some_and(|d| self.selected >= d)),
            );
        form
    }

    /// The case, who holds it, the reason, the filter and the column titles.
    fn head_lines(&self, wide: bool, dc: &DrawCtx) -> Vec<Line<'static>> {
        let (name_w, team_w) = if wide { (20, 14) } else { (12, 8) };
        let mut head = Vec::new();
        match &self.picker {
            Some(pk) => {
                let c = &pk.case;
                let risk = format!(
                    "tier {}, RoSH {}{}",
                    c.tier.map(|t| t.as_str()).unwrap_or("-"),
                    c.rosh.map(|r| r.as_str()).unwrap_or("none"),
                    if c.mappa.is_mappa() {
                        format!(", MAPPA cat {} level {}", c.mappa.category, c.mappa.level)
                    } else {
                        String::new()
                    }
                );
                head.push(Line::raw(format!("Case {} · {risk}", clean(&c.crn))));
                head.push(Line::raw(holder_words(pk, dc)));
            }
            None => head.push(Line::raw(format!("Case {}", clean(&self.crn)))),
        }
        head.push(Line::raw(format!(
            "Reason (←/→): {}",
            self.reason.as_str().replace('_', " ")
        )));
        head.push(Line::raw(format!(
            "{}Find (/): {}",
            self.pointer(AllocateFocus::Filter),
            clean(&self.filter)
        )));
        head.push(Line::styled(
            format!(
                "   {:<9} {:<name_w$} {:<5} {:<team_w$} {:>5} {:>5} {:>4} {:>5} {:>5}",
                "Staff", "Name", "Grade", "Team", "Hours", "Cases", "High", "Now", "After"
            ),
            dc.theme.header(),
        ));
        head
    }

    /// The officers the filter lets through, the unsuitable below a divider.
    fn officer_lines(&self, wide: bool, dc: &DrawCtx) -> Vec<Line<'static>> {
        let theme = &dc.theme;
        let mut list = Vec::new();
        let Some(pk) = &self.picker else {
            list.push(Line::raw("loading practitioners…"));
            return list;
        };
        let visible = self.visible();
        if visible.is_empty() {
            list.push(Line::raw(if pk.candidates.is_empty() {
                "no practitioner of this PDU can take cases"
            } else {
                "no officer matches the filter"
            }));
        }
        let divider = self.divider_at(pk);
        if divider == Some(0) {
            list.push(Line::styled(
                "── no suitable officer: every one below breaks a rule (see why) ──",
                theme.bad(),
            ));
        }
        for (row, &i) in visible.iter().enumerate() {
            let Some(c) = pk.candidates.get(i) else {
                continue;
            };
            if divider == Some(row) && row > 0 {
                list.push(Line::styled(
                    "── not suitable under the allocation rules ──",
                    theme.dim(),
                ));
            }
            let line = officer_line(c, row == self.selected, wide, dc);
            list.push(if row == self.selected {
                Line::styled(line, theme.selected())
            } else if c.is_suitable() {
                Line::raw(line)
            } else {
                Line::styled(line, theme.dim())
            });
        }
        list
    }

    /// What changed, the chosen officer's warnings, the rationale, the error and the keys.
    fn foot_lines(&self, dc: &DrawCtx) -> Vec<Line<'static>> {
        let theme = &dc.theme;
        let mut foot = Vec::new();
        if let Some(changed) = &self.changed {
            // Said first, in full (the foot wraps): nothing was written and the list below
            // is the case as it is now.
            foot.push(Line::styled(
                format!("CHANGED, nothing written: {}", clean(changed)),
                theme.bad(),
            ));
        }
        if let Some(c) = self.chosen() {
            if let Some(until) = c.previously_managed_until {
                foot.push(Line::raw(format!(
                    "Previously managed by {} (until {})",
                    clean(&c.staff_code),
                    crate::domain::fmt_date(until)
                )));
            }
            for w in &c.not_suitable {
                foot.push(Line::styled(
                    format!("NOT SUITABLE: {}", clean(w)),
                    theme.bad(),
                ));
            }
            for w in &c.warnings {
                foot.push(Line::styled(format!("WARNING: {}", clean(w)), theme.bad()));
            }
        }
        foot.push(Line::from(vec![
            Span::styled(
                format!(
                    "{}Rationale (Tab): ",
                    self.pointer(AllocateFocus::Rationale)
                ),
                theme.header(),
            ),
            Span::raw(clean(&self.note)),
            Span::styled(
                if self.focus == AllocateFocus::Rationale {
                    "█"
                } else {
                    ""
                },
                theme.dim(),
            ),
            Span::raw(format!(
                "  · sensitive (s): {}",
                if self.sensitive { "yes" } else { "no" }
            )),
        ]));
        if let Some(e) = &self.error {
            foot.push(Line::styled(
                format!("Not allocated: {}", clean(e)),
                theme.bad(),
            ));
        }
        foot.push(Line::raw(self.keys_words()));
        foot
    }

    /// The keys that work now, in words.
    fn keys_words(&self) -> &'static str {
        if self.confirming {
            return "Enter again to allocate despite the above · Esc cancel";
        }
        match self.focus {
            AllocateFocus::List => {
                "j/k g/G PgUp/PgDn choose · / find · ←/→ reason · Tab rationale · s sensitive · Enter allocate · Esc cancel"
            }
            AllocateFocus::Filter => "type to find · Enter back to the list · Esc clear",
            AllocateFocus::Rationale => {
                "type the rationale · ↑/↓ choose · ←/→ reason · Tab back to the list · Enter allocate · Esc cancel"
            }
        }
    }

    /// Marks the part of the form that takes the typing.
    fn pointer(&self, f: AllocateFocus) -> &'static str {
        if self.focus == f { "▶ " } else { "  " }
    }
}

/// Who holds the case when the form opened: a reallocation says so.
fn holder_words(pk: &actions::Picker, dc: &DrawCtx) -> String {
    let c = &pk.case;
    match (&pk.holder, &c.allocated_to) {
        (Some(h), _) => format!(
            "Held by {} {} ({}, {} cases, {}) since {}: this is a REALLOCATION",
            clean(&h.staff_code),
            dc.person(&h.name),
            h.grade,
            h.caseload,
            cap_pct(h.capacity_now),
            c.allocated_on
                .map(crate::domain::fmt_date)
                .unwrap_or_else(|| "-".into())
        ),
        (None, Some(code)) => format!("Held by {}: this is a REALLOCATION", clean(code)),
        (None, None) => format!(
            "Unallocated since {}",
            c.unallocated_since
                .map(crate::domain::fmt_date)
                .unwrap_or_else(|| "-".into())
        ),
    }
}

/// One officer's row: a pointer on the chosen one, a mark (✗ unsuitable, ↺ managed the case
/// before, ! a warning), and the figures.
fn officer_line(c: &Candidate, chosen: bool, wide: bool, dc: &DrawCtx) -> String {
    let (name_w, team_w) = if wide { (20, 14) } else { (12, 8) };
    let mark = if !c.is_suitable() {
        "✗"
    } else if c.previously_managed_until.is_some() {
        "↺"
    } else if !c.warnings.is_empty() {
        "!"
    } else {
        " "
    };
    let name: String = dc.person(&c.name).chars().take(name_w).collect();
    let team: String = clean(c.team.as_deref().unwrap_or("-"))
        .chars()
        .take(team_w)
        .collect();
    // The pointer says which row is chosen without relying on the highlight's colour.
    let pointer = if chosen { "▶" } else { " " };
    format!(
        "{pointer}{mark} {:<9} {:<name_w$} {:<5} {:<team_w$} {:>5.1} {:>5} {:>4} {:>5} {:>5}",
        clean(&c.staff_code),
        name,
        c.grade.as_str(),
        team,
        c.contracted_hours,
        c.caseload,
        c.high_risk_cases,
        cap_pct(c.capacity_now),
        cap_pct(c.capacity_after)
    )
}

/// A capacity figure, already in percent.
fn cap_pct(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.0}%")).unwrap_or_else(|| "-".into())
}
