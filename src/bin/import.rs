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
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use edge_auth::config::{DEFAULT_BCRYPT_MAX_COST, DEFAULT_PBKDF2_MAX_ITERATIONS};
    use edge_auth::import::{self, IdMap, ImportError, MAX_STATEMENT_BYTES, ROWS_PER_FILE};
    use edge_auth::password::HashBounds;

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

    /// Runs `wrangler d1 execute DB` with the target flag, the caller's extra args and `rest`.
    fn d1_execute(args: &Args, rest: &[&str]) -> Result<String, String> {
        let target = if args.remote { "--remote" } else { "--local" };
        let out = Command::new(wrangler())
            .args(["d1", "execute", "DB", target, "--json", "--yes"])
            .args(&args.wrangler_args)
            .args(rest)
            .env("WRANGLER_SEND_METRICS", "false")
            .env("NO_COLOR", "1")
            .output()
            .map_err(|e| format!("cannot run {}: {e}", wrangler()))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            return Err(format!(
                "wrangler d1 execute failed ({}):\n{}{}",
                out.status,
                stdout,
                String::from_utf8_lossy(&out.stderr)
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
            edge_auth::random::uuid_v4()
                .map(|u| u.to_string())
                .expect("the OS has randomness")
        });
        for r in &plan.refused {
            println!("refused row {}: {}", r.row, r.reason);
        }
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
    fn apply(args: &Args, users: &[import::ImportUser]) -> Result<usize, String> {
        if users.is_empty() {
            return Ok(0);
        }
        let files = import::sql_files(users, MAX_STATEMENT_BYTES, ROWS_PER_FILE);
        let dir = sql_dir(&args.src);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        // Remote `--file` runs go through D1's import API, which reports rows written (indexes
        // included) rather than the RETURNING rows; there the count comes from before/after.
        let before = if args.remote {
            Some(user_count(args)?)
        } else {
            None
        };
        let mut inserted = 0usize;
        for (i, sql) in files.iter().enumerate() {
            let path = dir.join(format!("batch-{:05}.sql", i + 1));
            std::fs::write(&path, sql).map_err(|e| format!("{}: {e}", path.display()))?;
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
        if !args.keep_sql {
            // The files hold password hashes: do not leave copies around.
            std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        Ok(inserted)
    }

    fn sql_dir(src: &Path) -> PathBuf {
        let mut name = src.file_name().unwrap_or_default().to_os_string();
        name.push(".d1-sql");
        src.with_file_name(name)
    }
}
