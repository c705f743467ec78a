//! `make bench`: the functions' release bootstraps under an emulated Lambda Runtime API, against
//! the local stack (moto, iProov sandbox) behind a counting proxy, with the same figures for an
//! empty `lambda_http` function (the floor). Writes `docs/performance.md` and a chart, prints a
//! summary, and exits 1 when a budget is missed (2 when the benchmark itself failed).
//!
//! ```text
//! lambda-bench --root . --x86-dir target/bench/lambda-x86_64 --arm64-dir target/bench/lambda-arm64 \
//!     --sandbox target/bench/lambda-x86_64/iproov-sandbox/bootstrap \
//!     --local-dir target/bench/local --out docs/performance.md --svg docs/performance.svg
//! ```

mod events;
mod measure;
mod probe;
mod proxy;
mod report;
mod runtime;
mod stack;

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use events::HttpRequest;
use measure::Sample;
use proxy::Recorder;
use runtime::Instance;
use stack::Stack;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The functions, in report order; `floor` first.
pub const FUNCTIONS: [&str; 7] = [
    "floor",
    "health",
    "token-issuer",
    "registration",
    "scan-validator",
    "account",
    "erasure",
];

/// A route (or event kind) and the fewest sequential backend round trips its design allows.
pub struct RouteSpec {
    pub key: &'static str,
    pub function: &'static str,
    pub expect_status: u16,
    pub min_stages: usize,
    pub min_chain: &'static str,
}

pub const ROUTES: &[RouteSpec] = &[
    RouteSpec {
        key: "floor (empty handler)",
        function: "floor",
        expect_status: 200,
        min_stages: 0,
        min_chain: "none",
    },
    RouteSpec {
        key: "GET /v1/health",
        function: "health",
        expect_status: 200,
        min_stages: 0,
        min_chain: "none: the health check touches no backend by design",
    },
    RouteSpec {
        key: "POST /v1/users/registration",
        function: "token-issuer",
        expect_status: 201,
        min_stages: 4,
        min_chain: "[IP rate-limit UpdateItem ∥ username-claim GetItem] → [username-per-network \
                    UpdateItem ∥ username-ceiling UpdateItem] → iProov enrol token → registration \
                    PutItem. The username counters wait for the IP limit (a client refused by its \
                    own limit must not spend anyone's username budget: the security review, \
                    issue 14); the claim lookup needs no counter; the token waits for all \
                    (a limited caller or a taken name must not spend iProov quota)",
    },
    RouteSpec {
        key: "GET /v1/users/registration (awaiting scan)",
        function: "registration",
        expect_status: 200,
        min_stages: 1,
        min_chain: "registration GetItem",
    },
    RouteSpec {
        key: "POST /v1/users",
        function: "registration",
        expect_status: 202,
        min_stages: 3,
        min_chain: "registration GetItem (credential, attempt) → conditional UpdateItem to \
                    submitted → SQS SendMessage (only after the state changed; undone if it fails)",
    },
    RouteSpec {
        key: "SQS registration queue (1 message)",
        function: "scan-validator",
        expect_status: 0,
        min_stages: 6,
        min_chain: "GetItem → begin-validation UpdateItem → iProov enrol/validate → record-outcome \
                    UpdateItem (before anything else, by design) → [S3 PutObject ∥ users \
                    TransactWriteItems] → complete UpdateItem. The image key is known before the \
                    upload, so the user transaction need not wait for it",
    },
    RouteSpec {
        key: "GET /v1/users/registration (completed)",
        function: "registration",
        expect_status: 200,
        min_stages: 3,
        min_chain: "registration GetItem → session PutItem → mark-login-issued UpdateItem (marked \
                    only once the session exists); later polls hand out no session: GetItem only",
    },
    RouteSpec {
        key: "POST /v1/verify-login",
        function: "token-issuer",
        expect_status: 200,
        min_stages: 4,
        min_chain: "[IP rate-limit UpdateItem ∥ username-claim GetItem] → [username-per-network \
                    UpdateItem ∥ username-ceiling UpdateItem] → iProov verify token → attempt \
                    PutItem. The username counters wait for the IP limit (issue 14: nobody can \
                    lock a person out); the token waits for them and for the claim's iProov user id",
    },
    RouteSpec {
        key: "POST /v1/login",
        function: "account",
        expect_status: 200,
        min_stages: 4,
        min_chain: "[attempt GetItem ∥ per-attempt rate-limit UpdateItem] → conditional UpdateItem \
                    pending→validating → [iProov verify/validate ∥ user GetItem] → [attempt \
                    UpdateItem passed ∥ session PutItem]. The counter key is the credential's id, \
                    known before the read; the attempt's end and the new session are independent",
    },
    RouteSpec {
        key: "GET /v1/users",
        function: "account",
        expect_status: 200,
        min_stages: 2,
        min_chain: "session GetItem → user GetItem (its id comes from the session); the \
                    once-a-minute last_seen UpdateItem can run alongside the user read",
    },
    RouteSpec {
        key: "POST /v1/logout",
        function: "account",
        expect_status: 204,
        min_stages: 2,
        min_chain: "session GetItem → session DeleteItem",
    },
    RouteSpec {
        key: "DELETE /v1/users (2 live sessions)",
        function: "account",
        expect_status: 202,
        min_stages: 4,
        min_chain: "session GetItem → SQS SendMessage (enqueue first, by design) → sessions Query \
                    by_user → every session's DeleteItem concurrently",
    },
    RouteSpec {
        key: "SQS erasure queue (1 message)",
        function: "erasure",
        expect_status: 0,
        min_stages: 3,
        min_chain: "[user GetItem ∥ sessions Query ∥ S3 ListObjectVersions] (all keyed by the user \
                    id in the message) → [S3 DeleteObject per version ∥ iProov DELETE users/*] → \
                    users TransactWriteItems (last, by design: it lets a retry find the rest). \
                    Every 50th call adds the iProov OAuth token fetch before the DELETE",
    },
];

