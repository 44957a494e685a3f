//! Runs the fuzz targets.
//!
//! Run with `cargo run --release -p session-fuzz -- [--target NAME|--all] [--seconds N] [--seed S]`.
//! Corpora live in `fuzz/corpus/<target>/`; an input that makes a target panic is written to
//! `fuzz/crashes/<target>-<n>.bin` and the run exits with status 1.

use std::panic;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use session_fuzz::{Rng, TARGETS, mutate, target};

fn corpus(dir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if let Ok(b) = std::fs::read(&p) {
                out.push(b);
            }
        }
    }
    if out.is_empty() {
        out.push(Vec::new());
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seconds: f64 = get("--seconds")
        .and_then(|s| s.parse().ok())
        .unwrap_or(30.0);
    let seed: u64 = get("--seed")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9E37_79B9_7F4A_7C15);
    let names: Vec<String> = match get("--target") {
        Some(t) => vec![t],
        None => TARGETS.iter().map(|s| (*s).to_owned()).collect(),
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Panics are the findings; their default report would flood the output.
    panic::set_hook(Box::new(|_| {}));
    let mut failed = false;
    for name in names {
        let Some(t) = target(&name) else {
            eprintln!("unknown target {name}; targets: {TARGETS:?}");
            std::process::exit(2);
        };
        let mut seeds = corpus(&root.join("corpus").join(&name));
        seeds.extend(session_fuzz::generated_seeds(&name));
        let mut rng = Rng(seed);
        let start = Instant::now();
        let budget = Duration::from_secs_f64(seconds);
        let mut execs: u64 = 0;
        let mut crashes = 0;
        // Seeds first, unmutated.
        let mut queue: Vec<Vec<u8>> = seeds.clone();
        while start.elapsed() < budget {
            let input = match queue.pop() {
                Some(i) => i,
                None => {
                    let a = &seeds[rng.below(seeds.len())];
                    let b = &seeds[rng.below(seeds.len())];
                    mutate(&mut rng, a, b)
                }
            };
            execs += 1;
            if panic::catch_unwind(|| t(&input)).is_err() {
                crashes += 1;
                let dir = root.join("crashes");
                let _ = std::fs::create_dir_all(&dir);
                let path = dir.join(format!("{name}-{crashes}.bin"));
                let _ = std::fs::write(&path, &input);
                eprintln!("{name}: crash saved to {}", path.display());
                failed = true;
                if crashes >= 5 {
                    break;
                }
            }
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{name}: {execs} executions in {secs:.1} s ({:.0}/s), {} corpus entries, {crashes} crashes",
            execs as f64 / secs,
            seeds.len()
        );
    }
    if failed {
        std::process::exit(1);
    }
}
