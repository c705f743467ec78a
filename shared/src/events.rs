//! PII-free domain events for analytics (being written).
