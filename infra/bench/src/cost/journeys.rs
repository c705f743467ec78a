//! What one journey is, in the bench's routes (src/catalogue.rs) and the journeys of
//! docs/api.md: each step is a measured route and how many times one journey invokes it.
//! A message's consumer appears as its own step (the route `SQS … queue (1 message)`); the
//! audit events every route hands to the audit queue are inside the routes' counted calls
//! (`sqs.SendMessage`), and the model adds what the audit writer spends on each of them from
//! its own rows (mod.rs, `Model::audit`).

/// One measured route, `times` per journey.
pub struct Step {
    pub route: &'static str,
    pub times: f64,
}

pub struct Journey {
    pub name: &'static str,
    /// As docs/api.md tells it, in one line.
    pub what: &'static str,
    pub steps: &'static [Step],
    /// Work the journey causes that the bench does not measure.
    pub not_measured: &'static [&'static str],
}

/// Not measured in any journey: what the audit events' webhooks cause.
pub const AUDIT_NOT_MEASURED: &str = "the webhook dispatcher's deliveries of the webhooks the \
    journey's audit events trigger (the function is not in the bench; the audit writer's \
    `SendMessage` of each webhook is counted)";

pub const JOURNEYS: &[Journey] = &[
    Journey {
        name: "registration",
        what: "start (token issuer), one status poll while awaiting the scan, submit, the scan \
               validator's message, the status poll that completes it and opens the login session",
        steps: &[
            Step {
                route: "POST /v1/users/registration",
                times: 1.0,
            },
            Step {
                route: "GET /v1/users/registration (awaiting scan)",
                times: 1.0,
            },
            Step {
                route: "POST /v1/users",
                times: 1.0,
            },
            Step {
                route: "SQS registration queue (1 message)",
                times: 1.0,
            },
            Step {
                route: "GET /v1/users/registration (completed)",
                times: 1.0,
            },
        ],
        not_measured: &[
            "`GET /v1/consent` (step 0 of docs/api.md; not in the bench)",
            "the polls while `submitted` or `validating` beyond the one measured: each adds one \
             awaiting-scan poll's cost (its row is in the tables below)",
            "a failed scan's retry",
            AUDIT_NOT_MEASURED,
        ],
    },
    Journey {
        name: "login",
        what: "verify-login (token issuer), login (iProov asked synchronously), the account read",
        steps: &[
            Step {
                route: "POST /v1/verify-login",
                times: 1.0,
            },
            Step {
                route: "POST /v1/login",
                times: 1.0,
            },
            Step {
                route: "GET /v1/users",
                times: 1.0,
            },
        ],
        not_measured: &[
            "a failed scan's retry; `POST /v1/logout`",
            AUDIT_NOT_MEASURED,
        ],
    },
    Journey {
        name: "step-up",
        what: "step-up token, step-up completion (iProov asked synchronously)",
        steps: &[
            Step {
                route: "POST /v1/step-up",
                times: 1.0,
            },
            Step {
                route: "POST /v1/step-up/complete",
                times: 1.0,
            },
        ],
        not_measured: &["a failed scan's retry", AUDIT_NOT_MEASURED],
    },
    Journey {
        name: "erasure",
        what: "the erasure request on an elevated session with two live sessions, the erasure \
               function's message (the step-up it needs first is the step-up journey)",
        steps: &[
            Step {
                route: "DELETE /v1/users (2 live sessions)",
                times: 1.0,
            },
            Step {
                route: "SQS erasure queue (1 message)",
                times: 1.0,
            },
        ],
        not_measured: &[
            "the step-up it needs first (add the step-up journey)",
            "the first `DELETE /v1/users` answered `403 step_up_required`",
            AUDIT_NOT_MEASURED,
        ],
    },
];

/// Whether a route is an API call (API Gateway bills it) or a queue's event source mapping.
pub fn via_api(route: &str) -> bool {
    !route.starts_with("SQS ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::ROUTES;

    #[test]
    fn every_journey_step_is_a_measured_route() {
        // given the journeys and the bench's route catalogue
        // when each step is looked up
        // then it is there, so the model prices what the bench measures
        for j in JOURNEYS {
            for s in j.steps {
                assert!(
                    ROUTES.iter().any(|r| r.key == s.route),
                    "{}: {}",
                    j.name,
                    s.route
                );
            }
        }
    }

    #[test]
    fn queue_routes_are_not_api_requests() {
        // given every catalogue route
        // when it is classified
        // then exactly the SQS consumers are not API Gateway requests, and the floor is one
        // (it runs on the health check's API event)
        let queues: Vec<&str> = ROUTES
            .iter()
            .map(|r| r.key)
            .filter(|k| !via_api(k))
            .collect();
        assert_eq!(
            queues,
            [
                "SQS registration queue (1 message)",
                "SQS erasure queue (1 message)",
                "SQS audit queue (1 message)",
                "SQS audit queue (batch of 10)",
            ]
        );
    }
}
