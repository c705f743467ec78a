//! The model on a small fixture: given measured figures and prices, when computed, then the
//! dollars a hand calculation gives (in the comments).

use std::time::Duration;

use super::journeys::{Journey, Step};
use super::prices::Prices;
use super::rules::{Assumptions, Line};
use super::template::TemplateFacts;
use super::{FunctionRun, Invocation, Measured, Model, RouteRun};
use crate::catalogue::{AUDIT_BATCH, AUDIT_ONE};
use crate::proxy::CallSize;

/// Round prices, so the expected dollars can be worked out by hand.
const PRICES: &str = r#"{"region":"test-1","architecture":"arm64","currency":"USD","read_on":"2026-12-01","note":"fixture",
 "prices":{
  "lambda_requests":{"usd":0.20,"per":1000000,"unit":"invocations","source":"s","read_on":"d","region_specific":false},
  "lambda_arm64_gb_seconds":{"usd":0.0000133334,"per":1,"unit":"GB-seconds","source":"s","read_on":"d","region_specific":false},
  "api_gateway_http_requests":{"usd":1.00,"per":1000000,"unit":"requests","source":"s","read_on":"d","region_specific":true},
  "dynamodb_write_request_units":{"usd":1.00,"per":1000000,"unit":"WRU","source":"s","read_on":"d","region_specific":true},
  "dynamodb_read_request_units":{"usd":0.25,"per":1000000,"unit":"RRU","source":"s","read_on":"d","region_specific":true},
  "sqs_standard_requests":{"usd":0.40,"per":1000000,"unit":"requests","source":"s","read_on":"d","region_specific":false},
  "s3_standard_put_copy_post_list":{"usd":0.005,"per":1000,"unit":"requests","source":"s","read_on":"d","region_specific":false},
  "s3_standard_get":{"usd":0.0004,"per":1000,"unit":"requests","source":"s","read_on":"d","region_specific":false},
  "s3_standard_storage_gb_months":{"usd":0.024,"per":1,"unit":"GB-months","source":"s","read_on":"d","region_specific":true},
  "kms_symmetric_requests":{"usd":0.03,"per":10000,"unit":"requests","source":"s","read_on":"d","region_specific":false},
  "kms_asymmetric_requests":{"usd":0.15,"per":10000,"unit":"requests","source":"s","read_on":"d","region_specific":false},
  "secrets_manager_api_calls":{"usd":0.05,"per":10000,"unit":"calls","source":"s","read_on":"d","region_specific":false},
  "cloudwatch_logs_ingestion_gb":{"usd":1.073741824,"per":1,"unit":"GB","source":"s","read_on":"d","region_specific":true},
  "xray_traces_recorded":{"usd":5.00,"per":1000000,"unit":"traces","source":"s","read_on":"d","region_specific":false}
 }}"#;

const API: &str = "POST /a";
const QUEUE: &str = "SQS q (1 message)";
const FLOOR: &str = "floor (empty handler)";

const BOTH: Journey = Journey {
    name: "both",
    what: "an API call and the message it sends",
    steps: &[
        Step {
            route: API,
            times: 1.0,
        },
        Step {
            route: QUEUE,
            times: 1.0,
        },
    ],
    not_measured: &[],
};
const API_ONLY: Journey = Journey {
    name: "api",
    what: "the API call",
    steps: &[Step {
        route: API,
        times: 1.0,
    }],
    not_measured: &[],
};

fn call(
    service: &str,
    op: &str,
    request_bytes: u64,
    response_bytes: u64,
) -> (String, String, CallSize) {
    let size = CallSize {
        request_bytes,
        response_bytes,
        items: 1,
        consistent: false,
        audit_events: 0,
    };
    (service.to_owned(), op.to_owned(), size)
}

fn warm_api_call(micros: u64) -> Invocation {
    Invocation {
        duration: Duration::from_micros(micros),
        log_bytes: Some(400),
        calls: vec![
            call("dynamodb", "GetItem", 80, 900),
            call("dynamodb", "PutItem", 500, 2),
            call("sqs", "SendMessage", 1000, 100),
            call("iproov", "POST claim/enrol/token", 100, 100),
        ],
    }
}

