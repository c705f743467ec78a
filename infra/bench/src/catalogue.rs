//! What the benchmark measures: the functions (the floors first, for comparison) and the routes
//! it drives through them, each with the status it must answer and the fewest sequential backend
//! round trips its design allows. The report checks the observed chains against these.

/// The functions, in report order: the floors first (the Rust one, which the budgets compare
/// with, then the Python and Node ones), then the project's.
pub const FUNCTIONS: [&str; 12] = [
    "floor",
    "floor-python",
    "floor-node",
    "health",
    "token-issuer",
    "registration",
    "scan-validator",
    "account",
    "erasure",
    "oidc",
    "oidc-token",
    "audit-writer",
];

/// An empty function: the least any function on its runtime costs. Each runs with the health
/// check's event, as many times as the routes and with as many cold starts as the functions.
pub struct Floor {
    /// The runtime, as the pages name it.
    pub runtime: &'static str,
    pub function: &'static str,
    pub route: &'static str,
    /// `None`: a bootstrap cargo builds with the functions (the Makefile's `BENCH_FUNCTIONS`).
    pub script: Option<Script>,
}

/// A custom-runtime bootstrap written as a script, run by an interpreter found in `PATH`.
pub struct Script {
    /// The interpreter's command.
    pub interpreter: &'static str,
    /// The bootstrap, relative to the repository root.
    pub path: &'static str,
    /// The interpreter's options, before the bootstrap.
    pub options: &'static [&'static str],
    /// Arguments that make the interpreter print its own executable, then its version, one per
    /// line: the harness starts that executable, not a version manager's shim in front of it.
    pub identify: &'static [&'static str],
}

/// The floors, the Rust one (every budget's reference) first.
pub const FLOORS: [Floor; 3] = [
    Floor {
        runtime: "Rust",
        function: "floor",
        route: "floor (empty handler)",
        script: None,
    },
    Floor {
        runtime: "Python",
        function: "floor-python",
        route: "floor (python, empty handler)",
        script: Some(Script {
            interpreter: "python3",
            path: "infra/bench/floor-python/bootstrap",
            // Without `site`: the site-packages of the machine that runs the bench, and any
            // start-up hook a package put there (a `.pth` file), are no part of an empty
            // function; the bootstrap uses the standard library only.
            options: &["-S"],
            identify: &[
                "-c",
                "import platform, sys; print(sys.executable); print('Python', platform.python_version())",
            ],
        }),
    },
    Floor {
        runtime: "Node",
        function: "floor-node",
        route: "floor (node, empty handler)",
        script: Some(Script {
            interpreter: "node",
            path: "infra/bench/floor-node/bootstrap",
            options: &[],
            identify: &[
                "-e",
                "console.log(process.execPath); console.log('Node', process.version)",
            ],
        }),
    },
];

/// Whether `function` is one of the floors (no budget applies to it).
pub fn is_floor(function: &str) -> bool {
    FLOORS.iter().any(|f| f.function == function)
}

/// The script `function` runs as, if it is not a bootstrap cargo builds.
pub fn script(function: &str) -> Option<&'static Script> {
    FLOORS
        .iter()
        .find(|f| f.function == function)
        .and_then(|f| f.script.as_ref())
}

/// The functions whose bootstrap cargo builds (`make bench`'s `BENCH_FUNCTIONS`), in report order.
pub fn built() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.into_iter().filter(|f| script(f).is_none())
}

