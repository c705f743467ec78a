//! The Lambda Runtime API, emulated: one server per function process, speaking the protocol the
//! Rust runtime client (`lambda_runtime`) and the Python and Node floors' bootstraps
//! (`infra/bench/floor-python`, `floor-node`) speak to Lambda —
//! `GET /2018-06-01/runtime/invocation/next`, `POST …/{id}/response`, `POST …/{id}/error` and
//! `POST /2018-06-01/runtime/init/error` — and taking the timestamps Lambda reports:
//!
//! * **init duration**: from just before the process is spawned to the first `GET …/next`;
//! * **invoke duration**: from the moment `…/next` answers with the event to the moment the
//!   complete `…/response` (or `…/error`) body has been received.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::Error;

/// Memory the functions are deployed with (template Globals), given as Lambda gives it.
pub const MEMORY_MB: u32 = 128;
/// Longest a single invocation may take before the harness gives up on it.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
const INIT_TIMEOUT: Duration = Duration::from_secs(30);

/// One invocation handed to the function.
struct Pending {
    id: String,
    event: Bytes,
    done: oneshot::Sender<Done>,
}

/// How the function answered.
#[derive(Debug)]
pub struct Done {
    pub answered: Instant,
    pub received: Instant,
    pub body: Bytes,
    pub error: bool,
    /// CPU time the process used during the invocation (read just before the event is handed
    /// over and just after the answer arrived, so it includes a few µs of the runtime client
    /// around the window).
    pub cpu: Duration,
    /// Time its threads were runnable but waited for a CPU (other processes had it).
    pub runq_wait: Duration,
}

#[derive(Default)]
struct Shared {
    first_next: Mutex<Option<Instant>>,
    ready: Notify,
    init_error: Mutex<Option<String>>,
    inflight: Mutex<HashMap<String, (Instant, oneshot::Sender<Done>)>>,
}

struct Rt {
    shared: Arc<Shared>,
    queue: tokio::sync::Mutex<mpsc::Receiver<Pending>>,
    function_arn: String,
}

/// How a function's process is started: a program with its arguments, in its directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<std::ffi::OsString>,
    pub dir: PathBuf,
    /// What runs a script bootstrap (interpreter and version, with its executable), for the report.
    pub runner: Option<String>,
}

impl Launch {
    /// A compiled bootstrap, run as Lambda runs it (in its own directory).
    pub fn bootstrap(binary: &Path) -> Launch {
        Launch {
            program: binary.to_owned(),
            args: Vec::new(),
            dir: binary.parent().unwrap_or(Path::new("/")).to_owned(),
            runner: None,
        }
    }

    /// The bootstrap `script` run by `spec`'s interpreter, found in `path_var` (a `PATH` value)
    /// and resolved to the executable the interpreter names as its own, so that a version
    /// manager's shim (pyenv's is a shell script) is not timed with it. `Err` says why not:
    /// `"python3 not found"`, or that it did not run.
    pub fn script(
        spec: &crate::catalogue::Script,
        script: &Path,
        path_var: Option<&std::ffi::OsStr>,
    ) -> Result<Launch, String> {
        let name = spec.interpreter;
        let found = path_var
            .and_then(|p| which(name, p))
            .ok_or_else(|| format!("{name} not found"))?;
        let out = Command::new(&found)
            .args(spec.identify)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{name} did not start: {e}"))?;
        if !out.status.success() {
            let why = String::from_utf8_lossy(&out.stderr);
            let why = why.lines().next().unwrap_or_default();
            return Err(format!("{name} did not run ({}): {why}", out.status));
        }
        let said = String::from_utf8_lossy(&out.stdout);
        let mut lines = said.lines().map(str::trim);
        let program = lines
            .next()
            .filter(|p| !p.is_empty())
            .map_or(found, PathBuf::from);
        let version = lines.next().unwrap_or(name);
        Ok(Launch {
            runner: Some(format!("{version} (`{}`)", program.display())),
            program,
            args: spec
                .options
                .iter()
                .map(Into::into)
                .chain([script.as_os_str().to_owned()])
                .collect(),
            dir: script.parent().unwrap_or(Path::new("/")).to_owned(),
        })
    }
}

