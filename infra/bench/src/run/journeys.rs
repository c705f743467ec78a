//! The second phase: the warm figures, from real journeys. The floors and the health check
//! first; then people register (start, poll, scan, submit), the scan validator validates them,
//! an app sends them to the OpenID Connect authorization endpoint, they poll again and get their
//! login session, sign in to the app with it (code exchange, refresh, JWKS, userinfo: oidc.rs),
//! verify-login and log in twice each, read their account, log out one session and request
//! erasure with two sessions live; the erasure function erases them (their app's grant too);
//! the audit writer appends the audit events all of that handed over (audit_writer.rs).
//! Each step goes through the function and route it measures.

use std::net::Ipv4Addr;

use serde_json::{Value, json};

use crate::Error;
use crate::catalogue::FLOORS;
use crate::events::{self, HttpRequest};

use super::harness::Bench;

/// A person registering, signing in to an app, then logging in.
pub(super) struct Person {
    username: String,
    pub(super) ip: Ipv4Addr,
    registration: String,
    scan_token: String,
    pub(super) registration_session: String,
    /// Their pending OpenID Connect authorization request, until the sign-in completes it.
    pub(super) oidc_request: Option<String>,
    attempts: Vec<(String, String)>,
    sessions: Vec<String>,
}

/// The source address of simulated client `i` of `block` (0–3: health, logins, registrations,
/// accounts).
fn ip(block: u8, i: usize) -> Ipv4Addr {
    // 198.18.0.0/15 is reserved for benchmarks (RFC 2544): one address per simulated client, so
    // the per-IP rate limits (20 per 10 minutes) see many clients, as in production.
    let i = u32::try_from(i).unwrap_or(0);
    let third = u8::try_from(u32::from(block % 2) * 128 + (i / 250) % 128).unwrap_or(0);
    let fourth = u8::try_from(i % 250 + 1).unwrap_or(1);
    Ipv4Addr::new(198, 18 + block / 2, third, fourth)
}

/// The receipt handles of received SQS messages, to delete them once handled (as the event
/// source mapping does).
pub(super) fn receipt_handles(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| m["ReceiptHandle"].as_str().map(str::to_owned))
        .collect()
}

