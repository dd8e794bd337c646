//! Emulated ATM circuits: cells, AAL5, traffic contracts and impairments.
