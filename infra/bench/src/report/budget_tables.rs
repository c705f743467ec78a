//! The Budgets section of `docs/performance.md`: per budget, who passes and who misses by how
//! much; then every check.

use std::fmt::Write as _;

use super::Report;

impl Report {
    /// `## Budgets`.
    pub(super) fn budget_tables(&self, m: &mut String) {
        let _ = writeln!(m, "## Budgets\n");
        let _ = writeln!(m, "| budget | pass | miss (by how much) |\n|---|---|---|");
        let mut budgets: Vec<&str> = Vec::new();
        for c in &self.checks {
            if !budgets.contains(&c.budget) {
                budgets.push(c.budget);
            }
        }
        for b in budgets {
            let of = |p: Option<bool>| {
                self.checks
                    .iter()
                    .filter(|c| c.budget == b && c.pass == p)
                    .map(|c| {
                        if p == Some(false) {
                            format!("{} ({})", c.subject, c.margin)
                        } else {
                            c.subject.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let (pass, miss) = (of(Some(true)), of(Some(false)));
            let _ = writeln!(
                m,
                "| {b} | {} | {} |",
                if pass.is_empty() {
                    "–".to_owned()
                } else {
                    pass
                },
                if miss.is_empty() {
                    "–".to_owned()
                } else {
                    miss
                }
            );
        }
        let _ = writeln!(m, "\nEvery check:\n");
        let _ = writeln!(
            m,
            "| budget | subject | measured | limit | verdict |\n|---|---|---|---|---|"
        );
        for c in &self.checks {
            let verdict = match c.pass {
                Some(true) => "pass".to_owned(),
                Some(false) => format!("**miss** ({})", c.margin),
                None => "not measured".to_owned(),
            };
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {verdict} |",
                c.budget, c.subject, c.value, c.limit
            );
        }
    }
}
