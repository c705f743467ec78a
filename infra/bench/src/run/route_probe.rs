//! The route probes, after the journeys with the functions stopped: for each route, the route
//! probe (`infra/bench/route-probe`) replays the route's calls as this run recorded them
//! (src/route_script.rs), under the same emulator, environment and proxy as the functions, as
//! many warm times as the route ran. Its samples are measured by the same code as the routes'
//! (src/measure.rs), so the warm budget compares like with like.

use serde_json::{Value, json};

use crate::Error;
use crate::catalogue::{ROUTES, is_floor};
use crate::measure::Sample;
use crate::route_script::Script;
use crate::runtime::{Instance, Launch};

use super::harness::Bench;

/// The probe's name: its bootstrap is `<x86-dir>/route-probe/bootstrap`.
pub const PROBE: &str = "route-probe";

impl Bench<'_> {
    /// Every measured route with warm samples, one after the other, in one probe process.
    pub(super) async fn route_probes(&mut self) -> Result<(), Error> {
        let binary = self.cfg.bootstrap(PROBE);
        if !binary.exists() {
            return Err(format!("{} is missing; build with `make bench`", binary.display()).into());
        }
        let log = self.cfg.local_dir.join("logs").join(format!("{PROBE}.log"));
        let mut inst = Instance::start(PROBE, &Launch::bootstrap(&binary), &self.env, &log).await?;
        self.say(
            "route probes: each route's backend calls, replayed with nothing of ours around them",
        );
        let outcome = self.probe_routes(&mut inst).await;
        inst.stop();
        outcome
    }

    async fn probe_routes(&mut self, inst: &mut Instance) -> Result<(), Error> {
        for (k, spec) in ROUTES.iter().enumerate() {
            if is_floor(spec.function) {
                continue;
            }
            let Some(route) = self.results.routes.get(spec.key) else {
                continue;
            };
            let n = route.samples.len();
            if n == 0 {
                continue;
            }
            let script = Script::derive(&route.samples);
            let event = |seed: bool| {
                serde_json::to_vec(
                    &json!({"key": format!("probe-{k}"), "seed": seed, "stages": script.stages}),
                )
            };
            // Not measured: writes what the reads will find (and is the process's first
            // invocation for the first route, which is excluded like every function's).
            let seeded = inst.invoke(event(true)?).await?;
            self.recorder.drain();
            self.probe_failures(spec.key, &seeded.body);
            // The same event every time: encoded once per route.
            let replay = event(false)?;
            for _ in 0..n {
                let stray = self.recorder.drain();
                let done = inst.invoke(replay.clone()).await?;
                let calls = self.recorder.drain();
                let mut sample = Sample::new(done.answered, done.received, &calls);
                sample.stray += stray.len();
                sample.cpu = done.cpu;
                sample.runq_wait = done.runq_wait;
                self.probe_failures(spec.key, &done.body);
                self.results
                    .route_probes
                    .entry(spec.key)
                    .or_default()
                    .samples
                    .push(sample);
            }
        }
        Ok(())
    }

    /// Notes the calls the probe reports as failed (the first few of each route only).
    fn probe_failures(&mut self, route: &'static str, answer: &[u8]) {
        let parsed: Value = serde_json::from_slice(answer).unwrap_or(Value::Null);
        let Some(failed) = parsed["failed"].as_array() else {
            let note = format!("probe error: {}", String::from_utf8_lossy(answer));
            self.results
                .route_probes
                .entry(route)
                .or_default()
                .unexpected
                .push(note);
            return;
        };
        let r = self.results.route_probes.entry(route).or_default();
        for f in failed.iter().filter_map(Value::as_str) {
            if !r.unexpected.iter().any(|u| u == f) {
                r.unexpected.push(f.to_owned());
            }
        }
    }
}