/// `fa` (128 MB) serves the API route: two warm invocations of 9.2 and 10 ms (both billed
/// 10 ms), each logging 400 bytes, reading an item, writing one, sending a message and calling
/// iProov. `fq` (256 MB) consumes the message in 20 ms: a 1 MiB image stored, one decryption.
fn measured() -> Measured {
    let mut m = Measured::default();
    m.routes.insert(
        API.to_owned(),
        RouteRun {
            function: "fa".to_owned(),
            warm: vec![warm_api_call(9_200), warm_api_call(10_000)],
        },
    );
    m.routes.insert(
        QUEUE.to_owned(),
        RouteRun {
            function: "fq".to_owned(),
            warm: vec![Invocation {
                duration: Duration::from_millis(20),
                log_bytes: Some(0),
                calls: vec![
                    call("s3", "PutObject", 1 << 20, 0),
                    call("kms", "Decrypt", 100, 100),
                ],
            }],
        },
    );
    m
}

fn model(cold_start_share: f64) -> Model {
    Model {
        prices: Prices::parse(PRICES).expect("fixture prices"),
        template: TemplateFacts {
            memory_mb: [("fa".to_owned(), 128), ("fq".to_owned(), 256)]
                .into_iter()
                .collect(),
            global_memory_mb: 128,
            image_retention_days: 365.0,
        },
        // 624 bytes of platform records: 1024 bytes a logged API invocation.
        // Every invocation traced, so the X-Ray figures below are whole traces.
        assumptions: Assumptions {
            cold_start_share,
            platform_log_bytes: 624.0,
            traced_share: 1.0,
            ..Assumptions::default()
        },
    }
}

fn usd(c: &super::JourneyCost, line: Line) -> f64 {
    c.lines
        .iter()
        .find(|l| l.line == line)
        .map_or(f64::NAN, |l| l.usd_per_million)
}

fn assert_usd(got: f64, expected: f64) {
    assert!(
        (got - expected).abs() < 1e-9,
        "got {got}, expected {expected}"
    );
}

#[test]
fn a_journey_costs_the_sum_of_its_invocations_and_calls_at_the_listed_prices() {
    // given the fixture's two routes, no cold starts
    let (model, m) = (model(0.0), measured());

    // when the journey of both is priced
    let c = model.journey(&m, &BOTH);

    // then, per million journeys:
    // Lambda: 2 invocations × $0.20 = $0.40; 10 ms × 0.125 GB + 20 ms × 0.25 GB = 0.00625 GB-s
    // × $13.3334 = $0.08333375; one API request $1.00; 1 WRU $1.00; ½ RRU × $0.25 = $0.125;
    // SQS send + receive + delete 3 × $0.40 = $1.20; S3 PUT $5.00; 1 MiB kept 12 months =
    // 12/1024 GB-months × $24 000 = $281.25; KMS $3.00; logs 1024 + 624 bytes × $1 per 10^9
    // bytes = $1.648; X-Ray 2 traces × $5 = $10; iProov is not an AWS line
    assert!(c.missing.is_empty());
    assert_usd(usd(&c, Line::LambdaRequests), 0.40);
    assert_usd(usd(&c, Line::LambdaGbSeconds), 0.083_333_75);
    assert_usd(usd(&c, Line::ApiGatewayRequests), 1.00);
    assert_usd(usd(&c, Line::DynamoDbWrites), 1.00);
    assert_usd(usd(&c, Line::DynamoDbReads), 0.125);
    assert_usd(usd(&c, Line::SqsRequests), 1.20);
    assert_usd(usd(&c, Line::S3PutListRequests), 5.00);
    assert_usd(usd(&c, Line::S3Storage), 281.25);
    assert_usd(usd(&c, Line::KmsSymmetric), 3.00);
    assert_usd(usd(&c, Line::LogsIngestion), 1.648);
    assert_usd(usd(&c, Line::XRayTraces), 10.00);
    assert_usd(usd(&c, Line::SecretsManager), 0.0);
    assert_usd(c.total_per_million, 304.706_333_75);

    // and the image's storage dominates, with its share of the total
    let d = c.dominant().expect("a dominant line");
    assert_eq!(d.line, Line::S3Storage);
    assert_usd(d.share, 281.25 / 304.706_333_75);
}

