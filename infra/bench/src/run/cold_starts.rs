//! The first phase: the init figures. Every function, the floors included (except a script
//! floor whose interpreter is missing), is started and stopped `--cold-starts` times, the
//! functions alternating, before anything is invoked.

use crate::Error;
use crate::catalogue::FUNCTIONS;

use super::harness::Bench;

impl Bench<'_> {
    pub(super) async fn cold_starts(&mut self) -> Result<(), Error> {
        let functions: Vec<&'static str> =
            FUNCTIONS.into_iter().filter(|f| self.measured(f)).collect();
        self.say(&format!(
            "init: {} cold starts of each of {} functions",
            self.cfg.cold,
            functions.len()
        ));
        for _ in 0..self.cfg.cold {
            for &function in &functions {
                let log = self
                    .cfg
                    .local_dir
                    .join("logs")
                    .join(format!("{function}.cold.log"));
                let inst = self.start(function, log).await?;
                let stopped = inst.stop();
                let f = self.results.functions.entry(function).or_default();
                f.max_rss_kb = f.max_rss_kb.max(stopped.max_rss_kb);
            }
        }
        Ok(())
    }
}
