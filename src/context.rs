//! What every evaluation needs besides the database: the policy (due dates, capacity, who
//! may hold a case), the alert rules, and the date "overdue" is judged against. Built once at
//! the edge (the command line, the screen) and passed as one value.

use chrono::NaiveDate;

use crate::policy::Policy;
use crate::rules::Rules;

#[derive(Debug, Clone)]
pub struct Evaluation {
    pub policy: Policy,
    pub rules: Rules,
    pub as_of: NaiveDate,
}

impl Evaluation {
    pub fn new(policy: Policy, rules: Rules, as_of: NaiveDate) -> Evaluation {
        Evaluation {
            policy,
            rules,
            as_of,
        }
    }

    /// The shipped policy and rules, at `as_of`.
    pub fn defaults(as_of: NaiveDate) -> Evaluation {
        Evaluation::new(Policy::defaults(), Rules::defaults(), as_of)
    }
}
