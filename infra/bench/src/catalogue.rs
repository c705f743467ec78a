//! What the benchmark measures: the functions (the floor first, for comparison) and the routes
//! it drives through them, each with the status it must answer and the fewest sequential backend
//! round trips its design allows. The report checks the observed chains against these.

/// The functions, in report order; `floor` first.
pub const FUNCTIONS: [&str; 9] = [
    "floor",
    "health",
    "token-issuer",
    "registration",
    "scan-validator",
    "account",
    "erasure",
    "oidc",
    "oidc-token",
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
        min_stages: 7,
        min_chain: "GetItem → begin-validation UpdateItem → iProov enrol/validate → record-outcome \
                    UpdateItem (before anything else, by design) → S3 PutObject → users \
                    TransactWriteItems → complete UpdateItem. The user waits for its image: the \
                    image exists only in iProov's one validate answer, so a user written first \
                    could point at an image that is never stored (issue 20)",
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
        min_chain: "[user GetItem ∥ sessions Query ∥ OpenID Connect grants Query by_user ∥ S3 \
                    ListObjectVersions] (all keyed by the user id in the message) → [S3 \
                    DeleteObject per version ∥ iProov DELETE users/* ∥ registration DeleteItem ∥ \
                    grant DeleteItem per grant (one each here: the people signed in to a client)] \
                    → users TransactWriteItems (last, by design: it lets a retry find the rest). \
                    Every 50th call adds the iProov OAuth token fetch before the DELETE",
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
        min_stages: 7,
        min_chain: "client GetItem (the client authenticates before its code is looked at) → \
                    code GetItem → user GetItem (its id comes from the code; the profile scope \
                    puts the name in the ID token) → [KMS Sign access token ∥ KMS Sign ID token] \
                    (both at once; signed before anything is written, so a KMS failure spends \
                    nothing) → grant PutItem → refresh-token PutItem → code UpdateItem (the \
                    conditional redemption, last by design: the commit point, after which nothing \
                    can fail). core/src/oidc/token.rs orders the two PutItems. The pairwise \
                    subject's key (Secrets Manager) and the name's data key (KMS Decrypt) are \
                    cached by the process",
    },
    RouteSpec {
        key: "POST /oauth2/token (refresh_token)",
        function: "oidc-token",
        expect_status: 200,
        min_stages: 7,
        min_chain: "client GetItem → refresh-token GetItem → grant GetItem (its id comes from the \
                    token) → user GetItem (its id comes from the grant) → [KMS Sign access token \
                    ∥ KMS Sign ID token] → next refresh-token PutItem → presented token UpdateItem \
                    used (conditional, last by design: the rotation's commit point; \
                    core/src/oidc/refresh.rs)",
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

    use super::{FUNCTIONS, ROUTES};

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
    fn make_bench_builds_every_function_the_catalogue_measures() {
        // given the Makefile's list of bootstraps that `make bench` builds
        let makefile = include_str!("../../../Makefile");
        let built: BTreeSet<&str> = makefile
            .lines()
            .find_map(|l| l.strip_prefix("BENCH_FUNCTIONS :="))
            .expect("BENCH_FUNCTIONS in the Makefile")
            .split_whitespace()
            .collect();

        // when it is compared with the catalogue's functions
        let measured: BTreeSet<&str> = FUNCTIONS.into_iter().collect();

        // then they are the same: none measured without its bootstrap, none built for nothing
        assert_eq!(built, measured);
    }
}
