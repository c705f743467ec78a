//! The harness's hands: the long-lived function processes and one invocation of a route through
//! them, recorded as a sample with the backend calls the proxy saw meanwhile. The phases of the
//! run (cold starts, journeys) are written in terms of these.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde_json::Value;

use crate::Error;
use crate::catalogue::spec;
use crate::cli::Config;
use crate::events::{self, HttpAnswer, HttpRequest};
use crate::measure::Sample;
use crate::proxy::Recorder;
use crate::results::Results;
use crate::runtime::{Instance, Launch};
use crate::stack::Stack;

fn file_len(path: &std::path::Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

/// How each measured function is started (a script floor whose interpreter is missing is not).
pub(super) type Launches = HashMap<&'static str, Launch>;

pub(super) struct Bench<'a> {
    pub(super) cfg: &'a Config,
    pub(super) stack: Stack,
    pub(super) recorder: Recorder,
    /// Lambda's environment plus the function environment, endpoints pointing at the proxies.
    pub(super) env: BTreeMap<String, String>,
    pub(super) launches: Launches,
    pub(super) instances: HashMap<&'static str, Instance>,
    pub(super) results: Results,
    /// The route probe, invoked right after the routes it calibrates (src/run/route_probe.rs).
    pub(super) probes: super::route_probe::Probes,
}

