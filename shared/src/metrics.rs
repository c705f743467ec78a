//! CloudWatch Embedded Metric Format (being written).
