//! The steps of the journeys, each a function of the ports that returns a domain outcome:
//! handlers map an event to a use case and its outcome to an answer, nothing more.

pub mod biometric_data;
pub mod erase_user;
pub mod validate_scan;
