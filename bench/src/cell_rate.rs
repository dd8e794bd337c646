//! The ATM emulator's own capacity, sans IO on one thread: frames through AAL5 segmentation,
//! one circuit end (line, contract, impairments, cell encoding with HEC) and the far end's
//! HEC check and reassembly, on simulated time, so no clock is waited on.

use std::time::{Duration, Instant};

use semper_atm::aal5::cells_for_payload;
use semper_atm::{Circuit, CircuitConfig};

/// Distinct frame payloads sent in turn, so a frame delivered in the wrong place shows.
const DISTINCT_FRAMES: usize = 64;
/// Frames between two looks at the clock.
const FRAMES_PER_CLOCK_CHECK: usize = 256;

/// What one run carried, and how long it took.
pub struct CellRun {
    /// Frames sent, each reassembled and equal to what was sent.
    pub frames: u64,
    /// Cells sent (and received).
    pub cells: u64,
    /// The time the run took.
    pub elapsed: Duration,
    /// The part of it spent sending: segmentation, the circuit, cell encoding.
    pub sending: Duration,
    /// The part of it spent receiving: the HEC check and reassembly.
    pub receiving: Duration,
}

impl CellRun {
    /// Cells per second through the whole path.
    pub fn cells_per_s(&self) -> f64 {
        self.cells as f64 / self.elapsed.as_secs_f64()
    }

    /// Cells per second through the sending side alone.
    pub fn sent_cells_per_s(&self) -> f64 {
        self.cells as f64 / self.sending.as_secs_f64()
    }

    /// Cells per second through the receiving side alone.
    pub fn received_cells_per_s(&self) -> f64 {
        self.cells as f64 / self.receiving.as_secs_f64()
    }
}

/// Sends up to `frames_max` frames of `frame_bytes` (for at most `time_max`) from one end of a
/// circuit made from `config` to the other, one frame at a time, advancing simulated time by
/// each frame's cell times; fails unless every frame arrives whole and in order.
pub fn cells_through(
    config: &CircuitConfig,
    frame_bytes: usize,
    frames_max: usize,
    time_max: Duration,
) -> anyhow::Result<CellRun> {
    let mut near = Circuit::new(config, 0)?;
    let mut far = Circuit::new(config, 1)?;
    let payloads: Vec<Vec<u8>> = (0..DISTINCT_FRAMES)
        .map(|f| {
            (0..frame_bytes)
                .map(|i| (i.wrapping_mul(31) ^ f.wrapping_mul(97)) as u8)
                .collect()
        })
        .collect();
    let frame_time_ns = cells_for_payload(frame_bytes) as u64 * config.line.cell_time_ns();
    let mut cells = Vec::with_capacity(cells_for_payload(frame_bytes));
    let mut received = Vec::with_capacity(1);
    let mut now_ns = 0u64;
    let mut sent = 0usize;
    let (mut sending, mut receiving) = (Duration::ZERO, Duration::ZERO);
    let started = Instant::now();
    while sent < frames_max {
        if sent.is_multiple_of(FRAMES_PER_CLOCK_CHECK) && started.elapsed() >= time_max {
            break;
        }
        let payload = &payloads[sent % DISTINCT_FRAMES];
        let frame_started = Instant::now();
        near.send_frame(payload, now_ns)?;
        now_ns += frame_time_ns;
        // With no delay configured, a cell arrives as it departs: all have by `now_ns`.
        near.release(now_ns, &mut cells);
        let frame_sent = Instant::now();
        for cell in &cells {
            far.receive(cell, &mut received);
        }
        let frame_received = Instant::now();
        sending += frame_sent - frame_started;
        receiving += frame_received - frame_sent;
        cells.clear();
        anyhow::ensure!(
            received.len() == 1 && received[0] == *payload,
            "frame {sent} was not reassembled as sent"
        );
        received.clear();
        sent += 1;
    }
    let elapsed = started.elapsed();
    let (near, far) = (near.stats(), far.stats());
    anyhow::ensure!(
        far.frames_reassembled == sent as u64
            && near.cells_sent == far.cells_received
            && far.frames_dropped == 0,
        "the circuit lost cells or frames"
    );
    Ok(CellRun {
        frames: sent as u64,
        cells: near.cells_sent,
        elapsed,
        sending,
        receiving,
    })
}

/// Bytes per second of the AAL5 CRC-32 `crc32` alone over `bytes`-long buffers, for up to
/// `time_max`: the part of a frame's cost that grows with its length (it runs once to send,
/// once to check).
pub fn crc32_bytes_per_s(crc32: impl Fn(&[u8]) -> u32, bytes: usize, time_max: Duration) -> f64 {
    let buffer: Vec<u8> = (0..bytes).map(|i| i as u8).collect();
    let mut rounds = 0u64;
    let mut register = 0u32;
    let started = Instant::now();
    while started.elapsed() < time_max {
        for _ in 0..FRAMES_PER_CLOCK_CHECK {
            register ^= crc32(std::hint::black_box(&buffer));
        }
        rounds += FRAMES_PER_CLOCK_CHECK as u64;
    }
    std::hint::black_box(register);
    (rounds * bytes as u64) as f64 / started.elapsed().as_secs_f64()
}