/// The first executable file named `name` in the directories of `path_var`, as a shell finds it.
pub fn which(name: &str, path_var: &std::ffi::OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path_var)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// A function process under the emulated runtime.
pub struct Instance {
    pub name: String,
    child: Child,
    pub pid: u32,
    tx: mpsc::Sender<Pending>,
    server: tokio::task::JoinHandle<()>,
    /// Process start → first `GET …/next`.
    pub init: Duration,
    /// CPU time the process used until its first `GET …/next` (all threads, from schedstat).
    pub init_cpu: Duration,
    /// Peak RSS when init finished.
    pub init_rss_kb: u64,
    invocations: u64,
}

/// What a stopped instance leaves behind.
pub struct Stopped {
    pub max_rss_kb: u64,
}

impl Instance {
    /// Spawns `launch` with Lambda's environment (`env` on top of a clean one) and waits for
    /// its first `GET …/next`.
    pub async fn start(
        name: &str,
        launch: &Launch,
        env: &BTreeMap<String, String>,
        log: &Path,
    ) -> Result<Instance, Error> {
        let (tx, rx) = mpsc::channel(1);
        let shared = Arc::new(Shared::default());
        let rt = Arc::new(Rt {
            shared: shared.clone(),
            queue: tokio::sync::Mutex::new(rx),
            function_arn: format!("arn:aws:lambda:eu-west-1:123456789012:function:{name}"),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(rt);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });

        let mut command = Command::new(&launch.program);
        command
            .args(&launch.args)
            .env_clear()
            .envs(env)
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                format!("bench/{}", uuid::Uuid::new_v4().simple()),
            )
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .current_dir(&launch.dir)
            .stdin(Stdio::null());
        let out = File::options().create(true).append(true).open(log)?;
        command.stdout(out.try_clone()?).stderr(out);
        let spawned = Instant::now();
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", launch.program.display()))?;
        let pid = child.id();
        let mut instance = Instance {
            name: name.to_owned(),
            child,
            pid,
            tx,
            server,
            init: Duration::ZERO,
            init_cpu: Duration::ZERO,
            init_rss_kb: 0,
            invocations: 0,
        };
        let deadline = Instant::now() + INIT_TIMEOUT;
        loop {
            if let Some(at) = *shared.first_next.lock().unwrap() {
                instance.init = at - spawned;
                break;
            }
            if let Some(err) = shared.init_error.lock().unwrap().take() {
                return Err(format!("{name}: init error reported: {err}").into());
            }
            if let Some(status) = instance.child.try_wait()? {
                return Err(format!(
                    "{name} exited during init ({status}); see {}",
                    log.display()
                )
                .into());
            }
            if Instant::now() > deadline {
                return Err(format!("{name}: no GET /next within {INIT_TIMEOUT:?}").into());
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), shared.ready.notified()).await;
        }
        // The process now blocks in GET /next, so these read the state at the end of init.
        instance.init_cpu = cpu_time(pid);
        instance.init_rss_kb = peak_rss_kb(pid).unwrap_or(0);
        Ok(instance)
    }

    /// One invocation: hands `event` to the function and waits for its answer.
    pub async fn invoke(&mut self, event: Vec<u8>) -> Result<Done, Error> {
        let before = sched(self.pid);
        let mut done = self.invoke_inner(event).await?;
        let after = sched(self.pid);
        done.cpu = after.0.saturating_sub(before.0);
        done.runq_wait = after.1.saturating_sub(before.1);
        Ok(done)
    }

    async fn invoke_inner(&mut self, event: Vec<u8>) -> Result<Done, Error> {
        let (done_tx, mut done_rx) = oneshot::channel();
        let id = uuid::Uuid::new_v4().to_string();
        self.tx
            .send(Pending {
                id,
                event: Bytes::from(event),
                done: done_tx,
            })
            .await
            .map_err(|_| "runtime emulator stopped")?;
        let deadline = Instant::now() + INVOKE_TIMEOUT;
        loop {
            match tokio::time::timeout(Duration::from_millis(200), &mut done_rx).await {
                Ok(Ok(done)) => {
                    self.invocations += 1;
                    return Ok(done);
                }
                Ok(Err(_)) => return Err("invocation dropped".into()),
                Err(_) => {
                    if let Some(status) = self.child.try_wait()? {
                        return Err(format!(
                            "{} exited during an invocation ({status})",
                            self.name
                        )
                        .into());
                    }
                    if Instant::now() > deadline {
                        return Err(
                            format!("{}: no answer within {INVOKE_TIMEOUT:?}", self.name).into(),
                        );
                    }
                }
            }
        }
    }

    pub fn invocations(&self) -> u64 {
        self.invocations
    }

    /// Reads the peak RSS, then kills the process (as Lambda does when it retires a sandbox).
    pub fn stop(mut self) -> Stopped {
        let max_rss_kb = peak_rss_kb(self.pid).unwrap_or(0);
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.server.abort();
        Stopped { max_rss_kb }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        self.server.abort();
    }
}

