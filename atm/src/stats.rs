//! Counters of an emulated circuit: plain numbers for tests, exported through `metrics`.

/// Declares the counters once: the snapshot's fields, their metric names, and the sum.
macro_rules! atm_stats {
    ($($(#[doc = $doc:literal])* $field:ident => $metric:literal,)*) => {
        /// A snapshot of a circuit's (or a socket's) counters, as plain numbers.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct AtmStats {
            $($(#[doc = $doc])* pub $field: u64,)*
        }

        impl AtmStats {
            /// Adds `other`'s counts to these.
            pub fn add(&mut self, other: &AtmStats) {
                $(self.$field += other.$field;)*
            }

            /// Each counter's metric name and value.
            pub fn counters(&self) -> impl Iterator<Item = (&'static str, u64)> {
                [$(($metric, self.$field)),*].into_iter()
            }
        }
    };
}

atm_stats! {
    /// AAL5 frames segmented for sending.
    frames_sent => "semper_atm_frames_sent_total",
    /// Cells put on the line.
    cells_sent => "semper_atm_cells_sent_total",
    /// Cells dropped by the policer for breaking the contract.
    cells_policed => "semper_atm_cells_policed_total",
    /// Cells lost on the line.
    cells_lost => "semper_atm_cells_lost_total",
    /// Cells that left the line with at least one header bit flipped.
    cells_header_errored => "semper_atm_cells_header_errored_total",
    /// Cells that arrived at this end.
    cells_received => "semper_atm_cells_received_total",
    /// Arrived cells whose header had one bit wrong, corrected by the HEC.
    cells_hec_corrected => "semper_atm_cells_hec_corrected_total",
    /// Arrived cells whose header could not be corrected, dropped.
    cells_hec_dropped => "semper_atm_cells_hec_dropped_total",
    /// Arrived cells for another channel, or not user data, dropped.
    cells_misrouted => "semper_atm_cells_misrouted_total",
    /// Frames reassembled and checked.
    frames_reassembled => "semper_atm_frames_reassembled_total",
    /// Frames dropped in reassembly (lost cells, bad CRC, too long).
    frames_dropped => "semper_atm_frames_dropped_total",
    /// Frames the sender aborted.
    frames_aborted => "semper_atm_frames_aborted_total",
    /// Sends answered `WouldBlock` because the shaping queue was full.
    datagrams_blocked => "semper_atm_datagrams_blocked_total",
    /// Datagrams dropped: too large, bad LLC/SNAP header, or receive queue full.
    datagrams_rejected => "semper_atm_datagrams_rejected_total",
    /// Datagrams to or from an address with no circuit (and none could be made).
    datagrams_unroutable => "semper_atm_datagrams_unroutable_total",
}

/// Pushes the growth of a socket's counters to the `metrics` recorder, labelled by endpoint.
#[derive(Debug)]
pub struct MetricsExporter {
    endpoint: String,
    exported: AtmStats,
}

impl MetricsExporter {
    /// An exporter for the socket at `endpoint` (its local address).
    pub fn new(endpoint: String) -> Self {
        Self {
            endpoint,
            exported: AtmStats::default(),
        }
    }

    /// Increments each counter by what `now` has over the last export.
    pub fn export(&mut self, now: &AtmStats) {
        for ((name, value), (_, exported)) in now.counters().zip(self.exported.counters()) {
            let delta = value.saturating_sub(exported);
            if delta > 0 {
                metrics::counter!(name, "endpoint" => self.endpoint.clone()).increment(delta);
            }
        }
        self.exported = *now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use metrics::{
        Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
    };

    /// Keeps each counter's total by name and labels.
    #[derive(Default)]
    struct TestRecorder {
        totals: Arc<Mutex<HashMap<String, u64>>>,
    }

    struct TestCounter {
        name: String,
        totals: Arc<Mutex<HashMap<String, u64>>>,
    }

    impl CounterFn for TestCounter {
        fn increment(&self, value: u64) {
            *self
                .totals
                .lock()
                .unwrap()
                .entry(self.name.clone())
                .or_default() += value;
        }
        fn absolute(&self, _value: u64) {}
    }

    impl Recorder for TestRecorder {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            let labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            Counter::from_arc(Arc::new(TestCounter {
                name: format!("{}{{{}}}", key.name(), labels.join(",")),
                totals: self.totals.clone(),
            }))
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::noop()
        }
    }

    #[test]
    fn the_exporter_adds_only_the_growth() {
        let recorder = TestRecorder::default();
        let mut exporter = MetricsExporter::new("127.0.0.1:9".to_owned());
        let mut stats = AtmStats {
            cells_sent: 10,
            cells_lost: 1,
            ..AtmStats::default()
        };
        metrics::with_local_recorder(&recorder, || {
            exporter.export(&stats);
            stats.cells_sent = 25;
            exporter.export(&stats);
            exporter.export(&stats);
        });
        let totals = recorder.totals.lock().unwrap();
        assert_eq!(
            totals.get("semper_atm_cells_sent_total{endpoint=127.0.0.1:9}"),
            Some(&25)
        );
        assert_eq!(
            totals.get("semper_atm_cells_lost_total{endpoint=127.0.0.1:9}"),
            Some(&1)
        );
        assert_eq!(totals.len(), 2, "counters that never moved are not touched");
    }

    #[test]
    fn sums_and_names() {
        let mut total = AtmStats {
            cells_lost: 2,
            ..AtmStats::default()
        };
        total.add(&AtmStats {
            cells_lost: 3,
            frames_dropped: 1,
            ..AtmStats::default()
        });
        assert_eq!((total.cells_lost, total.frames_dropped), (5, 1));
        let counters: Vec<_> = total.counters().collect();
        assert_eq!(counters.len(), 15);
        assert!(counters.contains(&("semper_atm_cells_lost_total", 5)));
        assert!(
            counters
                .iter()
                .all(|(name, _)| name.starts_with("semper_atm_") && name.ends_with("_total"))
        );
    }
}