pub fn spec(key: &str) -> &'static RouteSpec {
    ROUTES.iter().find(|r| r.key == key).expect("known route")
}

/// Settings from the command line.
pub struct Config {
    pub root: PathBuf,
    pub x86_dir: PathBuf,
    pub arm64_dir: PathBuf,
    pub sandbox: PathBuf,
    pub local_dir: PathBuf,
    pub out: PathBuf,
    pub svg: PathBuf,
    /// Warm invocations per route.
    pub n: usize,
    /// Cold starts per function for the init figures.
    pub cold: usize,
    /// Rounds of the validator throughput test (one message, then a batch of ten, each round).
    pub rounds: usize,
    pub command: String,
}

impl Config {
    fn from_args() -> Result<Config, Error> {
        let mut args = std::env::args().skip(1);
        let root = std::env::current_dir()?;
        let mut c = Config {
            x86_dir: root.join("target/bench/lambda-x86_64"),
            arm64_dir: root.join("target/bench/lambda-arm64"),
            sandbox: root.join("target/bench/lambda-x86_64/iproov-sandbox/bootstrap"),
            local_dir: root.join("target/bench/local"),
            out: root.join("docs/performance.md"),
            svg: root.join("docs/performance.svg"),
            root,
            n: 200,
            cold: 20,
            rounds: 5,
            command: "make bench".to_owned(),
        };
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--root" => c.root = PathBuf::from(value()?),
                "--x86-dir" => c.x86_dir = PathBuf::from(value()?),
                "--arm64-dir" => c.arm64_dir = PathBuf::from(value()?),
                "--sandbox" => c.sandbox = PathBuf::from(value()?),
                "--local-dir" => c.local_dir = PathBuf::from(value()?),
                "--out" => c.out = PathBuf::from(value()?),
                "--svg" => c.svg = PathBuf::from(value()?),
                "-n" | "--invocations" => c.n = value()?.parse()?,
                "--cold-starts" => c.cold = value()?.parse()?,
                "--rounds" => c.rounds = value()?.parse()?,
                "--command" => c.command = value()?,
                "-h" | "--help" => {
                    println!(
                        "{}",
                        include_str!("main.rs")
                            .lines()
                            .take(10)
                            .collect::<Vec<_>>()
                            .join("\n")
                    );
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other}").into()),
            }
        }
        if c.n < 1 {
            return Err("-n must be at least 1".into());
        }
        // Absolute paths: function processes run in their own directory.
        for p in [
            &mut c.root,
            &mut c.x86_dir,
            &mut c.arm64_dir,
            &mut c.sandbox,
            &mut c.local_dir,
            &mut c.out,
            &mut c.svg,
        ] {
            if p.is_relative() {
                *p = std::env::current_dir()?.join(&*p);
            }
        }
        Ok(c)
    }

    pub fn bootstrap(&self, function: &str) -> PathBuf {
        self.x86_dir.join(function).join("bootstrap")
    }
}

