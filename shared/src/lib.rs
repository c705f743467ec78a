//! Library shared by every Lambda function of the onboarding backend.
pub mod iproov;
