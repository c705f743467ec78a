//! AWS implementations of the ports.

pub mod dynamo;
pub mod images;
pub mod queue;
pub mod rate_limits;
pub mod registrations;
pub mod secrets;
pub mod sessions;
pub mod users;