#[test]
fn a_cold_start_adds_its_share_of_init_and_of_the_first_invocations_extra_work() {
    // given fa's init (2 and 4 ms: 3 ms on average) and its first invocation on the API route:
    // 14.5 ms, 1400 bytes of logs, the warm calls plus a secret and a decryption; half the
    // invocations cold
    let mut m = measured();
    let mut first = warm_api_call(14_500);
    first.log_bytes = Some(1400);
    first
        .calls
        .push(call("secretsmanager", "GetSecretValue", 100, 100));
    first.calls.push(call("kms", "Decrypt", 100, 100));
    m.functions.insert(
        "fa".to_owned(),
        FunctionRun {
            init: vec![Duration::from_millis(2), Duration::from_millis(4)],
            first: Some((API.to_owned(), first)),
            unavailable: None,
        },
    );

    // when the API call alone is priced
    let c = model(0.5).journey(&m, &API_ONLY);

    // then a cold start is billed ⌈3 + 14.5⌉ = 18 ms against 10 warm: half of 8 ms more at
    // 0.125 GB → (0.00125 + 0.0005) GB-s × $13.3334 = $0.02333345; half a secret per
    // invocation ($2.50), half a decryption ($1.50); half of 1000 more log bytes: 1524 bytes
    // ($1.524); requests, API Gateway and traces unchanged
    assert_usd(usd(&c, Line::LambdaGbSeconds), 0.023_333_45);
    assert_usd(usd(&c, Line::SecretsManager), 2.50);
    assert_usd(usd(&c, Line::KmsSymmetric), 1.50);
    assert_usd(usd(&c, Line::LogsIngestion), 1.524);
    assert_usd(usd(&c, Line::LambdaRequests), 0.20);
    assert_usd(usd(&c, Line::ApiGatewayRequests), 1.00);
    assert_usd(usd(&c, Line::XRayTraces), 5.00);
}

#[test]
fn the_floor_bills_each_invocation_like_an_empty_function_at_the_steps_memory() {
    // given an empty function billed 1 ms warm (0.3 and 0.8 ms), never cold here
    let mut m = measured();
    m.routes.insert(
        FLOOR.to_owned(),
        RouteRun {
            function: "floor".to_owned(),
            warm: vec![
                Invocation {
                    duration: Duration::from_micros(300),
                    log_bytes: None,
                    calls: vec![],
                },
                Invocation {
                    duration: Duration::from_micros(800),
                    log_bytes: None,
                    calls: vec![],
                },
            ],
        },
    );

    // when the journey of both is priced at the floor
    let floor = model(0.0).floor_compute(&m, FLOOR, &BOTH);

    // then 1 ms at 128 MB and 1 ms at 256 MB: 0.000375 GB-s × $13.3334 per million journeys;
    // and no floor where none was measured
    assert_usd(floor.expect("measured"), 0.005_000_025);
    assert_eq!(model(0.0).floor_compute(&m, "floor (python)", &BOTH), None);
}

#[test]
fn a_journey_with_an_unmeasured_route_says_so_and_prices_the_rest() {
    // given a run without the queue route
    let mut m = measured();
    m.routes.remove(QUEUE);

    // when the journey of both is priced
    let c = model(0.0).journey(&m, &BOTH);

    // then the missing route is named and only the API call is priced
    assert_eq!(c.missing, [QUEUE]);
    assert_usd(usd(&c, Line::LambdaRequests), 0.20);
}

#[test]
fn the_page_names_the_prices_date_the_dominating_line_and_the_unmeasured_floors() {
    // given the fixture (its routes are not the project's, so every journey is incomplete)
    let page = super::markdown::page(&model(0.01), &measured(), "a test");

    // when the page is read
    // then it says where the prices come from and when, that they need re-checking, that the
    // floors (none in the fixture) are not measured, and what the Python and Node floors are
    assert!(page.contains("read on 2026-12-01"));
    assert!(page.contains("must be re-checked"));
    assert!(page.contains("| not measured | not measured | not measured |"));
    assert!(page.contains("incomplete"));
    assert!(page.contains("a lower bound, not an estimate"));
    assert!(!page.contains("not measured yet"));
}

/// An empty function `function` on `route`: warm invocations of `warm_us` µs each; `init_ms`
/// per cold start, its first invocation as long as a warm one.
fn floor_run(m: &mut Measured, route: &str, function: &str, warm_us: u64, init_ms: u64) {
    let inv = Invocation {
        duration: Duration::from_micros(warm_us),
        log_bytes: None,
        calls: vec![],
    };
    m.routes.insert(
        route.to_owned(),
        RouteRun {
            function: function.to_owned(),
            warm: vec![inv.clone(), inv.clone()],
        },
    );
    m.functions.insert(
        function.to_owned(),
        FunctionRun {
            init: vec![Duration::from_millis(init_ms)],
            first: Some((route.to_owned(), inv)),
            unavailable: None,
        },
    );
}

