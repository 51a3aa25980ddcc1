//! A broker's CPU time and resident memory, from `/proc` (Linux only).

use std::io;

/// Clock ticks per second of `/proc/PID/stat`'s times: Linux reports them in
/// USER_HZ, which is 100 on every architecture it supports.
const USER_HZ: f64 = 100.0;

/// User + system CPU seconds the process has used, all threads together.
pub fn cpu_seconds(pid: u32) -> io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name in parentheses may hold spaces; fields follow the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, rest)| rest).ok_or_else(|| io::Error::other("no ')' in stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 3 (state) is fields[0]; utime and stime are fields 14 and 15.
    let tick = |i: usize| -> io::Result<f64> {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .map(|t| t as f64 / USER_HZ)
            .ok_or_else(|| io::Error::other(format!("no field {} in /proc/{pid}/stat", i + 3)))
    };
    Ok(tick(11)? + tick(12)?)
}

/// Resident set size in bytes (`VmRSS`).
pub fn rss_bytes(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| io::Error::other(format!("no VmRSS in /proc/{pid}/status")))
}

/// Open file descriptors of the process.
pub fn open_fds(pid: u32) -> io::Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count())
}

/// CPU seconds the whole machine has been busy (every state of the first
/// `/proc/stat` line but idle and iowait), all cores together.
pub fn machine_busy_seconds() -> io::Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let cpu =
        stat.lines().next().and_then(|l| l.strip_prefix("cpu ")).ok_or_else(|| io::Error::other("bad /proc/stat"))?;
    let ticks: Vec<u64> = cpu.split_whitespace().filter_map(|t| t.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let busy: u64 = ticks.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, t)| t).sum();
    Ok(busy as f64 / USER_HZ)
}

/// The one-minute load average of the machine (`/proc/loadavg`).
pub fn load_average() -> io::Result<f64> {
    let text = std::fs::read_to_string("/proc/loadavg")?;
    text.split_whitespace().next().and_then(|l| l.parse().ok()).ok_or_else(|| io::Error::other("bad /proc/loadavg"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        assert!(cpu_seconds(me).unwrap() >= 0.0);
        assert!(rss_bytes(me).unwrap() > 0);
        assert!(open_fds(me).unwrap() > 0);
        assert!(load_average().unwrap() >= 0.0);
        assert!(machine_busy_seconds().unwrap() > 0.0);
    }
}