/// Figures of one function.
#[derive(Default)]
pub struct FunctionResult {
    pub init: Vec<Duration>,
    pub init_cpu: Vec<Duration>,
    pub init_rss_kb: Vec<u64>,
    /// Backend calls made during init (before the first `GET …/next`), over all cold starts.
    pub init_calls: usize,
    pub max_rss_kb: u64,
    pub size_x86: Option<u64>,
    pub size_arm64: Option<u64>,
    /// The first invocation of the long-lived process (cold: lazy secrets, first connections).
    pub first: Option<(String, Sample)>,
    pub warm_invocations: u64,
}

#[derive(Default)]
pub struct RouteResult {
    pub samples: Vec<Sample>,
    pub unexpected: Vec<String>,
}

/// The validator throughput test.
#[derive(Default)]
pub struct Throughput {
    pub latency_ms: u64,
    pub single: Vec<Sample>,
    pub batch: Vec<Sample>,
}

pub struct Results {
    pub functions: BTreeMap<&'static str, FunctionResult>,
    pub routes: BTreeMap<&'static str, RouteResult>,
    pub throughput: Throughput,
    pub started: time::OffsetDateTime,
    pub wall: Duration,
    pub sandbox_stats: Value,
    /// Calibration: (variant, CPU µs per call, wall µs per call).
    pub probes: Vec<(String, f64, f64)>,
    /// Calibration: start-up steps (name, median ms).
    pub init_steps: Vec<(String, f64)>,
    /// `/proc/loadavg` when the measurements started and ended.
    pub load: (String, String),
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Every sample, for analysis beyond the report (`<local-dir>/samples.json`).
fn dump(cfg: &Config, r: &Results) -> Result<(), Error> {
    let routes: serde_json::Map<String, Value> = r
        .routes
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_owned(),
                Value::Array(v.samples.iter().map(Sample::to_json).collect()),
            )
        })
        .collect();
    let functions: serde_json::Map<String, Value> = r
        .functions
        .iter()
        .map(|(k, f)| {
            (
                (*k).to_owned(),
                json!({
                    "init_us": f.init.iter().map(|d| d.as_micros() as u64).collect::<Vec<_>>(),
                    "init_cpu_us": f.init_cpu.iter().map(|d| d.as_micros() as u64).collect::<Vec<_>>(),
                    "init_rss_kb": f.init_rss_kb,
                    "max_rss_kb": f.max_rss_kb,
                    "first": f.first.as_ref().map(|(route, s)| json!({"route": route, "sample": s.to_json()})),
                }),
            )
        })
        .collect();
    let out = json!({
        "routes": routes,
        "functions": functions,
        "throughput": {
            "latency_ms": r.throughput.latency_ms,
            "single": r.throughput.single.iter().map(Sample::to_json).collect::<Vec<_>>(),
            "batch": r.throughput.batch.iter().map(Sample::to_json).collect::<Vec<_>>(),
        },
        "sandbox_stats": r.sandbox_stats,
        "load": [r.load.0, r.load.1],
    });
    std::fs::write(
        cfg.local_dir.join("samples.json"),
        serde_json::to_string(&out)?,
    )?;
    Ok(())
}

