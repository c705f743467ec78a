//! iProov REST API v2 client (being written).
