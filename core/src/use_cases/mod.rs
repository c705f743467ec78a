//! The steps of the journeys, each a function of the ports that returns a domain outcome:
//! handlers map an event to a use case and its outcome to an answer, nothing more.

pub mod account;
pub mod biometric_data;
pub mod erase_user;
pub mod failure;
pub mod limits;
pub mod operator;
pub mod registration_status;
pub mod start_registration;
pub mod submit_scan;
pub mod token_route;
pub mod validate_scan;
pub mod verify_login;

pub use failure::Failure;