/// The audit writer's routes: one audit event per invocation (what every event cost before
/// batches were appended together), and a batch of [`AUDIT_BATCH_SIZE`].
pub const AUDIT_ONE: &str = "SQS audit queue (1 message)";
pub const AUDIT_BATCH: &str = "SQS audit queue (batch of 10)";
/// The messages of one invocation of [`AUDIT_BATCH`]: the event source mapping's `BatchSize`.
pub const AUDIT_BATCH_SIZE: usize = 10;

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
        key: "floor (python, empty handler)",
        function: "floor-python",
        expect_status: 200,
        min_stages: 0,
        min_chain: "none",
    },
    RouteSpec {
        key: "floor (node, empty handler)",
        function: "floor-node",
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
        min_stages: 8,
        min_chain: "GetItem → begin-validation UpdateItem → iProov enrol/validate → record-outcome \
                    UpdateItem (before anything else, by design) → S3 PutObject → users \
                    TransactWriteItems → complete UpdateItem → audit SendMessage (the event exists \
                    once the user does: docs/audit.md). The user waits for its image: the image \
                    exists only in iProov's one validate answer, so a user written first could \
                    point at an image that is never stored (issue 20)",
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
        min_stages: 5,
        min_chain: "[attempt GetItem ∥ per-attempt rate-limit UpdateItem] → conditional UpdateItem \
                    pending→validating → [iProov verify/validate ∥ user GetItem] → [attempt \
                    UpdateItem passed ∥ session PutItem] → audit SendMessage (the event exists \
                    once the session does: docs/audit.md). The counter key is the credential's id, \
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
        min_stages: 3,
        min_chain: "session GetItem → session DeleteItem → audit SendMessage (the event exists \
                    once the session is gone: docs/audit.md)",
    },
    RouteSpec {
        key: "POST /v1/step-up",
        function: "account",
        expect_status: 200,
        min_stages: 5,
        min_chain: "session GetItem → [IP rate-limit UpdateItem ∥ user GetItem] → [user-per-network \
                    UpdateItem ∥ ceiling UpdateItem] → iProov verify token → attempt PutItem \
                    (bound to the session). As verify-login, with the session's user for the \
                    username",
    },
    RouteSpec {
        key: "POST /v1/step-up/complete",
        function: "account",
        expect_status: 200,
        min_stages: 6,
        min_chain: "session GetItem → [attempt GetItem ∥ per-attempt rate-limit UpdateItem] → \
                    conditional UpdateItem pending→validating → iProov verify/validate → [attempt \
                    UpdateItem passed ∥ session UpdateItem elevated_until] → audit SendMessage \
                    (the event exists once the session is elevated: docs/audit.md)",
    },
    RouteSpec {
        key: "DELETE /v1/users (2 live sessions)",
        function: "account",
        expect_status: 202,
        min_stages: 5,
        min_chain: "session GetItem → SQS SendMessage (enqueue first, by design; the once-a-minute \
                    last_seen UpdateItem runs beside it) → sessions Query \
                    by_user → every session's DeleteItem concurrently → audit SendMessage (the \
                    event exists once the sessions are gone: docs/audit.md)",
    },
    RouteSpec {
        key: "SQS erasure queue (1 message)",
        function: "erasure",
        expect_status: 0,
        min_stages: 3,
        min_chain: "[user GetItem ∥ sessions Query ∥ OpenID Connect grants Query by_user ∥ S3 \
                    ListObjectVersions] (all keyed by the user id in the message) → [S3 \
                    DeleteObject per version ∥ iProov DELETE users/* ∥ registration DeleteItem ∥ \
                    grant DeleteItem per grant (one each here: the people signed in to a client)] \
                    → users TransactWriteItems (last, by design: it lets a retry find the rest). \
                    Every 50th call adds the iProov OAuth token fetch before the DELETE",
    },
    RouteSpec {
        key: AUDIT_ONE,
        function: "audit-writer",
        expect_status: 0,
        min_stages: 3,
        min_chain: "head GetItem (strongly consistent) → TransactWriteItems of record, marker and \
                    head (conditional on the head read) → SQS SendMessage of the webhook, if the \
                    event is one customers hear about. The chain is linear: each append waits \
                    for the head it links to (docs/audit.md)",
    },
    RouteSpec {
        key: AUDIT_BATCH,
        function: "audit-writer",
        expect_status: 0,
        min_stages: 3,
        min_chain: "head GetItem → one TransactWriteItems of the ten records, their ten markers \
                    and the head → one SQS SendMessageBatch of the batch's webhooks: the same \
                    chain as one message, for ten (core/src/audit/append.rs)",
    },
    RouteSpec {
        key: "GET /.well-known/openid-configuration",
        function: "oidc",
        expect_status: 200,
        min_stages: 0,
        min_chain: "none: the discovery document is built from the configuration",
    },
    RouteSpec {
        key: "GET /oauth2/authorize",
        function: "oidc",
        expect_status: 302,
        min_stages: 2,
        min_chain: "client GetItem → request PutItem (new item only). The request is checked \
                    against the client's registration (redirect URI, allowed scopes, PKCE for a \
                    public client) before it is stored",
    },
    RouteSpec {
        key: "POST /oauth2/token (authorization_code)",
        function: "oidc-token",
        expect_status: 200,
        min_stages: 8,
        min_chain: "client GetItem (the client authenticates before its code is looked at) → code \
                    GetItem → user GetItem (its id comes from the code; the profile scope puts the \
                    name in the ID token) → [KMS Sign access token ∥ KMS Sign ID token] (both at \
                    once; signed before anything is written, so a KMS failure spends nothing) → \
                    grant PutItem → refresh-token PutItem → code UpdateItem (the conditional \
                    redemption, last by design: the commit point, after which nothing can fail) → \
                    audit SendMessage (the event exists once the code is redeemed: docs/audit.md). \
                    core/src/oidc/token.rs orders the two PutItems. The pairwise subject's key \
                    (Secrets Manager) and the name's data key (KMS Decrypt) are cached by the \
                    process",
    },
    RouteSpec {
        key: "POST /oauth2/token (refresh_token)",
        function: "oidc-token",
        expect_status: 200,
        min_stages: 8,
        min_chain: "client GetItem → refresh-token GetItem → grant GetItem (its id comes from the \
                    token) → user GetItem (its id comes from the grant) → [KMS Sign access token ∥ \
                    KMS Sign ID token] → next refresh-token PutItem → presented token UpdateItem \
                    used (conditional, last by design: the rotation's commit point; \
                    core/src/oidc/refresh.rs) → audit SendMessage (the event exists once the token \
                    is rotated: docs/audit.md)",
    },
    RouteSpec {
        key: "GET /oauth2/jwks",
        function: "oidc",
        expect_status: 200,
        min_stages: 0,
        min_chain: "none warm: the public halves of both signing keys are read once per process \
                    (KMS GetPublicKey ∥ GetPublicKey) and kept, since a key id's key never changes",
    },
    RouteSpec {
        key: "GET /oauth2/userinfo",
        function: "oidc",
        expect_status: 200,
        min_stages: 2,
        min_chain: "grant GetItem (the access token's signature is checked with the kept public \
                    keys; its grant is read so that a revocation takes effect at once) → user \
                    GetItem (its id comes from the grant)",
    },
];

