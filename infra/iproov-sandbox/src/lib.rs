//! iProov sandbox (being written).
