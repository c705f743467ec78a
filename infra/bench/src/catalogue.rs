//! What the benchmark measures: the functions (the floor first, for comparison) and the routes
//! it drives through them, each with the status it must answer and the fewest sequential backend
//! round trips its design allows. The report checks the observed chains against these.

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
        min_stages: 5,
        min_chain: "session GetItem → [attempt GetItem ∥ per-attempt rate-limit UpdateItem] → \
                    conditional UpdateItem pending→validating → iProov verify/validate → [attempt \
                    UpdateItem passed ∥ session UpdateItem elevated_until]",
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
