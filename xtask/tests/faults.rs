//! Faults, tested (issue 12): a reproduction or a merge killed with SIGKILL at any moment and then
//! rerun ends with exactly the output folder of an uninterrupted run, and shard + merge reports
//! exactly what an unsharded run reports.
//!
//! Each test drives the `xtask` binary on a small spec folder (copies of committed specs from
//! `repro/`, `--quick`, two threads) in a temporary folder of its own, polls the number of cache
//! files (`OUT/cache/<key>.json`, one a finished run) to decide when to kill, and compares what
//! the rerun wrote with an uninterrupted reference run:
//!
//! - `claims.json`, `claims.md`, `figures/*.svg`, `manifest.json` and every other report file:
//!   byte for byte;
//! - `REPORT.md`: byte for byte with the code revision masked (the revision is that of the
//!   working tree, which other work may change between two runs; the child processes run outside
//!   any git repository, so it is "unknown" in both anyway);
//! - `runs/*.csv`: byte for byte without the `wall_seconds` column (timings differ);
//! - `run.json`: not compared (timings; it says how many runs came from the cache);
//! - the lock file: not compared (it names its holder's process id and start time);
//! - the cache: the same set of `<key>.json` files, each complete JSON (not the bytes: a record
//!   holds its wall time);
//! - the set of every file in the folder, hidden ones included: the same, so nothing a killed
//!   process left (temporaries of atomic writes, stale files) survives a completed rerun.
//!
//! Kills land at moments chosen by polling, so which phase a kill hits varies with the machine;
//! each test prints (run with `--nocapture`) where its kills landed.

#![cfg(unix)]

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const XTASK: &str = env!("CARGO_BIN_EXE_xtask");
/// Committed specs copied into each test's spec folder. claim1 and claim3 share their sweep (the
/// same 80 runs, stored once); fig-landscape adds 4 runs with coordinates and a landscape figure.
/// About 0.8 s of work on two threads.
const SPECS: [&str; 3] = ["claim1-convergence", "claim3-small-batch-sparse", "fig-landscape"];
/// No child may take longer than this (a hang fails the test instead of stalling CI).
const TIMEOUT: Duration = Duration::from_secs(300);
const POLL: Duration = Duration::from_micros(500);

/// A temporary folder of one test: removed at the end when the test passes, kept (and named) when
/// it fails, to look at.
struct Scratch {
    root: PathBuf,
    logs: std::cell::Cell<usize>,
}

impl Scratch {
    fn new(name: &str) -> Self {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let root = std::env::temp_dir().join(format!("aesgd-faults-{name}-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&root).unwrap();
        Self { root, logs: std::cell::Cell::new(0) }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// A spec folder holding copies of the committed specs `ids`.
    fn specs(&self, ids: &[&str]) -> PathBuf {
        let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../repro");
        let folder = self.path("specs");
        fs::create_dir_all(&folder).unwrap();
        for id in ids {
            let file = format!("{id}.toml");
            fs::copy(committed.join(&file), folder.join(&file)).unwrap();
        }
        folder
    }

    /// A fresh pair of log files for a child's stdout and stderr (files, not pipes: a child that
    /// fills a pipe nobody reads would block, and its timing would change).
    fn log_files(&self) -> (PathBuf, PathBuf) {
        let n = self.logs.get();
        self.logs.set(n + 1);
        let logs = self.path("logs");
        fs::create_dir_all(&logs).unwrap();
        (logs.join(format!("{n}.out")), logs.join(format!("{n}.err")))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {} for inspection", self.root.display());
        } else {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

/// `xtask repro --quick --specs SPECS --out OUT --jobs 2`, plus `extra`.
fn repro(scratch: &Scratch, specs: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(XTASK);
    command.args(["repro", "--quick", "--specs"]).arg(specs).arg("--out").arg(out);
    command.args(["--jobs", "2"]).args(extra);
    // Outside any git repository, so the revision in REPORT.md does not follow others' edits.
    command.current_dir(&scratch.root);
    command
}

/// `xtask repro merge FOLDERS... --out OUT`.
fn merge(scratch: &Scratch, folders: &[&Path], out: &Path) -> Command {
    let mut command = Command::new(XTASK);
    command.args(["repro", "merge"]).args(folders).arg("--out").arg(out);
    command.current_dir(&scratch.root);
    command
}

fn spawn(scratch: &Scratch, mut command: Command) -> Child {
    let (out, err) = scratch.log_files();
    command
        .stdin(Stdio::null())
        .stdout(fs::File::create(out).unwrap())
        .stderr(fs::File::create(err).unwrap())
        .spawn()
        .unwrap()
}

/// Runs `command` to its end; it must succeed. Returns its stderr.
fn run(scratch: &Scratch, mut command: Command) -> String {
    let (out, err) = scratch.log_files();
    let what = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).unwrap())
        .stderr(fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {TIMEOUT:?}");
        }
        sleep(Duration::from_millis(2));
    };
    let stderr = fs::read_to_string(&err).unwrap_or_default();
    let stdout = fs::read_to_string(&out).unwrap_or_default();
    assert!(status.success(), "{what} failed ({status}):\nstdout:\n{stdout}\nstderr:\n{stderr}");
    stderr
}

/// Where a kill landed.
struct Kill {
    /// Whether SIGKILL ended the process (false: it had already finished on its own).
    landed: bool,
    /// Cache files when the kill was sent.
    records: usize,
    /// Milliseconds after the start.
    after_ms: u128,
}

impl std::fmt::Display for Kill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.landed { "killed" } else { "had finished" };
        write!(f, "{what} after {} ms, {} records cached", self.after_ms, self.records)
    }
}