fn deadline_ms() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from((now + Duration::from_secs(30)).as_millis()).unwrap_or(u64::MAX)
}

async fn next(State(rt): State<Arc<Rt>>) -> Response {
    {
        let mut first = rt.shared.first_next.lock().unwrap();
        if first.is_none() {
            *first = Some(Instant::now());
            rt.shared.ready.notify_waiters();
        }
    }
    let pending = {
        let mut queue = rt.queue.lock().await;
        queue.recv().await
    };
    let Some(pending) = pending else {
        return StatusCode::GONE.into_response();
    };
    let mut headers = HeaderMap::new();
    let put = |headers: &mut HeaderMap, name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put(&mut headers, "lambda-runtime-aws-request-id", &pending.id);
    put(
        &mut headers,
        "lambda-runtime-deadline-ms",
        &deadline_ms().to_string(),
    );
    put(
        &mut headers,
        "lambda-runtime-invoked-function-arn",
        &rt.function_arn,
    );
    put(
        &mut headers,
        "lambda-runtime-trace-id",
        &format!(
            "Root=1-{:08x}-{};Parent={};Sampled=0",
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs(),
            &uuid::Uuid::new_v4().simple().to_string()[..24],
            &uuid::Uuid::new_v4().simple().to_string()[..16],
        ),
    );
    put(&mut headers, "content-type", "application/json");
    let answered = Instant::now();
    rt.shared
        .inflight
        .lock()
        .unwrap()
        .insert(pending.id, (answered, pending.done));
    (StatusCode::OK, headers, pending.event).into_response()
}

fn finish(rt: &Rt, id: &str, body: Bytes, error: bool) -> Response {
    let received = Instant::now();
    let Some((answered, done)) = rt.shared.inflight.lock().unwrap().remove(id) else {
        return (StatusCode::BAD_REQUEST, "unknown request id").into_response();
    };
    let _ = done.send(Done {
        answered,
        received,
        body,
        error,
        cpu: Duration::ZERO,
        runq_wait: Duration::ZERO,
    });
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}

async fn response(
    State(rt): State<Arc<Rt>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    finish(&rt, &id, body, false)
}

async fn error(State(rt): State<Arc<Rt>>, UrlPath(id): UrlPath<String>, body: Bytes) -> Response {
    finish(&rt, &id, body, true)
}

async fn init_error(State(rt): State<Arc<Rt>>, body: Bytes) -> Response {
    *rt.shared.init_error.lock().unwrap() = Some(String::from_utf8_lossy(&body).into_owned());
    rt.shared.ready.notify_waiters();
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}