#[test]
fn the_floor_table_prices_rust_python_and_node_and_says_why_a_floor_is_missing() {
    // given the Rust floor (0.3 ms warm, 1 ms init) and the Node one (1.2 ms warm, 40 ms init)
    // measured, the Python one not (its interpreter missing), and half the invocations cold
    let mut m = measured();
    floor_run(&mut m, FLOOR, "floor", 300, 1);
    floor_run(
        &mut m,
        "floor (node, empty handler)",
        "floor-node",
        1_200,
        40,
    );
    m.functions.insert(
        "floor-python".to_owned(),
        FunctionRun {
            unavailable: Some("python3 not found".to_owned()),
            ..FunctionRun::default()
        },
    );

    // when the journey of both gets its floor cells
    let cells = super::markdown::floor_cells(&model(0.5), &m, &BOTH);

    // then three cells, Rust, Python, Node, each step at its own memory (128 and 256 MB:
    // 0.375 GB per journey): Rust warm 1 ms, a cold start billed ⌈1 + 0.3⌉ = 2 ms, 1 ms more,
    // half of it: 1.5 ms × 0.375 GB = 0.0005625 GB-s × $13.3334 = $0.0075 per million; Node
    // warm 2 ms, cold ⌈40 + 1.2⌉ = 42 ms, 40 more, half: 22 ms × 0.375 = 0.00825 GB-s =
    // $0.1100; Python says why it is missing
    assert_eq!(
        cells,
        ["0.0075", "not measured: python3 not found", "0.1100"]
    );

    // and the page's table has the three columns
    let page = super::markdown::page(&model(0.5), &m, "a test");
    assert!(page.contains(
        "| journey | measured | empty Rust function | empty Python function | empty Node function |\n|---|---|---|---|---|"
    ));
}

#[test]
fn by_default_a_journey_pays_for_the_sampled_share_of_its_traces_only() {
    // given the page's assumptions (Lambda's default sampling rule beyond its reservoir)
    let a = Assumptions::default();
    // when the X-Ray quantity of one invocation is read
    // then it is 5 % of a trace: the reservoir is a fixed monthly cost, not a journey's
    assert!((a.traced_share - 0.05).abs() < 1e-12);
}

/// A backend call as the audit writer makes it: `items` in a transaction or batch, a strongly
/// consistent read when `consistent`.
fn sized_call(
    service: &str,
    op: &str,
    request_bytes: u64,
    response_bytes: u64,
    items: u32,
    consistent: bool,
) -> (String, String, CallSize) {
    let size = CallSize {
        request_bytes,
        response_bytes,
        items,
        consistent,
        audit_events: 0,
    };
    (service.to_owned(), op.to_owned(), size)
}

/// The fixture, its API route handing one audit event over per invocation, and the audit
/// writer `fw` (128 MB, logging nothing): one message in 10 ms (a consistent head read, a
/// 3-item transaction, one webhook sent), a batch of ten in 20 ms (the head read, a 21-item
/// transaction of 9 000 bytes, four webhooks in one batch send).
fn measured_with_audit() -> Measured {
    let mut m = measured();
    if let Some(api) = m.routes.get_mut(API) {
        for inv in &mut api.warm {
            for (_, op, size) in &mut inv.calls {
                if op == "SendMessage" {
                    size.audit_events = 1;
                }
            }
        }
    }
    let writer = |ms: u64, calls: Vec<(String, String, CallSize)>| RouteRun {
        function: "fw".to_owned(),
        warm: vec![Invocation {
            duration: Duration::from_millis(ms),
            log_bytes: Some(0),
            calls,
        }],
    };
    m.routes.insert(
        AUDIT_ONE.to_owned(),
        writer(
            10,
            vec![
                sized_call("dynamodb", "GetItem", 80, 300, 1, true),
                sized_call("dynamodb", "TransactWriteItems", 1_500, 2, 3, false),
                sized_call("sqs", "SendMessage", 500, 100, 1, false),
            ],
        ),
    );
    m.routes.insert(
        AUDIT_BATCH.to_owned(),
        writer(
            20,
            vec![
                sized_call("dynamodb", "GetItem", 80, 300, 1, true),
                sized_call("dynamodb", "TransactWriteItems", 9_000, 2, 21, false),
                sized_call("sqs", "SendMessageBatch", 2_000, 100, 4, false),
            ],
        ),
    );
    m
}

