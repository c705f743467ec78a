//! The report with the floors: given a run's figures, when the page, the summary and the chart
//! are written, then the floors are shown (or said to be missing) and no budget applies to them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Report;
use crate::catalogue::{FLOORS, is_floor};
use crate::cli::Config;
use crate::measure::Sample;
use crate::results::{FunctionResult, Results, RouteResult, Throughput};

fn config() -> Config {
    let dir = std::env::temp_dir().join("bench-report-test");
    Config {
        root: dir.clone(),
        x86_dir: dir.clone(),
        arm64_dir: dir.clone(),
        sandbox: dir.clone(),
        local_dir: dir.clone(),
        out: dir.join("performance.md"),
        svg: dir.join("performance.svg"),
        n: 3,
        cold: 2,
        rounds: 0,
        command: "a test".to_owned(),
    }
}

/// A function started twice in `init_ms`, 2 MiB at most.
fn function(init_ms: u64) -> FunctionResult {
    FunctionResult {
        init: vec![Duration::from_millis(init_ms); 2],
        init_cpu: vec![Duration::from_millis(init_ms); 2],
        init_rss_kb: vec![2048; 2],
        max_rss_kb: 2048,
        ..FunctionResult::default()
    }
}

/// A route invoked three times in `micros` µs each, no backend call.
fn route(micros: u64) -> RouteResult {
    let t = Instant::now();
    let sample = Sample::new(t, t + Duration::from_micros(micros), &[]);
    RouteResult {
        samples: vec![sample; 3],
        unexpected: Vec::new(),
    }
}

/// The Rust floor (1 ms init) and the Node one (40 ms) measured, the Python one not (no
/// python3), and the health check (1.2 ms); nothing else ran.
fn results() -> Results {
    let mut functions = BTreeMap::new();
    functions.insert("floor", function(1));
    functions.insert(
        "floor-node",
        FunctionResult {
            runner: Some("Node v20.0.0 (`/usr/bin/node`)".to_owned()),
            ..function(40)
        },
    );
    functions.insert(
        "floor-python",
        FunctionResult {
            unavailable: Some("python3 not found".to_owned()),
            ..FunctionResult::default()
        },
    );
    functions.insert("health", function(1));
    let mut routes = BTreeMap::new();
    routes.insert("floor (empty handler)", route(100));
    routes.insert("floor (node, empty handler)", route(900));
    routes.insert("GET /v1/health", route(150));
    Results {
        functions,
        routes,
        throughput: Throughput::default(),
        route_probes: BTreeMap::new(),
        started: time::OffsetDateTime::UNIX_EPOCH,
        wall: Duration::ZERO,
        sandbox_stats: Value::Null,
        probes: Vec::new(),
        init_steps: Vec::new(),
        load: (String::new(), String::new()),
    }
}

#[test]
fn no_budget_applies_to_a_floor_and_the_rust_floor_stays_the_reference() {
    // given a run with the three floors (one not measured) and the health check
    let cfg = config();

    // when it is checked against the budgets
    let report = Report::new(&cfg, &results());

    // then no check is about a floor or its route, and health's init is 1× the Rust floor's
    // (the 40 ms Node floor changes nothing)
    let floor_routes: Vec<&str> = FLOORS.iter().map(|f| f.route).collect();
    assert!(
        report
            .checks
            .iter()
            .all(|c| !is_floor(&c.subject) && !floor_routes.contains(&c.subject.as_str()))
    );
    let health = report
        .checks
        .iter()
        .find(|c| c.subject == "health" && c.budget.starts_with("init"))
        .expect("health's init check");
    assert_eq!(health.value, "1.00 ms = 1.00× floor");
}

#[test]
fn the_page_shows_each_floor_and_says_why_one_is_not_measured() {
    // given the run
    let cfg = config();
    let report = Report::new(&cfg, &results());

    // when the page, the summary and the chart are written
    let page = report.markdown(&cfg);
    let summary = report.summary();
    let svg = report.svg();

    // then the Python floor's rows say why it is missing, with a cell for every column
    let row = |start: &str| {
        page.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no row {start}"))
            .to_owned()
    };
    let functions = row("| floor-python |");
    assert!(functions.starts_with("| floor-python | not measured: python3 not found | – |"));
    assert_eq!(functions.matches('|').count(), 14);
    let routes = row("| floor (python, empty handler) | floor-python |");
    assert!(routes.contains("| not measured: python3 not found |"));
    assert_eq!(routes.matches('|').count(), 12);
    // and the Node floor has its figures, 40× the Rust floor's init, with what ran it
    assert!(row("| floor-node |").starts_with("| floor-node | 2 | 40.00 | 40.00 | 40.00 |"));
    assert!(page.contains("`floor-node` (Node, `infra/bench/floor-node/bootstrap`): Node v20.0.0"));
    assert!(page.contains("`floor-python` (Python, `infra/bench/floor-python/bootstrap`): not measured: python3 not found"));
    // and the summary too; the chart shows the Rust floor only
    assert!(summary.contains("floor-python     not measured: python3 not found"));
    assert!(summary.contains("floor (node, empty handler)"));
    assert!(svg.contains(">floor<") && !svg.contains("floor-node"));
}

#[test]
fn the_warm_budget_compares_each_route_with_its_probe_and_a_miss_fails_the_run() {
    // given the run, with the health check's route probe at 100 µs against its 150 µs
    let cfg = config();
    let mut r = results();
    r.route_probes.insert("GET /v1/health", route(100));

    // when it is reported
    let report = Report::new(&cfg, &r);
    let page = report.markdown(&cfg);

    // then the health check misses the warm budget by its ratio, 1.5× (limit 1.3 × 0.1 ms):
    // one row in the probe table, one failed check, and make bench exits 1
    assert!(page.contains(
        "| GET /v1/health | 3 | 0.150 | 0.150 | 3 | 0.100 | 0.100 | 1.50 | 1.50 | **miss** |"
    ));
    let check = report
        .checks
        .iter()
        .find(|c| c.budget.starts_with("warm own p99") && c.subject == "GET /v1/health")
        .expect("health's warm check");
    assert_eq!(
        (check.pass, check.limit.as_str()),
        (Some(false), "0.130 ms")
    );
    assert!(!report.all_pass());
    assert!(report.summary().contains("1.50"));

    // and without a probe the check is not measured: no failure, make bench exits 0
    let unprobed = Report::new(&cfg, &results());
    assert!(unprobed.all_pass());
    assert!(
        unprobed
            .checks
            .iter()
            .filter(|c| c.budget.starts_with("warm own p99"))
            .all(|c| c.pass.is_none())
    );
}