struct Bench<'a> {
    cfg: &'a Config,
    stack: Stack,
    recorder: Recorder,
    /// Lambda's environment plus the function environment, endpoints pointing at the proxies.
    env: BTreeMap<String, String>,
    instances: HashMap<&'static str, Instance>,
    results: Results,
}

/// A person registering, then logging in.
#[derive(Clone)]
struct Person {
    username: String,
    ip: Ipv4Addr,
    registration: String,
    scan_token: String,
    registration_session: String,
    attempts: Vec<(String, String)>,
    sessions: Vec<String>,
}

fn ip(block: u8, i: usize) -> Ipv4Addr {
    // 198.18.0.0/15 is reserved for benchmarks (RFC 2544): one address per simulated client, so
    // the per-IP rate limits (20 per 10 minutes) see many clients, as in production.
    let i = u32::try_from(i).unwrap_or(0);
    let third = u8::try_from(u32::from(block % 2) * 128 + (i / 250) % 128).unwrap_or(0);
    let fourth = u8::try_from(i % 250 + 1).unwrap_or(1);
    Ipv4Addr::new(198, 18 + block / 2, third, fourth)
}

impl Bench<'_> {
    async fn instance(&mut self, function: &'static str) -> Result<&mut Instance, Error> {
        if !self.instances.contains_key(function) {
            self.recorder.drain();
            let log = self
                .cfg
                .local_dir
                .join("logs")
                .join(format!("{function}.log"));
            let inst =
                Instance::start(function, &self.cfg.bootstrap(function), &self.env, &log).await?;
            let init_calls = self.recorder.drain().len();
            let f = self.results.functions.entry(function).or_default();
            f.init.push(inst.init);
            f.init_cpu.push(inst.init_cpu);
            f.init_rss_kb.push(inst.init_rss_kb);
            f.init_calls += init_calls;
            self.instances.insert(function, inst);
        }
        Ok(self.instances.get_mut(function).expect("just started"))
    }

    /// Invokes `route`'s function with `event`; records the sample; returns the payload.
    async fn invoke(&mut self, route: &'static str, event: Vec<u8>) -> Result<Vec<u8>, Error> {
        let function = spec(route).function;
        self.instance(function).await?;
        let stray = self.recorder.drain();
        let inst = self.instances.get_mut(function).expect("started");
        let first = inst.invocations() == 0;
        let done = inst.invoke(event).await?;
        let calls = self.recorder.drain();
        let mut sample = Sample::new(done.answered, done.received, &calls);
        sample.stray += stray.len();
        sample.cpu = done.cpu;
        sample.runq_wait = done.runq_wait;
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
            self.results
                .functions
                .entry(function)
                .or_default()
                .warm_invocations += 1;
        }
        Ok(payload)
    }

    /// An API call through `route`'s function; checks the status the route should answer.
    async fn http(&mut self, route: &'static str, req: HttpRequest<'_>) -> Result<Value, Error> {
        let payload = self.invoke(route, events::apigw(&req)).await?;
        let answer = events::http_answer(&payload)?;
        if answer.status != spec(route).expect_status {
            let note = format!("status {}: {}", answer.status, answer.body);
            let r = self.results.routes.entry(route).or_default();
            if r.unexpected.len() < 5 {
                eprintln!("bench: {route}: unexpected {note}");
            }
            r.unexpected.push(note);
        }
        Ok(answer.body)
    }

    async fn sqs(
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

    fn say(&self, what: &str) {
        println!("bench: {what}");
    }

    async fn cold_starts(&mut self) -> Result<(), Error> {
        self.say(&format!(
            "init: {} cold starts of each of {} functions",
            self.cfg.cold,
            FUNCTIONS.len()
        ));
        for _ in 0..self.cfg.cold {
            for function in FUNCTIONS {
                self.recorder.drain();
                let log = self
                    .cfg
                    .local_dir
                    .join("logs")
                    .join(format!("{function}.cold.log"));
                let inst =
                    Instance::start(function, &self.cfg.bootstrap(function), &self.env, &log)
                        .await?;
                let init_calls = self.recorder.drain().len();
                let f = self.results.functions.entry(function).or_default();
                f.init.push(inst.init);
                f.init_cpu.push(inst.init_cpu);
                f.init_rss_kb.push(inst.init_rss_kb);
                f.init_calls += init_calls;
                let stopped = inst.stop();
                f.max_rss_kb = f.max_rss_kb.max(stopped.max_rss_kb);
            }
        }
        Ok(())
    }

    async fn journeys(&mut self) -> Result<(), Error> {
        let n = self.cfg.n;
        // Messages for the throughput test: one single and one batch of ten per round.
        let spare = self.cfg.rounds * 11;
        let reg_queue = self.stack.var("REGISTRATION_QUEUE_URL")?.to_owned();
        let erasure_queue = self.stack.var("ERASURE_QUEUE_URL")?.to_owned();
        let health = |i: usize| HttpRequest::new("GET", "/v1/health", None, ip(0, i));

        self.say(&format!("floor and health: {} invocations each", n + 1));
        for i in 0..=n {
            self.invoke("floor (empty handler)", events::apigw(&health(i)))
                .await?;
        }
        for i in 0..=n {
            self.http("GET /v1/health", health(i)).await?;
        }

        let run = uuid::Uuid::new_v4().simple().to_string();
        let people_count = n + 1 + spare;
        self.say(&format!(
            "registration: {people_count} people start, poll, scan and submit"
        ));
        let mut people: Vec<Person> = Vec::with_capacity(people_count);
        for i in 0..people_count {
            let username = format!("b{}.{i:04}", &run[..8]);
            let source_ip = ip(2, i);
            let body = self
                .http(
                    "POST /v1/users/registration",
                    HttpRequest::new("POST", "/v1/users/registration", None, source_ip).with_body(
                        json!({"username": username, "display_name": format!("Zoë Bench {i}")}),
                    ),
                )
                .await?;
            people.push(Person {
                username,
                ip: source_ip,
                registration: body["session_token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                scan_token: body["iproov"]["token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                registration_session: String::new(),
                attempts: Vec::new(),
                sessions: Vec::new(),
            });
        }
        people.retain(|p| !p.registration.is_empty() && !p.scan_token.is_empty());
        if people.len() < n + 1 + spare {
            return Err(format!("only {} registrations started", people.len()).into());
        }
        for p in people.iter().take(n + 1) {
            let source_ip = p.ip;
            self.http(
                "GET /v1/users/registration (awaiting scan)",
                HttpRequest::new(
                    "GET",
                    "/v1/users/registration",
                    Some(&p.registration),
                    source_ip,
                ),
            )
            .await?;
        }
        for p in &people {
            self.stack.pass_scan(&p.scan_token).await?;
        }
        for p in &people {
            let source_ip = p.ip;
            self.http(
                "POST /v1/users",
                HttpRequest::new("POST", "/v1/users", Some(&p.registration), source_ip),
            )
            .await?;
        }

        let route = "SQS registration queue (1 message)";
        let handles = |ms: &[Value]| -> Vec<String> {
            ms.iter()
                .filter_map(|m| m["ReceiptHandle"].as_str().map(str::to_owned))
                .collect()
        };
        let mut messages = self.stack.receive(&reg_queue, people.len()).await?;
        if messages.len() < n + 1 + spare {
            return Err(format!("only {} scan messages arrived", messages.len()).into());
        }
        // The validator's first (cold) invocation, then the throughput test while the users table
        // is still nearly empty: moto deep-copies a whole table on every TransactWriteItems, so
        // its cost grows with the table (see docs/performance.md); then the warm samples.
        let first: Vec<Value> = messages.drain(..1).collect();
        self.sqs(route, &reg_queue, &first).await?;
        self.stack.delete(&reg_queue, &handles(&first)).await?;
        let spares: Vec<Value> = messages.drain(..spare).collect();

        let latency = 100;
        self.say(&format!(
            "scan validator throughput: {} rounds of 1 message and a batch of 10, iProov latency {latency} ms",
            self.cfg.rounds
        ));
        self.stack.sandbox_latency(latency).await?;
        self.results.throughput.latency_ms = latency;
        for round in spares.chunks(11) {
            if round.len() < 11 {
                break;
            }
            let (one, ten) = round.split_at(1);
            for (batch, is_single) in [(one, true), (ten, false)] {
                self.recorder.drain();
                let inst = self
                    .instances
                    .get_mut("scan-validator")
                    .ok_or("validator not started")?;
                let done = inst.invoke(events::sqs(&reg_queue, batch)).await?;
                let mut sample = Sample::new(done.answered, done.received, &self.recorder.drain());
                sample.cpu = done.cpu;
                sample.runq_wait = done.runq_wait;
                let answer: Value = serde_json::from_slice(&done.body).unwrap_or(Value::Null);
                if answer["batchItemFailures"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
                    || done.error
                {
                    return Err(format!("validator batch failed: {answer}").into());
                }
                if is_single {
                    self.results.throughput.single.push(sample);
                } else {
                    self.results.throughput.batch.push(sample);
                }
            }
            self.stack.delete(&reg_queue, &handles(round)).await?;
        }
        self.stack.sandbox_latency(0).await?;

        self.say("scan validator: one message per invocation");
        for m in &messages {
            self.sqs(route, &reg_queue, std::slice::from_ref(m)).await?;
        }
        self.stack.delete(&reg_queue, &handles(&messages)).await?;

        self.say("registration status once completed (opens the login session)");
        for p in &mut people {
            let source_ip = p.ip;
            let body = self
                .http(
                    "GET /v1/users/registration (completed)",
                    HttpRequest::new(
                        "GET",
                        "/v1/users/registration",
                        Some(&p.registration),
                        source_ip,
                    ),
                )
                .await?;
            p.registration_session = body["login"]["session_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
        }
        people.retain(|p| !p.registration_session.is_empty());
        people.truncate(n + 1);
        if people.len() < n + 1 {
            return Err(format!("only {} registrations completed", people.len()).into());
        }

        self.say("login: two verify-logins, scans and logins per person");
        let mut k = 0;
        for _ in 0..2 {
            for p in &mut people {
                k += 1;
                let body = self
                    .http(
                        "POST /v1/verify-login",
                        HttpRequest::new("POST", "/v1/verify-login", None, ip(1, k))
                            .with_body(json!({"username": p.username})),
                    )
                    .await?;
                let attempt = body["attempt_token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let token = body["iproov"]["token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                p.attempts.push((attempt, token));
            }
        }
        for p in &people {
            for (_, token) in &p.attempts {
                self.stack.pass_scan(token).await?;
            }
        }
        k = 0;
        for round in 0..2 {
            for p in &mut people {
                k += 1;
                let Some((attempt, _)) = p.attempts.get(round).cloned() else {
                    continue;
                };
                let body = self
                    .http(
                        "POST /v1/login",
                        HttpRequest::new("POST", "/v1/login", Some(&attempt), ip(1, k)),
                    )
                    .await?;
                p.sessions.push(
                    body["session_token"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
        }

        self.say("account: my account, logout, erasure request");
        for (i, p) in people.iter().enumerate() {
            let s = p.sessions.first().cloned().unwrap_or_default();
            self.http(
                "GET /v1/users",
                HttpRequest::new("GET", "/v1/users", Some(&s), ip(3, i)),
            )
            .await?;
        }
        for (i, p) in people.iter().enumerate() {
            let s = p.sessions.get(1).cloned().unwrap_or_default();
            self.http(
                "POST /v1/logout",
                HttpRequest::new("POST", "/v1/logout", Some(&s), ip(3, i)),
            )
            .await?;
        }
        // Left: the session from registration and the first login — two live sessions.
        for (i, p) in people.iter().enumerate() {
            let s = p.sessions.first().cloned().unwrap_or_default();
            self.http(
                "DELETE /v1/users (2 live sessions)",
                HttpRequest::new("DELETE", "/v1/users", Some(&s), ip(3, i)),
            )
            .await?;
        }

        self.say("erasure: one message per invocation");
        let messages = self.stack.receive(&erasure_queue, people.len()).await?;
        for m in &messages {
            self.sqs(
                "SQS erasure queue (1 message)",
                &erasure_queue,
                std::slice::from_ref(m),
            )
            .await?;
        }
        self.stack
            .delete(&erasure_queue, &handles(&messages))
            .await?;
        Ok(())
    }

    fn stop_all(&mut self) {
        for (name, inst) in self.instances.drain() {
            let stopped = inst.stop();
            let f = self.results.functions.entry(name).or_default();
            f.max_rss_kb = f.max_rss_kb.max(stopped.max_rss_kb);
        }
    }
}

fn file_size(path: PathBuf) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

async fn run(cfg: &Config) -> Result<Results, Error> {
    let started_at = Instant::now();
    for f in FUNCTIONS {
        if !cfg.bootstrap(f).exists() {
            return Err(format!(
                "{} is missing; build with `make bench`",
                cfg.bootstrap(f).display()
            )
            .into());
        }
    }
    let _ = std::fs::remove_dir_all(&cfg.local_dir);
    std::fs::create_dir_all(cfg.local_dir.join("logs"))?;
    println!("bench: starting moto, provisioning template.yaml, starting the iProov sandbox");
    let stack = Stack::start(&stack::Paths {
        root: &cfg.root,
        local_dir: &cfg.local_dir,
        sandbox_binary: &cfg.sandbox,
    })
    .await?;
    let recorder = Recorder::default();
    let aws_proxy = proxy::start(&stack.aws_endpoint, proxy::Kind::Aws, recorder.clone()).await?;
    let iproov_proxy =
        proxy::start(&stack.sandbox_url, proxy::Kind::IProov, recorder.clone()).await?;

    // What Lambda gives every function (reserved variables win over the template's).
    let mut env = stack.env.clone();
    for (k, v) in [
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            runtime::MEMORY_MB.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_REGION", stack::REGION.to_owned()),
        ("AWS_DEFAULT_REGION", stack::REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "ASIABENCHLOCAL0000000".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
        ("AWS_SESSION_TOKEN", "local-session-token".to_owned()),
        ("_HANDLER", "bootstrap".to_owned()),
        ("LAMBDA_TASK_ROOT", "/var/task".to_owned()),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime".to_owned()),
        ("TZ", ":UTC".to_owned()),
        ("LANG", "en_US.UTF-8".to_owned()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".to_owned()),
        ("AWS_ENDPOINT_URL", aws_proxy.clone()),
        ("IPROOV_BASE_URL", format!("{iproov_proxy}/api/v2")),
    ] {
        env.insert(k.to_owned(), v);
    }

    let mut results = Results {
        functions: BTreeMap::new(),
        routes: BTreeMap::new(),
        throughput: Throughput::default(),
        started: time::OffsetDateTime::now_utc(),
        wall: Duration::ZERO,
        sandbox_stats: Value::Null,
        probes: Vec::new(),
        init_steps: Vec::new(),
        load: (loadavg(), String::new()),
    };
    for f in FUNCTIONS {
        let r = results.functions.entry(f).or_default();
        r.size_x86 = file_size(cfg.bootstrap(f));
        r.size_arm64 = file_size(cfg.arm64_dir.join(f).join("bootstrap"));
    }
    let mut bench = Bench {
        cfg,
        stack,
        recorder,
        env,
        instances: HashMap::new(),
        results,
    };
    let outcome = async {
        bench.cold_starts().await?;
        bench.journeys().await
    }
    .await;
    bench.stop_all();
    if outcome.is_ok() {
        bench.results.probes = probes(&bench.stack).await?;
        bench.results.init_steps = init_probes(&bench.env).await?;
    }
    bench.results.sandbox_stats = bench.stack.sandbox_stats().await.unwrap_or(Value::Null);
    bench.stack.stop();
    outcome?;
    bench.results.wall = started_at.elapsed();
    bench.results.load.1 = loadavg();
    Ok(bench.results)
}

/// Runs the calibration probe (src/probe.rs) in child processes, straight against moto.
async fn probes(stack: &Stack) -> Result<Vec<(String, f64, f64)>, Error> {
    println!("bench: calibration: CPU per DynamoDB GetItem (SDK vs bare HTTP, runtime flavours)");
    let table = stack.var("USERS_TABLE")?.to_owned();
    let mut out = Vec::new();
    for (label, flavor, kind) in [
        (
            "AWS SDK, multi-thread runtime (as the functions)",
            "multi",
            "sdk",
        ),
        ("AWS SDK, current-thread runtime", "current", "sdk"),
        (
            "bare HTTP request (reqwest), multi-thread runtime",
            "multi",
            "raw",
        ),
        (
            "bare HTTP request (reqwest), current-thread runtime",
            "current",
            "raw",
        ),
    ] {
        let output = std::process::Command::new(std::env::current_exe()?)
            .args(["--probe", &stack.aws_endpoint, &table, "300", flavor, kind])
            .env_clear()
            .envs([
                ("AWS_ACCESS_KEY_ID", "local"),
                ("AWS_SECRET_ACCESS_KEY", "local"),
                ("AWS_SESSION_TOKEN", "local"),
                ("AWS_REGION", stack::REGION),
            ])
            .output()?;
        let v: Value = serde_json::from_slice(&output.stdout).map_err(|_| {
            format!(
                "probe {label} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
        out.push((
            label.to_owned(),
            v["cpu_us_per_call"].as_f64().unwrap_or(f64::NAN),
            v["wall_us_per_call"].as_f64().unwrap_or(f64::NAN),
        ));
    }
    Ok(out)
}

/// Start-up steps of the functions, timed one by one in fresh processes (median of 15).
async fn init_probes(env: &BTreeMap<String, String>) -> Result<Vec<(String, f64)>, Error> {
    println!("bench: calibration: start-up steps");
    let mut runs: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for _ in 0..15 {
        let output = std::process::Command::new(std::env::current_exe()?)
            .args(["--probe", "init"])
            .env_clear()
            .envs(env)
            .output()?;
        let v: Value = serde_json::from_slice(&output.stdout).map_err(|_| {
            format!(
                "init probe failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
        if let Some(o) = v.as_object() {
            for (k, x) in o {
                runs.entry(k.clone())
                    .or_default()
                    .push(x.as_f64().unwrap_or(f64::NAN));
            }
        }
    }
    Ok(runs
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_by(f64::total_cmp);
            (k, v[v.len() / 2])
        })
        .collect())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--probe") {
        let outcome = if args.get(2).map(String::as_str) == Some("init") {
            probe::Probe::init_steps()
        } else {
            probe::Probe::from_args(&args[2..]).and_then(|p| p.run())
        };
        if let Err(e) = outcome {
            eprintln!("probe: {e}");
            std::process::exit(2);
        }
        return;
    }
    let cfg = match Config::from_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let outcome = rt.block_on(async {
        tokio::select! {
            r = run(&cfg) => r,
            _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
        }
    });
    let results = match outcome {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench: failed: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = dump(&cfg, &results) {
        eprintln!("bench: cannot write samples.json: {e}");
    }
    let report = report::Report::new(&cfg, &results);
    if let Err(e) = report.write(&cfg) {
        eprintln!("bench: cannot write the report: {e}");
        std::process::exit(2);
    }
    print!("{}", report.summary());
    std::process::exit(if report.all_pass() { 0 } else { 1 });
}