#[test]
fn the_audit_writer_costs_per_event_at_a_batch_of_one_and_of_ten() {
    // given the audit writer's two rows, no cold starts
    let (model, m) = (model(0.0), measured_with_audit());

    // when the journey of both is priced
    let audit = model.journey(&m, &BOTH).audit;

    // then its routes handed over one event (one per API call, none from the consumer)
    assert_usd(audit.events, 1.0);
    // and one event alone, per million: 1 invocation $0.20; 10 ms × 0.125 GB × $13.3334 =
    // $0.01666675; 6 WRU (3 items, doubled) $6.00; 1 consistent RRU $0.25; the webhook's send,
    // receive and delete 3 × $0.40 = $1.20; 624 bytes of platform logs $0.624; a trace $5.00
    let single = audit.single.expect("the 1-message row");
    assert_eq!(single.usage.get(&Line::DynamoDbWrites), Some(&6.0));
    assert_usd(single.usd_per_million, 13.290_666_75);
    // and one event of a batch of ten, per million, a tenth of the batch: $0.02 of requests;
    // 20 ms × 0.125 GB / 10 × $13.3334 = $0.00333335; 42 WRU / 10 = 4.2 WRU $4.20; 0.1 RRU
    // $0.025; (1 send + 4 receives + 4 deletes) / 10 × $0.40 = $0.36; logs $0.0624; X-Ray $0.50
    let batch = audit.batch.expect("the batch row");
    assert_eq!(batch.batch, 10);
    assert_usd(batch.usage[&Line::DynamoDbWrites], 4.2);
    assert_usd(batch.usd_per_million, 5.170_733_35);
}

#[test]
fn a_journeys_audit_events_are_priced_at_the_full_batch() {
    // given the fixture with the audit writer's rows, no cold starts
    let (model, m) = (model(0.0), measured_with_audit());

    // when the journey of both is priced
    let c = model.journey(&m, &BOTH);

    // then its one audit event adds the batch-of-ten figure: 1 + 4.2 WRU, and $304.70633375
    // (the first test's total) + $5.17073335; its receive and delete are a tenth of a request
    // each, as the writer's batches are of ten: 1.2 SQS requests instead of 3, $0.72 less
    assert!(c.missing.is_empty());
    assert_usd(usd(&c, Line::DynamoDbWrites), 5.2);
    assert_usd(usd(&c, Line::SqsRequests), 0.48 + 0.36);
    assert_usd(c.total_per_million, 304.706_333_75 - 0.72 + 5.170_733_35);
}

#[test]
fn without_the_audit_writers_rows_a_journey_with_audit_events_is_incomplete() {
    // given a run whose routes handed events over but without the audit writer's rows
    let mut m = measured_with_audit();
    m.routes.remove(AUDIT_ONE);
    m.routes.remove(AUDIT_BATCH);

    // when the journey is priced
    let c = model(0.0).journey(&m, &BOTH);

    // then the batch row is named missing and the rest priced as before (the event's send,
    // with its tenth of a receive and a delete: $0.72 less than a message of another queue)
    assert_eq!(c.missing, [AUDIT_BATCH]);
    assert_usd(c.total_per_million, 304.706_333_75 - 0.72);
}

#[test]
fn the_journeys_section_shows_the_per_event_cost_before_and_after() {
    // given the fixture with the audit writer's rows
    let (model, m) = (model(0.0), measured_with_audit());
    let c = model.journey(&m, &BOTH);

    // when its audit lines are laid out
    let mut s = String::new();
    super::markdown::audit_section(&mut s, &model, &c.audit);

    // then both figures are there, and the totals' choice is said
    assert!(s.contains("Audit events: **1.000** per journey"), "{s}");
    assert!(s.contains("at a batch of 10 (USD 5.17 per 1 million journeys)"));
    assert!(s.contains("| batch of 1 (before): SQS audit queue (1 message) | 6.000 WRU |"));
    assert!(s.contains("| full batch (priced): SQS audit queue (batch of 10) | 4.200 WRU |"));
}