pub fn spec(key: &str) -> &'static RouteSpec {
    ROUTES.iter().find(|r| r.key == key).expect("known route")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::os::unix::fs::PermissionsExt;

    use super::{FLOORS, FUNCTIONS, ROUTES, built, is_floor, script, spec};

    #[test]
    fn every_route_names_a_measured_function_and_a_key_of_its_own() {
        // given the catalogue
        // when its routes are checked against its functions
        let functions: BTreeSet<&str> = FUNCTIONS.into_iter().collect();
        let keys: BTreeSet<&str> = ROUTES.iter().map(|r| r.key).collect();

        // then each route's function is measured, no key repeats, and the floor comes first
        assert!(ROUTES.iter().all(|r| functions.contains(r.function)));
        assert_eq!(keys.len(), ROUTES.len());
        assert_eq!((FUNCTIONS[0], ROUTES[0].function), ("floor", "floor"));
    }

    #[test]
    fn the_floors_are_rust_python_and_node_each_a_function_with_a_route_first_in_the_lists() {
        // given the catalogue's floors
        // when they are looked up among the functions and the routes
        let runtimes: Vec<&str> = FLOORS.iter().map(|f| f.runtime).collect();
        let functions: Vec<&str> = FLOORS.iter().map(|f| f.function).collect();
        let routes: Vec<&str> = FLOORS.iter().map(|f| f.route).collect();

        // then Rust comes first, then Python and Node; they lead both lists, in that order; each
        // route is its floor's, expects 200 and allows no backend call
        assert_eq!(runtimes, ["Rust", "Python", "Node"]);
        assert_eq!(functions, FUNCTIONS[..3]);
        assert_eq!(
            routes,
            ROUTES[..3].iter().map(|r| r.key).collect::<Vec<_>>()
        );
        for f in &FLOORS {
            let route = spec(f.route);
            assert_eq!(
                (route.function, route.expect_status, route.min_stages),
                (f.function, 200, 0)
            );
        }
        // and only the floors are floors
        assert_eq!(
            FUNCTIONS.into_iter().filter(|f| is_floor(f)).count(),
            FLOORS.len()
        );
    }

    #[test]
    fn the_python_and_node_floors_are_executable_scripts_in_the_repository() {
        // given the floors run by an interpreter
        let scripts: Vec<_> = FUNCTIONS.into_iter().filter_map(script).collect();

        // when their bootstraps are looked up from the repository root
        // then python3 runs one and node the other, each present and executable (as Lambda
        // requires of a bootstrap)
        let interpreters: Vec<&str> = scripts.iter().map(|s| s.interpreter).collect();
        assert_eq!(interpreters, ["python3", "node"]);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for s in scripts {
            let meta = std::fs::metadata(root.join(s.path)).expect(s.path);
            assert!(
                meta.permissions().mode() & 0o111 != 0,
                "{} not executable",
                s.path
            );
        }
    }

    #[test]
    fn make_bench_builds_every_function_the_catalogue_measures_but_the_scripts() {
        // given the Makefile's list of bootstraps that `make bench` builds
        let makefile = include_str!("../../../Makefile");
        let made: BTreeSet<&str> = makefile
            .lines()
            .find_map(|l| l.strip_prefix("BENCH_FUNCTIONS :="))
            .expect("BENCH_FUNCTIONS in the Makefile")
            .split_whitespace()
            .collect();

        // when it is compared with the catalogue's functions that are not scripts
        let measured: BTreeSet<&str> = built().collect();

        // then they are the same: none measured without its bootstrap, none built for nothing
        assert_eq!(made, measured);
        assert_eq!(measured.len(), FUNCTIONS.len() - 2);
    }
}
