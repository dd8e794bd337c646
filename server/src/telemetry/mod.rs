//! What the server tells its operators about itself: [`metrics`], the Prometheus exporter that
//! `/metrics` renders.

pub mod metrics;

#[cfg(test)]
mod tests;
