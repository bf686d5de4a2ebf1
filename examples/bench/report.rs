//! What a run measured: figures against their targets, notes, missing figures, and the
//! Markdown file (`BENCHMARKS.md`) they become.
//!
//! Everything a scenario reports belongs to its *section* (the scenario's `BENCH_ONLY` name).
//! `BENCHMARKS.md` holds one block per section between `<!-- section: NAME -->` and
//! `<!-- /section: NAME -->`, each with the date, length and machine load of the run that
//! measured it; a run rewrites only the sections it ran and keeps the others as they were, so
//! `BENCH_ONLY=endpoints ./bench/run.sh` never wipes the sync figures.

use std::{collections::BTreeMap, fmt::Write as _, path::Path, path::PathBuf};

use serde_json::Value;

/// Where a run leaves its raw results, logs and profiles.
pub fn results_dir() -> PathBuf {
    testkit::repo_root().join("target/bench-results")
}

/// Nearest-rank percentile of sorted samples.
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub struct Figure {
    pub section: String,
    pub name: String,
    pub value: String,
    pub target: String,
    pub met: Option<bool>,
}

/// When a section ran, and how loaded the machine was (`/proc/loadavg` before and after).
pub struct Ran {
    pub started: chrono::DateTime<chrono::Utc>,
    pub secs: f64,
    pub load_before: String,
    pub load_after: String,
}

#[derive(Default)]
pub struct Report {
    /// The section being measured (set by `main::run`).
    pub section: String,
    pub figures: Vec<Figure>,
    /// (section, note)
    pub notes: Vec<(String, String)>,
    /// (section, what is missing)
    pub missing: Vec<(String, String)>,
    pub ran: BTreeMap<String, Ran>,
    /// Every scenario's raw figures, written to `target/bench-results/results.json`.
    pub raw: serde_json::Map<String, Value>,
}

impl Report {
    pub fn figure(&mut self, name: &str, value: String, target: &str, met: Option<bool>) {
        println!("  {name}: {value}  (target {target}: {})", verdict(met));
        self.figures.push(Figure {
            section: self.section.clone(),
            name: name.into(),
            value,
            target: target.into(),
            met,
        });
    }
    pub fn note(&mut self, s: String) {
        println!("  note: {s}");
        self.notes.push((self.section.clone(), s));
    }
    pub fn miss(&mut self, s: String) {
        println!("  MISSING: {s}");
        self.missing.push((self.section.clone(), s));
    }
}

/// The 1, 5 and 15 minute load averages, as `/proc/loadavg` has them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

pub fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "NOT met",
        None => "reported",
    }
}

pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let mem_kib: u64 = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()))
        .unwrap_or(0);
    format!("{cpus} CPUs ({model}), {:.1} GiB RAM, {}", mem_kib as f64 / 1048576.0, std::env::consts::OS)
}

/// The Markdown block of one section this run measured.
fn section_block(report: &Report, key: &str, ran: &Ran) -> anyhow::Result<String> {
    let mut md = String::new();
    writeln!(md, "<!-- section: {key} -->")?;
    writeln!(md, "### `{key}`\n")?;
    writeln!(
        md,
        "Measured {} ({:.0} s) on {}; load average (1/5/15 min) {} before, {} after.\n",
        ran.started.format("%Y-%m-%d %H:%M UTC"),
        ran.secs,
        machine(),
        ran.load_before,
        ran.load_after
    )?;
    let figures: Vec<&Figure> = report.figures.iter().filter(|f| f.section == key).collect();
    if !figures.is_empty() {
        writeln!(md, "| figure | result | target | status |\n|---|---|---|---|")?;
        for f in figures {
            writeln!(md, "| {} | {} | {} | {} |", f.name, f.value.replace('|', "/"), f.target, verdict(f.met))?;
        }
    }
    let missing: Vec<&String> = report.missing.iter().filter(|(s, _)| s == key).map(|(_, m)| m).collect();
    if !missing.is_empty() {
        writeln!(md, "\nMissing figures:\n")?;
        for m in missing {
            writeln!(md, "- {m}")?;
        }
    }
    let notes: Vec<&String> = report.notes.iter().filter(|(s, _)| s == key).map(|(_, n)| n).collect();
    if !notes.is_empty() {
        writeln!(md, "\nNotes:\n")?;
        for n in notes {
            writeln!(md, "- {n}")?;
        }
    }
    writeln!(md, "<!-- /section: {key} -->")?;
    Ok(md)
}

/// The sections of an existing `BENCHMARKS.md`, by name, as they are written.
fn existing_sections(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = text;
    while let Some(start) = rest.find("<!-- section: ") {
        let after = &rest[start + "<!-- section: ".len()..];
        let Some(end_name) = after.find(" -->") else { break };
        let key = after[..end_name].to_string();
        let close = format!("<!-- /section: {key} -->");
        let Some(end) = rest[start..].find(&close) else { break };
        let block_end = start + end + close.len();
        out.insert(key, format!("{}\n", &rest[start..block_end]));
        rest = &rest[block_end..];
    }
    out
}

/// Write `path`: the sections of this run (in `order`), the other sections kept from the file
/// as it was, then `bench/ANALYSIS.md`.
pub fn write_markdown(report: &Report, path: &Path, order: &[&str]) -> anyhow::Result<()> {
    let mut sections = existing_sections(&std::fs::read_to_string(path).unwrap_or_default());
    for (key, ran) in &report.ran {
        sections.insert(key.clone(), section_block(report, key, ran)?);
    }
    let mut md = String::new();
    writeln!(md, "# Benchmarks\n")?;
    writeln!(
        md,
        "Generated by `./bench/run.sh` (`BENCH_ONLY=<section>,…` re-measures some sections and keeps the others). \
         Each section says when and on what machine it was measured, and how loaded the machine was; ratios are \
         measured within one run, absolute figures belong to that machine, which is shared and noisy.\n"
    )?;
    let mut keys: Vec<&String> = sections.keys().collect();
    keys.sort_by_key(|k| (order.iter().position(|o| o == k).unwrap_or(usize::MAX), k.to_string()));
    for key in keys {
        writeln!(md, "{}", sections[key])?;
    }
    let analysis = testkit::repo_root().join("bench/ANALYSIS.md");
    if let Ok(text) = std::fs::read_to_string(&analysis) {
        writeln!(md, "{}", text.trim_end())?;
    }
    std::fs::write(path, md)?;
    Ok(())
}