/// Sends SIGKILL (`Child::kill` on Unix) to `child` as soon as `now` says so.
fn kill_when(mut child: Child, now: impl Fn() -> bool, cache: &Path) -> Kill {
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return Kill { landed: false, records: records(cache), after_ms: started.elapsed().as_millis() };
        }
        if now() {
            let records = records(cache);
            let after_ms = started.elapsed().as_millis();
            // A process that ended between `try_wait` and here is not signalled (it is a zombie
            // until waited for); its exit status tells.
            let _ = child.kill();
            let status = child.wait().unwrap();
            return Kill { landed: status.signal() == Some(9), records, after_ms };
        }
        assert!(started.elapsed() < TIMEOUT, "the moment to kill never came");
        sleep(POLL);
    }
}

/// Finished runs in a cache folder: its files named `<key>.json`.
fn records(cache: &Path) -> usize {
    fs::read_dir(cache).map_or(0, |entries| {
        entries
            .flatten()
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.ends_with(".json") && !name.starts_with('.')
            })
            .count()
    })
}

/// Every file below `folder`, relative to it, hidden ones included.
fn files(folder: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, folder: &Path, found: &mut BTreeSet<String>) {
        let Ok(entries) = fs::read_dir(folder) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                walk(root, &path, found);
            } else {
                found.insert(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(folder, folder, &mut found);
    found
}

fn is_temporary(file: &str) -> bool {
    file.ends_with(".tmp")
}

/// What a kill may leave: temporaries of atomic writes, but no torn file. Every `.json` file
/// (cache records, claims, manifest) must be complete JSON and every figure a complete SVG;
/// returns the files that are not.
fn torn(out: &Path, context: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for file in files(out) {
        let name = file.rsplit('/').next().unwrap_or(&file);
        if is_temporary(&file) || name.starts_with('.') {
            continue;
        }
        let text = fs::read_to_string(out.join(&file)).unwrap_or_default();
        let whole = if file.ends_with(".json") {
            json::is_valid(&text)
        } else if file.ends_with(".svg") {
            text.trim_end().ends_with("</svg>")
        } else {
            true
        };
        if !whole {
            problems.push(format!("{context}: {} is torn", out.join(&file).display()));
        }
    }
    problems
}

/// REPORT.md with the code revision masked.
fn without_revision(text: &str) -> String {
    let marker = "revision `";
    text.lines()
        .map(|line| match line.find(marker) {
            Some(at) => {
                let rest = &line[at + marker.len()..];
                let end = rest.find('`').map_or(rest.len(), |e| e);
                format!("{}REVISION{}", &line[..at + marker.len()], &rest[end..])
            }
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A CSV file without its `wall_seconds` column (every other column must match).
fn without_timings(text: &str) -> String {
    let column = text.lines().next().and_then(|h| h.split(',').position(|c| c == "wall_seconds"));
    text.lines()
        .map(|line| {
            line.split(',')
                .enumerate()
                .filter(|(i, _)| Some(*i) != column)
                .map(|(_, v)| v)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// How `out` differs from what the uninterrupted `reference` holds (see the crate docs for what
/// is compared how); empty when it does not.
fn differences(reference: &Path, out: &Path, context: &str) -> Vec<String> {
    let expected = files(reference);
    let found = files(out);
    let mut problems = Vec::new();
    let missing: Vec<&String> = expected.difference(&found).collect();
    if !missing.is_empty() {
        problems.push(format!("{context}: {} lacks {missing:?}", out.display()));
    }
    // A completed rerun must keep nothing a killed process left, temporaries included: a killed
    // writer's temporary is never renamed, and no later process writes that name again (it holds
    // the writer's process id), so only an explicit clean-up removes it. Left there, temporaries
    // pile up with every kill, and the README's recipe (`cp -r target/repro/{...,figures}
    // repro/results/`) copies a hidden `figures/.<id>.svg.<pid>.<thread>.tmp` into the committed
    // results. (Right after a kill they may exist: see `torn`.)
    let extra: Vec<&String> = found.difference(&expected).collect();
    if !extra.is_empty() {
        problems.push(format!("{context}: {} keeps what the killed process left: {extra:?}", out.display()));
    }
    for file in expected.intersection(&found) {
        let name = file.rsplit('/').next().unwrap_or(file);
        let (a, b) = (reference.join(file), out.join(file));
        if file.starts_with("cache/") {
            if name.ends_with(".json")
                && !name.starts_with('.')
                && !json::is_valid(&fs::read_to_string(&b).unwrap_or_default())
            {
                problems.push(format!("{context}: {} is torn", b.display()));
            }
            continue;
        }
        if file == "run.json" || name.contains("lock") {
            continue;
        }
        let (a_bytes, b_bytes) = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
        let same = if file == "REPORT.md" {
            without_revision(&String::from_utf8_lossy(&a_bytes))
                == without_revision(&String::from_utf8_lossy(&b_bytes))
        } else if file.ends_with(".csv") {
            without_timings(&String::from_utf8_lossy(&a_bytes))
                == without_timings(&String::from_utf8_lossy(&b_bytes))
        } else {
            a_bytes == b_bytes
        };
        if !same {
            problems.push(format!("{context}: {} is not identical to {}", b.display(), a.display()));
        }
    }
    problems
}

/// The runs of the reproduction, from the line "E experiment(s), R run(s), C cached, T to run".
fn runs_line(stderr: &str) -> &str {
    stderr.lines().find(|l| l.contains(" cached, ") && l.contains(" to run")).unwrap_or_else(|| {
        panic!("no 'N cached, M to run' line in:\n{stderr}");
    })
}

/// The number of records at which to kill, from the records found at the start and the total.
type Threshold = fn(usize, usize) -> usize;

/// Reruns the killed reproduction in `out` to its end. Every record the killed process left must
/// be usable: the rerun counts them all as cached and computes only the others.
fn resume(scratch: &Scratch, specs: &Path, out: &Path, total: usize, context: &str) -> Vec<String> {
    let found = records(&out.join("cache"));
    let stderr = run(scratch, repro(scratch, specs, out, &[]));
    let line = runs_line(&stderr);
    let expected = format!("{total} run(s), {found} cached, {} to run", total - found);
    if line.contains(&expected) {
        Vec::new()
    } else {
        vec![format!("{context}: the rerun said \"{line}\", not \"{expected}\" (unusable records left?)")]
    }
}

/// A SIGKILL right after the start, after a few records, half way and in the report phase, each
/// resumed by the same command: the rerun ends with the uninterrupted run's outputs.
#[test]
fn a_killed_reproduction_resumes_to_identical_outputs() {
    let began = Instant::now();
    let scratch = Scratch::new("resume");
    let specs = scratch.specs(&SPECS);
    let reference = scratch.path("reference");
    run(&scratch, repro(&scratch, &specs, &reference, &[]));
    let total = records(&reference.join("cache"));
    assert!(total >= 40, "the spec set should have dozens of runs, has {total}");
    let mut landed = Vec::new();
    let mut problems = Vec::new();

    // 1. One folder killed again and again, each time by the same command resumed: right after
    // the start, after a few more records, half way, once every record is cached (the report
    // phase). Each moment counts from the records the resumed process found.
    let out = scratch.path("chain");
    let cache = out.join("cache");
    let moments: [(&str, Threshold); 4] = [
        ("right after the start", |_, _| 0),
        ("after a few more records", |found, _| found + 3),
        ("half way", |found, total| (total / 2).max(found + 3)),
        ("in the report phase", |_, total| total),
    ];
    for (moment, threshold) in moments {
        let at = threshold(records(&cache), total);
        let child = spawn(&scratch, repro(&scratch, &specs, &out, &[]));
        let kill = kill_when(child, || records(&cache) >= at, &cache);
        problems.extend(torn(&out, moment));
        landed.push((moment, kill));
    }
    problems.extend(resume(&scratch, &specs, &out, total, "killed four times"));
    problems.extend(differences(&reference, &out, "killed four times, then resumed"));

    // 2. A single kill half way through, resumed once.
    let out = scratch.path("half");
    let child = spawn(&scratch, repro(&scratch, &specs, &out, &[]));
    let kill = kill_when(child, || records(&out.join("cache")) >= total / 2, &out.join("cache"));
    problems.extend(torn(&out, "killed half way"));
    landed.push(("half way, alone", kill));
    problems.extend(resume(&scratch, &specs, &out, total, "killed half way"));
    problems.extend(differences(&reference, &out, "killed half way, then resumed"));

    // 3. The report phase alone, swept: a folder whose cache is complete (copied from the
    // reference) reports in tens of milliseconds; kills at fractions of that time, and once the
    // first report file appears, each resumed.
    let report_only = |name: &str| {
        let out = scratch.path(name);
        fs::create_dir_all(out.join("cache")).unwrap();
        for entry in fs::read_dir(reference.join("cache")).unwrap().flatten() {
            fs::copy(entry.path(), out.join("cache").join(entry.file_name())).unwrap();
        }
        out
    };
    let out = report_only("report-timed");
    let timer = Instant::now();
    let stderr = run(&scratch, repro(&scratch, &specs, &out, &[]));
    let report_time = timer.elapsed();
    assert!(runs_line(&stderr).contains(&format!("{total} cached, 0 to run")), "{stderr}");
    problems.extend(differences(&reference, &out, "reported from a complete cache"));
    for i in 0..7 {
        let out = report_only(&format!("report-{i}"));
        let child = spawn(&scratch, repro(&scratch, &specs, &out, &[]));
        let claims = out.join("claims.json");
        let kill = if i < 6 {
            let at = report_time * i / 6;
            let started = Instant::now();
            kill_when(child, move || started.elapsed() >= at, &out.join("cache"))
        } else {
            kill_when(child, || claims.exists(), &out.join("cache"))
        };
        problems.extend(torn(&out, &format!("report phase killed ({i})")));
        let reported = ["claims.json", "claims.md", "REPORT.md", "manifest.json"]
            .iter()
            .filter(|f| out.join(f).exists())
            .count();
        landed.push((if i < 6 { "report phase, timed" } else { "once claims.json appears" }, kill));
        eprintln!("report kill {i}: {reported} of the top-level report files were written");
        problems.extend(resume(&scratch, &specs, &out, total, &format!("report phase killed ({i})")));
        problems.extend(differences(&reference, &out, &format!("report phase killed ({i}), then rerun")));
    }

    for (moment, kill) in &landed {
        eprintln!("kill {moment}: {kill}");
    }
    let mid_run = landed.iter().filter(|(_, k)| k.landed && k.records > 0 && k.records < total).count();
    eprintln!(
        "{} of {} kills landed ({mid_run} mid-run); {total} runs; report phase {report_time:?}; test took {:?}",
        landed.iter().filter(|(_, k)| k.landed).count(),
        landed.len(),
        began.elapsed()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Item 3 of "Faults, tested" first: `--shard 1/2` and `--shard 2/2` into two folders, merged,
/// report what an unsharded run reports, computing nothing. Then merges killed as early and as
/// far in as polling can catch them (a merge of ~80 records takes a few milliseconds, so most
/// kills land before or after it, and the test prints where they landed), each merge rerun:
/// the folder then reports identically, again computing nothing.
#[test]
fn a_killed_merge_resumes_and_shards_report_like_an_unsharded_run() {
    let began = Instant::now();
    let scratch = Scratch::new("merge");
    let specs = scratch.specs(&SPECS);
    let reference = scratch.path("reference");
    run(&scratch, repro(&scratch, &specs, &reference, &[]));
    let total = records(&reference.join("cache"));
    let (one, two) = (scratch.path("shard-1"), scratch.path("shard-2"));
    run(&scratch, repro(&scratch, &specs, &one, &["--shard", "1/2"]));
    run(&scratch, repro(&scratch, &specs, &two, &["--shard", "2/2"]));
    let (keys_one, keys_two) = (files(&one.join("cache")), files(&two.join("cache")));
    assert!(keys_one.is_disjoint(&keys_two), "the shards overlap");
    assert_eq!(records(&one.join("cache")) + records(&two.join("cache")), total, "the shards miss runs");
    assert!(records(&one.join("cache")) > 0 && records(&two.join("cache")) > 0, "a shard is empty");

    let report_without_computing = |out: &Path, context: &str| {
        let stderr = run(&scratch, repro(&scratch, &specs, out, &[]));
        let line = runs_line(&stderr);
        let mut problems = differences(&reference, out, context);
        if !line.contains(&format!("{total} run(s), {total} cached, 0 to run")) {
            problems.push(format!("{context}: the report computed runs: {line}"));
        }
        problems
    };
    let merged = scratch.path("merged");
    run(&scratch, merge(&scratch, &[&one, &two], &merged));
    assert_eq!(records(&merged.join("cache")), total);
    let mut problems = report_without_computing(&merged, "shard 1/2 + shard 2/2, merged");

    let mut landed = Vec::new();
    for attempt in 0..8 {
        let out = scratch.path(&format!("merge-{attempt}"));
        let cache = out.join("cache");
        let child = spawn(&scratch, merge(&scratch, &[&one, &two], &out));
        let kill = match attempt % 4 {
            // As early as possible: the first poll.
            0 => kill_when(child, || true, &cache),
            // Once the output folder exists (the merge has taken its lock).
            1 => kill_when(child, || out.exists(), &cache),
            // Once the first record is copied.
            2 => kill_when(child, || records(&cache) >= 1, &cache),
            // Once the first shard is copied.
            _ => kill_when(child, || records(&cache) >= keys_one.len(), &cache),
        };
        problems.extend(torn(&out, &format!("merge killed ({attempt})")));
        landed.push(kill);
        // A second killed merge into the same folder, then the merge to its end.
        if attempt == 7 {
            let child = spawn(&scratch, merge(&scratch, &[&one, &two], &out));
            landed.push(kill_when(child, || true, &cache));
            problems.extend(torn(&out, "merge killed twice"));
        }
        run(&scratch, merge(&scratch, &[&one, &two], &out));
        problems.extend(report_without_computing(&out, &format!("merge killed ({attempt}), then rerun")));
    }
    for (i, kill) in landed.iter().enumerate() {
        eprintln!("merge kill {i}: {kill}");
    }
    let mid_way = landed.iter().filter(|k| k.landed && k.records > 0 && k.records < total).count();
    eprintln!(
        "{} of {} merge kills landed ({mid_way} with part of the {total} records copied); test took {:?}",
        landed.iter().filter(|k| k.landed).count(),
        landed.len(),
        began.elapsed()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What a SIGKILL between an atomic write's write and its rename leaves: a partial temporary
/// beside its target. Polling cannot aim a kill at that instant, so the test puts such
/// temporaries, named the way `write_atomic` names them with the id of a really killed
/// process, in the cache, in the output folder and among the figures, and resumes: the
/// completed rerun must leave none of them (see `differences` for why).
#[test]
fn a_resumed_reproduction_removes_the_temporaries_of_a_killed_writer() {
    let scratch = Scratch::new("temporaries");
    let specs = scratch.specs(&["fig-landscape"]);
    let reference = scratch.path("reference");
    run(&scratch, repro(&scratch, &specs, &reference, &[]));
    let out = scratch.path("out");
    let child = spawn(&scratch, repro(&scratch, &specs, &out, &[]));
    let pid = child.id();
    let kill = kill_when(child, || true, &out.join("cache"));
    eprintln!("process {pid}: {kill}");
    let record = files(&reference.join("cache"))
        .into_iter()
        .find(|f| f.ends_with(".json") && !f.starts_with('.'))
        .unwrap();
    let plant = |from: &Path, to: PathBuf| {
        let bytes = fs::read(from).unwrap();
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::write(to, &bytes[..bytes.len() / 2]).unwrap();
    };
    plant(&reference.join("cache").join(&record), out.join(format!("cache/.{record}.{pid}.ThreadId2.tmp")));
    plant(&reference.join("claims.json"), out.join(format!(".claims.json.{pid}.ThreadId1.tmp")));
    plant(
        &reference.join("figures/landscape.svg"),
        out.join(format!("figures/.landscape.svg.{pid}.ThreadId1.tmp")),
    );
    let mut problems = torn(&out, "temporaries put in place");
    run(&scratch, repro(&scratch, &specs, &out, &[]));
    problems.extend(differences(&reference, &out, "resumed after a kill that left temporaries"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Just enough of a JSON parser to tell a complete document from a torn one (std only).
mod json {
    /// Whether `text` is one complete JSON value (with surrounding white space).
    pub fn is_valid(text: &str) -> bool {
        let mut p = Parser { b: text.as_bytes(), i: 0 };
        p.value(0) && {
            p.space();
            p.i == p.b.len()
        }
    }

    struct Parser<'a> {
        b: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn peek(&self) -> Option<u8> {
            self.b.get(self.i).copied()
        }

        fn space(&mut self) {
            while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
                self.i += 1;
            }
        }

        fn eat(&mut self, c: u8) -> bool {
            self.space();
            let found = self.peek() == Some(c);
            if found {
                self.i += 1;
            }
            found
        }

        fn word(&mut self, w: &[u8]) -> bool {
            let found = self.b[self.i..].starts_with(w);
            if found {
                self.i += w.len();
            }
            found
        }

        fn value(&mut self, depth: usize) -> bool {
            self.space();
            if depth > 128 {
                return false;
            }
            match self.peek() {
                Some(b'{') => self.sequence(b'}', depth, true),
                Some(b'[') => self.sequence(b']', depth, false),
                Some(b'"') => self.string(),
                Some(b't') => self.word(b"true"),
                Some(b'f') => self.word(b"false"),
                Some(b'n') => self.word(b"null"),
                Some(b'-' | b'0'..=b'9') => self.number(),
                _ => false,
            }
        }

        /// An object (`keyed`) or an array, from its opening bracket.
        fn sequence(&mut self, close: u8, depth: usize, keyed: bool) -> bool {
            self.i += 1;
            if self.eat(close) {
                return true;
            }
            loop {
                if keyed {
                    self.space();
                    if self.peek() != Some(b'"') || !self.string() || !self.eat(b':') {
                        return false;
                    }
                }
                if !self.value(depth + 1) {
                    return false;
                }
                if self.eat(close) {
                    return true;
                }
                if !self.eat(b',') {
                    return false;
                }
            }
        }

        fn string(&mut self) -> bool {
            self.i += 1;
            while let Some(c) = self.peek() {
                self.i += 1;
                match c {
                    b'"' => return true,
                    b'\\' => match self.peek() {
                        Some(b'u') => {
                            let hex = self.b.get(self.i + 1..self.i + 5);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return false;
                            }
                            self.i += 5;
                        }
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                        _ => return false,
                    },
                    0..0x20 => return false,
                    _ => {}
                }
            }
            false
        }

        fn number(&mut self) -> bool {
            let start = self.i;
            let digits = |p: &mut Self| {
                let from = p.i;
                while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                    p.i += 1;
                }
                p.i > from
            };
            if self.peek() == Some(b'-') {
                self.i += 1;
            }
            if !digits(self) {
                return false;
            }
            if self.peek() == Some(b'.') {
                self.i += 1;
                if !digits(self) {
                    return false;
                }
            }
            if matches!(self.peek(), Some(b'e' | b'E')) {
                self.i += 1;
                if matches!(self.peek(), Some(b'+' | b'-')) {
                    self.i += 1;
                }
                if !digits(self) {
                    return false;
                }
            }
            self.i > start
        }
    }

    #[test]
    fn tells_complete_documents_from_torn_ones() {
        let whole = r#"{"key": "a\"b\u00e9", "x": [1, -2.5e-3, true, false, null, {}], "y": {"z": []}}"#;
        assert!(is_valid(whole));
        for cut in 0..whole.len() {
            assert!(!is_valid(&whole[..cut]), "{}", &whole[..cut]);
        }
        assert!(!is_valid("{\"a\": 1,}") && !is_valid("[01x]") && !is_valid("{} {}"));
    }
}