/// VmHWM of a process, in kB.
pub fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU time of all threads of a process (first field of each thread's schedstat, in ns).
pub fn cpu_time(pid: u32) -> Duration {
    sched(pid).0
}

/// Time on CPU and time spent runnable but waiting for a CPU, summed over the process's
/// threads (`/proc/<pid>/task/*/schedstat`).
pub fn sched(pid: u32) -> (Duration, Duration) {
    let dir = PathBuf::from(format!("/proc/{pid}/task"));
    let (mut run, mut wait) = (0u64, 0u64);
    if let Ok(tasks) = std::fs::read_dir(dir) {
        for task in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(task.path().join("schedstat")) {
                let mut fields = s.split_whitespace().map(|v| v.parse::<u64>().unwrap_or(0));
                run += fields.next().unwrap_or(0);
                wait += fields.next().unwrap_or(0);
            }
        }
    }
    (Duration::from_nanos(run), Duration::from_nanos(wait))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::ffi::OsString;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use super::{Instance, Launch, which};
    use crate::catalogue::{FLOORS, script};
    use crate::events::{self, HttpRequest};

    /// A directory of its own under the system's temporary one.
    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("bench-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    }

    fn file(path: &Path, mode: u32) {
        std::fs::write(path, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn a_command_is_the_first_executable_of_that_name_in_path() {
        // given two directories in PATH, the first with a python3 that is not executable, the
        // second with one that is
        let (a, b) = (scratch(), scratch());
        file(&a.join("python3"), 0o644);
        file(&b.join("python3"), 0o755);
        let path = std::env::join_paths([&a, &b]).expect("PATH");

        // when python3 and node are looked up
        let (python, node) = (which("python3", &path), which("node", &path));

        // then python3 is the executable one, and node is not found
        assert_eq!(python, Some(b.join("python3")));
        assert_eq!(node, None);
        let _ = (std::fs::remove_dir_all(a), std::fs::remove_dir_all(b));
    }

    #[test]
    fn a_floor_whose_interpreter_is_missing_says_so() {
        // given a PATH without python3 or node
        let empty = scratch();
        let path = OsString::from(&empty);

        // when the script floors are to be launched
        let why: Vec<String> = FLOORS
            .iter()
            .filter_map(|f| f.script.as_ref())
            .map(|s| Launch::script(s, Path::new(s.path), Some(&path)).expect_err("missing"))
            .collect();

        // then each says which interpreter was not found
        assert_eq!(why, ["python3 not found", "node not found"]);
        let _ = std::fs::remove_dir_all(empty);
    }

    /// The health check's event, as the floors get it.
    fn event(i: u8) -> Vec<u8> {
        let ip = std::net::Ipv4Addr::new(198, 18, 0, i);
        events::apigw(&HttpRequest::new("GET", "/v1/health", None, ip))
    }

    #[tokio::test]
    async fn the_python_and_node_floors_answer_200_under_the_emulated_runtime() {
        // given the harness's own Runtime API emulator and the script floors, launched as the
        // bench launches them (interpreter from PATH, Lambda's clean environment)
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let logs = scratch();
        let env: BTreeMap<String, String> = [("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        for floor in FLOORS.iter().filter(|f| f.script.is_some()) {
            let spec = script(floor.function).expect("a script floor");
            let launch = match Launch::script(
                spec,
                &root.join(spec.path),
                std::env::var_os("PATH").as_deref(),
            ) {
                Ok(l) => l,
                Err(why) => {
                    // as in the bench: not measured, not a failure
                    eprintln!("{}: not measured: {why}", floor.function);
                    continue;
                }
            };

            // when it starts and is invoked three times with the health check's event
            let log = logs.join(format!("{}.log", floor.function));
            let mut inst = Instance::start(floor.function, &launch, &env, &log)
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "{}: {e}; log: {:?}",
                        floor.function,
                        std::fs::read_to_string(&log)
                    )
                });
            let mut invokes = Vec::new();
            for i in 1..=3 {
                let done = inst.invoke(event(i)).await.expect("an answer");
                assert!(!done.error, "{}: {:?}", floor.function, done.body);
                let answer = events::http_answer(&done.body).expect("an API Gateway answer");

                // then every answer is an API Gateway 200, and init and invocations were timed
                assert_eq!(answer.status, 200, "{}", floor.function);
                invokes.push(done.received - done.answered);
            }
            assert!(inst.init > Duration::ZERO && inst.init_rss_kb > 0);
            assert_eq!(inst.invocations(), 3);
            eprintln!(
                "{}: {}; init {:?} (CPU {:?}, RSS {} kB); invokes {:?}",
                floor.function,
                launch.runner.as_deref().unwrap_or("?"),
                inst.init,
                inst.init_cpu,
                inst.init_rss_kb,
                invokes
            );
            let stopped = inst.stop();
            assert!(stopped.max_rss_kb > 0);
        }
        let _ = std::fs::remove_dir_all(logs);
    }
}