impl Bench<'_> {
    /// Starts a process of `function` logging to `log`; records its init figures and the
    /// backend calls it made before asking for its first event.
    pub(super) async fn start(
        &mut self,
        function: &'static str,
        log: PathBuf,
    ) -> Result<Instance, Error> {
        let launch = self
            .launches
            .get(function)
            .ok_or_else(|| format!("{function} cannot be started"))?;
        self.recorder.drain();
        let inst = Instance::start(function, launch, &self.env, &log).await?;
        let init_calls = self.recorder.drain().len();
        let f = self.results.functions.entry(function).or_default();
        f.init.push(inst.init);
        f.init_cpu.push(inst.init_cpu);
        f.init_rss_kb.push(inst.init_rss_kb);
        f.init_calls += init_calls;
        Ok(inst)
    }

    /// Whether `function` can be started (not a script floor without its interpreter).
    pub(super) fn measured(&self, function: &str) -> bool {
        self.launches.contains_key(function)
    }

    /// Where the long-lived process of `function` writes its stdout and stderr.
    pub(super) fn log_path(&self, function: &str) -> PathBuf {
        self.cfg
            .local_dir
            .join("logs")
            .join(format!("{function}.log"))
    }

    /// The long-lived process of `function`, started on first use.
    async fn instance(&mut self, function: &'static str) -> Result<&mut Instance, Error> {
        if !self.instances.contains_key(function) {
            let log = self.log_path(function);
            let inst = self.start(function, log).await?;
            self.instances.insert(function, inst);
        }
        Ok(self.instances.get_mut(function).expect("just started"))
    }

    /// Invokes `route`'s function with `event`; records the sample; returns the payload.
    pub(super) async fn invoke(
        &mut self,
        route: &'static str,
        event: Vec<u8>,
    ) -> Result<Vec<u8>, Error> {
        let function = spec(route).function;
        self.instance(function).await?;
        let stray = self.recorder.drain();
        // The log's growth during the invocation is what CloudWatch Logs would ingest from it
        // (the cost model's log line). A line the function writes after its answer is missed.
        let log = self.log_path(function);
        let log_before = file_len(&log);
        let inst = self.instances.get_mut(function).expect("started");
        let first = inst.invocations() == 0;
        let done = inst.invoke(event).await?;
        let calls = self.recorder.drain();
        let log_bytes = file_len(&log)
            .zip(log_before)
            .map(|(a, b)| a.saturating_sub(b));
        let mut sample = Sample::new(done.answered, done.received, &calls);
        sample.stray += stray.len();
        sample.cpu = done.cpu;
        sample.runq_wait = done.runq_wait;
        sample.log_bytes = log_bytes;
        let payload = done.body.to_vec();
        let r = self.results.routes.entry(route).or_default();
        if done.error {
            r.unexpected.push(format!(
                "function error: {}",
                String::from_utf8_lossy(&payload)
            ));
        }
        if first {
            self.results.functions.entry(function).or_default().first =
                Some((route.to_owned(), sample));
        } else {
            r.samples.push(sample);
            self.probe_beside(route, function).await?;
        }
        Ok(payload)
    }

    /// An API call through `route`'s function; checks the status the route should answer.
    pub(super) async fn http(
        &mut self,
        route: &'static str,
        req: HttpRequest<'_>,
    ) -> Result<Value, Error> {
        Ok(self.http_answer(route, req).await?.body)
    }

    /// As [`Bench::http`], with the whole answer (status and `Location` too).
    pub(super) async fn http_answer(
        &mut self,
        route: &'static str,
        req: HttpRequest<'_>,
    ) -> Result<HttpAnswer, Error> {
        let payload = self.invoke(route, events::apigw(&req)).await?;
        let answer = events::http_answer(&payload)?;
        if answer.status != spec(route).expect_status {
            self.unexpected(route, format!("status {}: {}", answer.status, answer.body));
        }
        Ok(answer)
    }

    /// An API call through `function` that only prepares a measured one (the sign-in page
    /// completing an authorization before the code exchange): not a sample, its backend calls
    /// not counted anywhere. `None`, and a note on `for_route`, unless it answers `expect`.
    /// Never a function's first invocation: that one is measured separately.
    pub(super) async fn prepare(
        &mut self,
        function: &'static str,
        req: HttpRequest<'_>,
        expect: u16,
        for_route: &'static str,
    ) -> Result<Option<HttpAnswer>, Error> {
        self.instance(function).await?;
        let inst = self.instances.get_mut(function).expect("started");
        if inst.invocations() == 0 {
            return Err(
                format!("{function}: a preparation may not be its first invocation").into(),
            );
        }
        let done = inst.invoke(events::apigw(&req)).await?;
        self.recorder.drain();
        let answer = (!done.error)
            .then(|| events::http_answer(&done.body).ok())
            .flatten();
        let what = match answer {
            Some(a) if a.status == expect => return Ok(Some(a)),
            Some(a) => format!("status {}: {}", a.status, a.body),
            None => format!("function error: {}", String::from_utf8_lossy(&done.body)),
        };
        let note = format!("in its preparation, {} {}: {what}", req.method, req.path);
        self.unexpected(for_route, note);
        Ok(None)
    }

    /// Notes an unexpected answer of `route` (the first few on stderr too).
    pub(super) fn unexpected(&mut self, route: &'static str, note: String) {
        let r = self.results.routes.entry(route).or_default();
        if r.unexpected.len() < 5 {
            eprintln!("bench: {route}: unexpected {note}");
        }
        r.unexpected.push(note);
    }

    /// An SQS event of `messages` through `route`'s function; notes the messages it reports
    /// as failed.
    pub(super) async fn sqs(
        &mut self,
        route: &'static str,
        queue: &str,
        messages: &[Value],
    ) -> Result<(), Error> {
        let payload = self.invoke(route, events::sqs(queue, messages)).await?;
        let answer: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
        let failures = answer["batchItemFailures"].as_array().map_or(0, Vec::len);
        if failures > 0 {
            let note = format!("{failures} batchItemFailures: {answer}");
            eprintln!("bench: {route}: {note}");
            self.results
                .routes
                .entry(route)
                .or_default()
                .unexpected
                .push(note);
        }
        Ok(())
    }

    /// Progress, on stdout.
    pub(super) fn say(&self, what: &str) {
        println!("bench: {what}");
    }

    /// Stops the long-lived processes; their peak RSS counts towards their function's.
    pub(super) fn stop_all(&mut self) {
        self.probes.stop();
        for (name, inst) in self.instances.drain() {
            let stopped = inst.stop();
            let f = self.results.functions.entry(name).or_default();
            f.max_rss_kb = f.max_rss_kb.max(stopped.max_rss_kb);
        }
    }
}