impl Bench<'_> {
    /// Every journey, in order. The queues are looked up first, so a missing one fails the run
    /// before any invocation.
    pub(super) async fn journeys(&mut self) -> Result<(), Error> {
        let n = self.cfg.n;
        // Messages for the throughput test: one single and one batch of ten per round.
        let spare = self.cfg.rounds * 11;
        let reg_queue = self.stack.var("REGISTRATION_QUEUE_URL")?.to_owned();
        let erasure_queue = self.stack.var("ERASURE_QUEUE_URL")?.to_owned();
        let oidc_table = self.stack.var("OIDC_TABLE")?.to_owned();
        let audit_queue = self.stack.var("AUDIT_QUEUE_URL")?.to_owned();
        self.recorder.watch_audit_queue(&audit_queue);
        self.floor_and_health(n).await?;
        let mut people = self.register(n, spare).await?;
        self.validate_scans(&reg_queue, people.len(), n, spare)
            .await?;
        // An app sends them to sign in before they finish registering: the login session that
        // registration opens is the fresh one the sign-in needs.
        self.authorize(&oidc_table, &mut people, n).await?;
        self.complete_registrations(&mut people, n).await?;
        self.sign_in_to_client(&mut people).await?;
        self.log_in(&mut people).await?;
        self.use_accounts(&people).await?;
        self.erase(&erasure_queue, people.len()).await?;
        // Last: the events every journey above handed to the audit queue.
        self.append_audit_events(&audit_queue).await
    }

    /// `n + 1` invocations of each floor and of the health check, with the same events. The
    /// Python and Node floors' answers are checked too (200); a floor whose interpreter is
    /// missing is skipped (its rows say why).
    async fn floor_and_health(&mut self, n: usize) -> Result<(), Error> {
        let health = |i: usize| HttpRequest::new("GET", "/v1/health", None, ip(0, i));

        self.say(&format!("floors and health: {} invocations each", n + 1));
        for floor in &FLOORS {
            if !self.measured(floor.function) {
                continue;
            }
            for i in 0..=n {
                if floor.script.is_some() {
                    self.http(floor.route, health(i)).await?;
                } else {
                    self.invoke(floor.route, events::apigw(&health(i))).await?;
                }
            }
        }
        for i in 0..=n {
            self.http("GET /v1/health", health(i)).await?;
        }
        Ok(())
    }

    /// `n + 1 + spare` people start registering; the first `n + 1` poll while awaiting their
    /// scan; the sandbox passes every scan; all submit (one registration message each).
    async fn register(&mut self, n: usize, spare: usize) -> Result<Vec<Person>, Error> {
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
                        json!({
                            "username": username,
                            "display_name": format!("Zoë Bench {i}"),
                            "consent": {"version": consent_version(), "accepted": true},
                        }),
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
                oidc_request: None,
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
        Ok(people)
    }

    /// Everyone polls again once validated, which opens their login session; `n + 1` of them
    /// go on.
    async fn complete_registrations(
        &mut self,
        people: &mut Vec<Person>,
        n: usize,
    ) -> Result<(), Error> {
        self.say("registration status once completed (opens the login session)");
        for p in people.iter_mut() {
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
        Ok(())
    }

    /// Two verify-logins per person, their scans passed, then two logins each.
    async fn log_in(&mut self, people: &mut [Person]) -> Result<(), Error> {
        self.say("login: two verify-logins, scans and logins per person");
        let mut k = 0;
        for _ in 0..2 {
            for p in people.iter_mut() {
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
        for p in people.iter() {
            for (_, token) in &p.attempts {
                self.stack.pass_scan(token).await?;
            }
        }
        k = 0;
        for round in 0..2 {
            for p in people.iter_mut() {
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
        Ok(())
    }

    /// Each person reads their account with one session, logs out the other, and requests
    /// erasure.
    async fn use_accounts(&mut self, people: &[Person]) -> Result<(), Error> {
        self.say("account: my account, logout, step-up, erasure request");
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
        // Erasure needs a face step-up on the session that asks for it.
        let mut step_ups = Vec::new();
        for (i, p) in people.iter().enumerate() {
            let s = p.sessions.first().cloned().unwrap_or_default();
            let body = self
                .http(
                    "POST /v1/step-up",
                    HttpRequest::new("POST", "/v1/step-up", Some(&s), ip(3, i)),
                )
                .await?;
            let token = body["iproov"]["token"].as_str().unwrap_or_default();
            self.stack.pass_scan(token).await?;
            step_ups.push(
                body["attempt_token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        for (i, (p, attempt)) in people.iter().zip(&step_ups).enumerate() {
            let s = p.sessions.first().cloned().unwrap_or_default();
            self.http(
                "POST /v1/step-up/complete",
                HttpRequest::new("POST", "/v1/step-up/complete", Some(&s), ip(3, i))
                    .with_body(json!({"attempt_token": attempt})),
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
        Ok(())
    }

    /// The erasure messages, one per invocation.
    async fn erase(&mut self, erasure_queue: &str, people: usize) -> Result<(), Error> {
        self.say("erasure: one message per invocation");
        let messages = self.stack.receive(erasure_queue, people).await?;
        for m in &messages {
            self.sqs(
                "SQS erasure queue (1 message)",
                erasure_queue,
                std::slice::from_ref(m),
            )
            .await?;
        }
        self.stack
            .delete(erasure_queue, &receipt_handles(&messages))
            .await?;
        Ok(())
    }
}

/// The consent version a benchmarked person accepts: the current one of the document the token
/// issuer embeds (config/consent.json), read from the same file so the two never disagree.
fn consent_version() -> String {
    const DOCUMENT: &str = include_str!("../../../../config/consent.json");
    serde_json::from_str::<serde_json::Value>(DOCUMENT)
        .ok()
        .and_then(|d| d["current"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::ip;

    #[test]
    fn every_simulated_client_has_its_own_benchmark_address() {
        // given client numbers in the four blocks, across a /24 boundary (250 clients each)
        let clients = [(0, 0), (1, 7), (2, 249), (2, 250), (3, 40_000), (1, 32_000)];

        // when each gets its source address
        let addresses: Vec<Ipv4Addr> = clients.iter().map(|&(b, i)| ip(b, i)).collect();

        // then they are distinct and within 198.18.0.0/15 (RFC 2544), never .0
        assert_eq!(
            addresses,
            [
                Ipv4Addr::new(198, 18, 0, 1),
                Ipv4Addr::new(198, 18, 128, 8),
                Ipv4Addr::new(198, 19, 0, 250),
                Ipv4Addr::new(198, 19, 1, 1),
                Ipv4Addr::new(198, 19, 160, 1),
                Ipv4Addr::new(198, 18, 128, 1),
            ]
        );
    }
}
