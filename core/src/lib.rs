//! The core of the onboarding backend: what the product *is*, independent of where it runs.
//!
//! - `domain`: entities and rules (usernames, display names, the registration record and its
//!   states, sealed personal fields, failure hints);
//! - `ports`: every capability the journeys need from the outside world, as traits (stores,
//!   queues, the verifier, the key ring, the clock), implemented by the AWS adapters (`aws/`)
//!   and by the in-memory adapters in `memory`;
//! - `use_cases`: the steps of the journeys, each returning a domain outcome or a shared
//!   `Failure`; handlers only translate;
//! - `memory`: in-memory adapters of the ports, for the use cases' unit tests;
//! - `audit`: the audited security events, the trail and webhook ports;
//! - `crypto`: credentials (`<id>.<secret>`, hashed at rest) and keyed hashes (blind indexes,
//!   pseudonyms): pure computation, so the rules that use them stay testable here;
//! - `egress`: which addresses the backend may connect to on a customer's say-so (webhooks);
//! - `latency_mirror`: how a decoy takes as long as the real thing;
//! - `oidc`: the OpenID Connect provider's rules (authorization, tokens, their checks), its
//!   ports, and the discovery and key documents.
//!
//! It depends on no AWS SDK, no HTTP server or client and no Lambda runtime, so its rules are
//! unit-tested in seconds (`cargo test -p onboarding-core`) without a stack. docs/architecture.md
//! shows where it sits.

pub mod audit;
pub mod crypto;
pub mod domain;
pub mod egress;
pub mod latency_mirror;
pub mod memory;
pub mod oidc;
pub mod ports;
pub mod use_cases;
