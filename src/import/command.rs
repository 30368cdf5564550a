//! `make import SRC=<file> [TARGET=remote]`: moves users into the Worker's D1.
//!
//! ```text
//! import <SRC> [--remote] [--keep-sql] [-- <extra wrangler args, e.g. --persist-to DIR -c FILE>]
//! ```
//!
//! Reads SRC (a FastAPI / fastapi-users SQLite database or JSON Lines), validates every row with
//! the Worker's own parsers, writes D1 SQL files and applies them with
//! `wrangler d1 execute DB --local|--remote --file …`. Refused rows are listed with their row
//! number and reason. The last line printed is `read N, imported N, already present N, refused N`.
//! The SQL files hold password hashes: they are the operator's alone (0600) and removed however
//! the run ends, an interruption (SIGINT, SIGTERM, SIGHUP) included, which stops wrangler and
//! fails the run instead of ending the process on the spot.
//! The Worker build never compiles this (it is native-only; see `Cargo.toml`).

#[cfg(target_arch = "wasm32")]
fn main() {
    // The importer runs on the operator's machine; the wasm build has no use for it.
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    match cli::run(std::env::args().skip(1).collect()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("import: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::io::Read;
    use std::path::PathBuf;
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    use edge_auth::config::{DEFAULT_BCRYPT_MAX_COST, DEFAULT_PBKDF2_MAX_ITERATIONS};
    use edge_auth::import::{self, IdMap, ImportError, SqlDir, MAX_STATEMENT_BYTES, ROWS_PER_FILE};
    use edge_auth::password::HashBounds;

    /// Set by SIGINT, SIGTERM or SIGHUP: the run stops at its next step and returns an error,
    /// so that the SQL files are removed on the way out (ended by the signal's default action,
    /// they would stay).
    static INTERRUPTED: AtomicBool = AtomicBool::new(false);
    /// How long an interrupted wrangler gets to stop by itself (a terminal's Ctrl-C reaches it
    /// too, and it ends its own children) before it is killed.
    const WRANGLER_GRACE: Duration = Duration::from_secs(5);
    const POLL: Duration = Duration::from_millis(50);

    fn watch_for_interruption() -> Result<(), String> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            signal_hook::flag::register(signal, &INTERRUPTED)
                .map_err(|e| format!("cannot watch for signal {signal}: {e}"))?;
        }
        Ok(())
    }

    fn stop_if_interrupted() -> Result<(), String> {
        if INTERRUPTED.load(Ordering::SeqCst) {
            Err(
                "interrupted: stopped before finishing (rows already applied stay; running \
                 the import again skips them)"
                    .into(),
            )
        } else {
            Ok(())
        }
    }

    struct Args {
        src: PathBuf,
        remote: bool,
        keep_sql: bool,
        wrangler_args: Vec<String>,
    }

    fn parse_args(args: Vec<String>) -> Result<Args, String> {
        let usage = "usage: import <SRC> [--remote] [--keep-sql] [-- <wrangler args>]";
        let mut src = None;
        let mut remote = false;
        let mut keep_sql = false;
        let mut it = args.into_iter();
        let mut wrangler_args = Vec::new();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--remote" => remote = true,
                "--keep-sql" => keep_sql = true,
                "--" => wrangler_args.extend(it.by_ref()),
                "-h" | "--help" => return Err(usage.into()),
                s if s.starts_with('-') => return Err(format!("unknown option {s}\n{usage}")),
                _ if src.is_none() => src = Some(PathBuf::from(a)),
                _ => return Err(usage.into()),
            }
        }
        Ok(Args {
            src: src.ok_or(usage)?,
            remote,
            keep_sql,
            wrangler_args,
        })
    }

    /// A bound from the environment (the same names as the Worker's vars), else the default.
    fn env_number(name: &str, default: u32) -> Result<u32, String> {
        match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => v
                .trim()
                .parse()
                .map_err(|_| format!("{name}={v:?} is not a number")),
            _ => Ok(default),
        }
    }

    fn wrangler() -> String {
        std::env::var("WRANGLER").unwrap_or_else(|_| "node_modules/.bin/wrangler".into())
    }

    /// Everything `pipe` yields, read on a thread of its own so that a child that writes more
    /// than a pipe holds never blocks while this one waits for it.
    fn read_all(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut out);
            }
            out
        })
    }

    /// Runs `wrangler d1 execute DB` with the target flag, the caller's extra args and `rest`.
    /// An interruption meanwhile stops it and fails the call.
    fn d1_execute(args: &Args, rest: &[&str]) -> Result<String, String> {
        stop_if_interrupted()?;
        let target = if args.remote { "--remote" } else { "--local" };
        let mut child = Command::new(wrangler())
            .args(["d1", "execute", "DB", target, "--json", "--yes"])
            .args(&args.wrangler_args)
            .args(rest)
            .env("WRANGLER_SEND_METRICS", "false")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", wrangler()))?;
        let stdout = read_all(child.stdout.take());
        let stderr = read_all(child.stderr.take());
        let mut interrupted_at = None;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| format!("wrangler: {e}"))? {
                break status;
            }
            if INTERRUPTED.load(Ordering::SeqCst) {
                let since = *interrupted_at.get_or_insert_with(Instant::now);
                if since.elapsed() > WRANGLER_GRACE {
                    let _ = child.kill();
                }
            }
            std::thread::sleep(POLL);
        };
        let stdout = String::from_utf8_lossy(&stdout.join().unwrap_or_default()).into_owned();
        let stderr = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
        stop_if_interrupted()?;
        if !status.success() {
            return Err(format!(
                "wrangler d1 execute failed ({status}):\n{stdout}{stderr}"
            ));
        }
        Ok(stdout)
    }

    fn user_count(args: &Args) -> Result<u64, String> {
        let out = d1_execute(args, &["--command", "SELECT COUNT(*) AS n FROM users"])?;
        let v: serde_json::Value =
            serde_json::from_str(&out).map_err(|e| format!("wrangler output: {e}"))?;
        v[0]["results"][0]["n"]
            .as_u64()
            .ok_or_else(|| "wrangler output: no count".into())
    }

    pub fn run(raw_args: Vec<String>) -> Result<(), String> {
        let args = parse_args(raw_args)?;
        watch_for_interruption()?;
        let bounds = HashBounds {
            pbkdf2_max_iterations: env_number(
                "PBKDF2_MAX_ITERATIONS",
                DEFAULT_PBKDF2_MAX_ITERATIONS,
            )?,
            bcrypt_max_cost: env_number("BCRYPT_MAX_COST", DEFAULT_BCRYPT_MAX_COST)?,
        };
        let (kind, rows) = import::read_source(&args.src).map_err(|e| e.to_string())?;
        println!(
            "{}: {} ({} rows)",
            args.src.display(),
            kind.describe(),
            rows.len()
        );

        let map_path = import::id_map_path(&args.src);
        let mut ids = IdMap::load(&map_path).map_err(|e| e.to_string())?;
        let now = edge_auth::app::rfc3339(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or_default(),
        );
        let plan = import::plan(&rows, &bounds, &mut ids, &now, || {
            edge_auth::domain::random::uuid_v4()
                .map(|u| u.to_string())
                .expect("the OS has randomness")
        });
        for r in &plan.refused {
            println!("refused row {}: {}", r.row, r.reason);
        }
        stop_if_interrupted()?;
        if !ids.is_empty() {
            // Written before anything is applied, so the ids in D1 are always in the file.
            std::fs::write(&map_path, ids.to_csv())
                .map_err(|e| ImportError::Io(map_path.clone(), e).to_string())?;
            println!(
                "id map (old id -> new UUID): {} ({} new)",
                map_path.display(),
                plan.new_mappings.len()
            );
        }
        if let Some(slowest) = plan.users.iter().max_by_key(|u| u.work_iterations) {
            // The SQL files record it in D1 (`settings`), where the Worker reads it with each
            // login: no setting to change for a wrong password on it to take as long as an
            // unknown email.
            println!(
                "slowest hash imported: {} (row {}), about {} PBKDF2 iterations: recorded in \
                 D1 (settings.imported_hash_max_work, never lowered); every failed login is \
                 padded to it",
                slowest.algorithm, slowest.row, slowest.work_iterations
            );
        }

        let imported = apply(&args, &plan.users)?;
        println!(
            "{}",
            import::summary(rows.len(), plan.users.len(), imported, plan.refused.len())
        );
        Ok(())
    }

    /// Writes the SQL files beside SRC, applies them in order and returns how many rows went in.
    /// The files are written one at a time, each just before wrangler applies it, into a
    /// directory that is removed however this returns (`SqlDir`), unless `--keep-sql`.
    fn apply(args: &Args, users: &[import::ImportUser]) -> Result<usize, String> {
        if users.is_empty() {
            return Ok(0);
        }
        let files = import::sql_files(users, MAX_STATEMENT_BYTES, ROWS_PER_FILE);
        let dir = SqlDir::create(import::sql_dir_path(&args.src), args.keep_sql)
            .map_err(|e| e.to_string())?;
        // Remote `--file` runs go through D1's import API, which reports rows written (indexes
        // included) rather than the RETURNING rows; there the count comes from before/after.
        let before = if args.remote {
            Some(user_count(args)?)
        } else {
            None
        };
        let mut inserted = 0usize;
        for (i, sql) in files.iter().enumerate() {
            stop_if_interrupted()?;
            let path = dir
                .write(&format!("batch-{:05}.sql", i + 1), sql)
                .map_err(|e| e.to_string())?;
            let out = d1_execute(args, &["--file", &path.to_string_lossy()])?;
            if before.is_none() {
                inserted += import::inserted_ids(&out)
                    .map_err(|e| format!("{}: {e}", path.display()))?
                    .len();
            }
            println!("applied {} of {} SQL files", i + 1, files.len());
        }
        if let Some(before) = before {
            inserted = user_count(args)?.saturating_sub(before) as usize;
        }
        if args.keep_sql {
            println!(
                "SQL files kept (they hold password hashes): {}",
                dir.path().display()
            );
        }
        dir.close().map_err(|e| e.to_string())?;
        Ok(inserted)
    }
}
