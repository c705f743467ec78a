//! The route probes, interleaved with the routes: once a route has [`SCRIPT_SAMPLES`] warm
//! samples, its script is derived from them (src/route_script.rs), and from then on each of the
//! route's invocations is followed at once by one of the route probe (`infra/bench/route-probe`)
//! replaying that script, under the same emulator, environment and proxy as the functions. Both
//! are measured by the same code (src/measure.rs), one right after the other, so the warm budget
//! compares like with like *on the same machine at the same moment*: on two shared cores the
//! speed of the whole machine drifts by tens of per cent between minutes, and a probe run after
//! the journeys (as until 2026-12-02) passed or failed a route by when it ran, not by our code.
//!
//! The probe's SQS stand-ins go to a queue of the bench's own ([`PROBE_QUEUE`]), not to the
//! routes' queues: those feed the consumers' phases, which must see only what the functions
//! sent (and moto answers a receive the slower the more a queue holds).

use serde_json::{Value, json};

use crate::Error;
use crate::catalogue::{ROUTES, is_floor};
use crate::measure::Sample;
use crate::route_script::Script;
use crate::runtime::{Instance, Launch};

use super::harness::Bench;

/// The probe's name: its bootstrap is `<x86-dir>/route-probe/bootstrap`.
pub const PROBE: &str = "route-probe";

/// The queue the probe's `sqs.*` stand-ins are sent to instead of the route's.
pub const PROBE_QUEUE: &str = "bench-route-probe";

/// Warm samples a route needs before its script is derived; the probe replays it after each of
/// the route's later invocations. Twenty settle the most frequent chain (the journeys alternate
/// their people's paths little).
pub const SCRIPT_SAMPLES: usize = 20;

/// The probe process and each route's replay event (encoded once).
#[derive(Default)]
pub(super) struct Probes {
    instance: Option<Instance>,
    /// [`PROBE_QUEUE`]'s URL, once created.
    queue_url: String,
    replays: std::collections::HashMap<&'static str, Vec<u8>>,
}

impl Probes {
    /// Stops the probe process, if it was started.
    pub(super) fn stop(&mut self) {
        if let Some(inst) = self.instance.take() {
            inst.stop();
        }
    }
}

impl Bench<'_> {
    /// Right after a warm invocation of `route` (served by `function`): one probe invocation
    /// replaying its script, once the route has enough samples (the first time, the script is
    /// derived and seeded).
    pub(super) async fn probe_beside(
        &mut self,
        route: &'static str,
        function: &str,
    ) -> Result<(), Error> {
        if is_floor(function) {
            return Ok(());
        }
        let samples = self
            .results
            .routes
            .get(route)
            .map_or(0, |r| r.samples.len());
        if samples < SCRIPT_SAMPLES {
            return Ok(());
        }
        if self.probes.instance.is_none() {
            let binary = self.cfg.bootstrap(PROBE);
            if !binary.exists() {
                return Err(
                    format!("{} is missing; build with `make bench`", binary.display()).into(),
                );
            }
            let log = self.log_path(PROBE);
            let launch = Launch::bootstrap(&binary);
            self.probes.queue_url = self.stack.create_queue(PROBE_QUEUE).await?;
            self.recorder.drain();
            let inst = Instance::start(PROBE, &launch, &self.env, &log).await?;
            self.recorder.drain();
            self.probes.instance = Some(inst);
        }
        if !self.probes.replays.contains_key(route) {
            self.seed(route).await?;
        }
        let replay = self.probes.replays.get(route).cloned().unwrap_or_default();
        let stray = self.recorder.drain();
        let inst = self.probes.instance.as_mut().ok_or("probe not started")?;
        let done = inst.invoke(replay).await?;
        let calls = self.recorder.drain();
        let mut sample = Sample::new(done.answered, done.received, &calls);
        sample.stray += stray.len();
        sample.cpu = done.cpu;
        sample.runq_wait = done.runq_wait;
        self.probe_failures(route, &done.body);
        self.results
            .route_probes
            .entry(route)
            .or_default()
            .samples
            .push(sample);
        Ok(())
    }

    /// Derives `route`'s script from its samples so far and runs the probe's unmeasured seeding
    /// invocation, which writes what the replayed reads will find (and, for the first route, is
    /// the process's first invocation, excluded like every function's).
    async fn seed(&mut self, route: &'static str) -> Result<(), Error> {
        let samples = self
            .results
            .routes
            .get(route)
            .map_or(&[][..], |r| &r.samples);
        let mut script = Script::derive(samples);
        script.send_queues_to(&self.probes.queue_url);
        let k = ROUTES
            .iter()
            .position(|s| s.key == route)
            .unwrap_or(ROUTES.len());
        let event = |seed: bool| {
            serde_json::to_vec(
                &json!({"key": format!("probe-{k}"), "seed": seed, "stages": script.stages}),
            )
        };
        let (seeding, replay) = (event(true)?, event(false)?);
        self.recorder.drain();
        let inst = self.probes.instance.as_mut().ok_or("probe not started")?;
        let seeded = inst.invoke(seeding).await?;
        self.recorder.drain();
        self.probe_failures(route, &seeded.body);
        self.probes.replays.insert(route, replay);
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
