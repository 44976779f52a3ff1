//! The memory monitor: the process's resident set (now and the peak seen), memory attributed to
//! each model at load (file size, not RSS deltas, which allocators make unreliable), the configured
//! limit (500 MB by default, the original plan's) and whether the process is within it, as a
//! serialisable report.

use std::sync::Mutex;

use serde::Serialize;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// The default limit: 500 MB, the original system's target with all models loaded.
pub const DEFAULT_LIMIT_BYTES: u64 = 500 * 1024 * 1024;

/// Memory attributed to one model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelMemory {
    /// Model name.
    pub name: String,
    /// Bytes attributed at load.
    pub bytes: u64,
}

/// A snapshot.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MemoryReport {
    /// Resident set size now, bytes.
    pub rss_bytes: u64,
    /// Largest resident set size this monitor has seen, bytes.
    pub peak_rss_bytes: u64,
    /// Per-model attribution.
    pub models: Vec<ModelMemory>,
    /// Sum of `models`.
    pub models_bytes: u64,
    /// The limit.
    pub limit_bytes: u64,
    /// `rss_bytes <= limit_bytes`.
    pub within_limits: bool,
}

/// Samples this process's memory with `sysinfo`.
pub struct MemoryMonitor {
    pid: Option<Pid>,
    system: Mutex<Option<System>>,
    peak: Mutex<u64>,
    limit: u64,
}

impl MemoryMonitor {
    /// A monitor with a limit in bytes.
    pub fn new(limit_bytes: u64) -> MemoryMonitor {
        MemoryMonitor {
            pid: sysinfo::get_current_pid().ok(),
            system: Mutex::new(System::new().ok()),
            peak: Mutex::new(0),
            limit: limit_bytes,
        }
    }

    /// Resident set size now (0 where the platform does not tell).
    pub fn rss(&self) -> u64 {
        let (Some(pid), Ok(mut guard)) = (self.pid, self.system.lock()) else {
            return 0;
        };
        let Some(system) = guard.as_mut() else {
            return 0;
        };
        system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            false,
            ProcessRefreshKind::nothing().with_memory(),
        );
        let rss = system.process(pid).map(|p| p.memory()).unwrap_or(0);
        if let Ok(mut peak) = self.peak.lock() {
            *peak = (*peak).max(rss);
        }
        rss
    }

    /// A report with the given per-model attribution.
    pub fn report(&self, models: Vec<ModelMemory>) -> MemoryReport {
        let rss = self.rss();
        let peak = self.peak.lock().map(|p| *p).unwrap_or(rss);
        MemoryReport {
            rss_bytes: rss,
            peak_rss_bytes: peak.max(rss),
            models_bytes: models.iter().map(|m| m.bytes).sum(),
            models,
            limit_bytes: self.limit,
            within_limits: rss <= self.limit,
        }
    }
}

impl Default for MemoryMonitor {
    fn default() -> Self {
        MemoryMonitor::new(DEFAULT_LIMIT_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_is_plausible_and_tracks_the_peak() {
        let m = MemoryMonitor::default();
        let before = m.report(vec![]);
        assert!(
            before.rss_bytes > 1024 * 1024,
            "a test process holds more than 1 MB"
        );
        assert!(before.rss_bytes < 64 * 1024 * 1024 * 1024);
        // Touch 64 MB and see the resident set grow.
        let big = vec![1u8; 64 * 1024 * 1024];
        let during = m.report(vec![ModelMemory {
            name: "x".into(),
            bytes: 10,
        }]);
        assert!(
            during.rss_bytes >= before.rss_bytes + 32 * 1024 * 1024,
            "{before:?} {during:?}"
        );
        assert_eq!(
            big.iter().map(|&b| u64::from(b)).sum::<u64>(),
            64 * 1024 * 1024
        );
        drop(big);
        let after = m.report(vec![]);
        assert!(after.peak_rss_bytes >= during.rss_bytes);
        assert_eq!(during.models_bytes, 10);
        assert!(!MemoryMonitor::new(1).report(vec![]).within_limits);
        let json = serde_json::to_value(&after).unwrap();
        assert!(json["within_limits"].is_boolean() && json["limit_bytes"] == DEFAULT_LIMIT_BYTES);
    }
}
