//! Domain rules that do not depend on any backend: input normalisation, registration states,
//! failure reasons and their hints, assurance policies, consent to biometric processing, an
//! operator's account lock.

pub mod account_lock;
pub mod assurance;
pub mod client_address;
pub mod consent;
pub mod display_name;
pub mod language;
pub mod rate_limits;
pub mod reasons;
pub mod registration;
pub mod sealed;
pub mod username;

pub use account_lock::AccountLock;
pub use assurance::{AssurancePolicies, AssurancePolicy, AssuranceType};
pub use consent::{Channel, ConsentCatalog, ConsentRecord};
pub use display_name::DisplayName;
pub use language::Language;
pub use registration::{Registration, RegistrationStatus};
pub use sealed::Sealed;
pub use username::Username;
