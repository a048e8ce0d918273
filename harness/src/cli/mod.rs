//! Subcommands. Each file is one subcommand; they share only the argument types here, and
//! `outln!`, their one way to print to stdout.

/// `println!` that ends the process quietly when stdout is closed (`acura-ha plan | head -1`)
/// instead of panicking.
macro_rules! outln {
    () => {
        $crate::cli::stdout_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::cli::stdout_line(format_args!($($arg)*))
    };
}

mod analyze;
mod bench;
mod check;
mod collect;
mod diff;
mod gc;
mod images;
mod plan;
mod report;
mod reproduce;
mod run;
mod scenarios;

use std::path::PathBuf;

use acura_ha::exit_code;
use clap::{Parser, Subcommand};

/// Every environment variable acura-ha reads, with what it does (`--help` shows them; a test
/// holds this list equal to the names the sources read).
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "ACURA_HA_LOG",
        "tracing filter for diagnostics on stderr (default `warn`; `-vv` is `acura_ha=debug`)",
    ),
    (
        "ACURA_HA_KIBANA_PASSWORD",
        "Kibana's password for `check`/`collect` against a site",
    ),
    (
        "ACURA_HA_CHROMIUM",
        "the browser `report --screenshot` uses (default `chromium`)",
    ),
    (
        "ACURA_HA_QEMU_ACCEL",
        "QEMU acceleration: `kvm` or `tcg` (default: kvm where it works)",
    ),
    (
        "ACURA_HA_QEMU_NET",
        "how QEMU VMs are networked (`bridge` or `user`)",
    ),
    (
        "ACURA_HA_QEMU_IMAGE",
        "the cloud image QEMU VMs boot (default: Debian 12's)",
    ),
    (
        "ACURA_HA_QEMU_BOOT_STALL",
        "seconds of console silence that give a VM's boot up (600)",
    ),
    (
        "ACURA_HA_QEMU_BOOT_TIMEOUT",
        "seconds a VM's boot may take in all (3600)",
    ),
    (
        "NO_COLOR",
        "no colour on the terminal, as `--color never` (https://no-color.org)",
    ),
    (
        "XDG_CACHE_HOME",
        "where the image builds' package cache lives (default ~/.cache)",
    ),
    (
        "XDG_STATE_HOME",
        "where kept runs are recorded (default ~/.local/state)",
    ),
];

fn after_help() -> String {
    let mut text = String::from(
        "Exit codes: 0 passed, 1 a check failed, 2 invalid input, 3 infrastructure error, 130 interrupted.\n\nEnvironment:\n",
    );
    for (name, what) in ENVIRONMENT {
        text.push_str(&format!("  {name:<28} {what}\n"));
    }
    text
}

#[derive(Parser)]
#[command(
    name = "acura-ha",
    version,
    about = "Scenario runner and conformance suite for the highly available Acura install",
    after_help = after_help()
)]
pub struct Cli {
    /// More detail: -v every command, not just the procedure's; -vv debug logs too.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    verbose: u8,
    /// Only warnings, failures, diagnoses and the verdict.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Colour on the terminal: auto (when stderr is a terminal and NO_COLOR is unset),
    /// always, never.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    color: ColorWhen,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ColorWhen {
    Auto,
    Always,
    Never,
}

/// How much the terminal shows, for the subcommands that report a run.
#[derive(Clone, Copy)]
pub struct Verbosity {
    pub verbose: bool,
    pub quiet: bool,
}

/// `text` with each line's leading `error:` in bold red, when stderr takes colour.
pub fn paint_errors(text: &str) -> String {
    if !console::colors_enabled_stderr() {
        return text.to_owned();
    }
    let word = console::style("error:")
        .for_stderr()
        .red()
        .bold()
        .to_string();
    text.lines()
        .map(|l| match l.strip_prefix("error:") {
            Some(rest) => format!("{word}{rest}"),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn apply_color(when: ColorWhen) {
    let on = match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && console::Term::stderr().is_term()
        }
    };
    console::set_colors_enabled(on);
    console::set_colors_enabled_stderr(on);
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario end to end (default: scenarios/lifecycle.yaml).
    Run(run::Args),
    /// Check scenario files without running anything.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write each file's verdict as JSON here (`-`: stdout).
        #[arg(long, value_name = "PATH")]
        json: Option<PathBuf>,
    },
    /// Print the resolved steps and the exact commands a scenario will issue.
    Plan(plan::Args),
    /// List the scenarios in a folder.
    List {
        #[arg(default_value = "scenarios")]
        dir: PathBuf,
        /// Write the list as JSON here (`-`: stdout).
        #[arg(long, value_name = "PATH")]
        json: Option<PathBuf>,
    },
    /// Build or list the host images (from Debian's packages; nothing is pulled).
    #[command(subcommand)]
    Images(images::Command),
    /// Run the checks alone against a kept topology or an existing site.
    Check(check::Args),
    /// Collect a site's state and the checks' diagnosis into one bundle.
    Collect(collect::Args),
    /// Diagnose from a bundle alone, offline.
    Analyze(analyze::Args),
    /// Write a scenario that rebuilds a bundle's site here, and run it.
    Reproduce(reproduce::Args),
    /// Render the HTML report of an earlier run from its run record.
    Report(report::Args),
    /// What changed between two runs: verdicts, checks, cells, findings, goldens, durations.
    Diff(diff::Args),
    /// Remove what dead (or named) runs left behind.
    Gc(gc::Args),
    /// Benchmarks: the checks against the guide's shell approach; QEMU boot times.
    #[command(subcommand)]
    Bench(bench::Command),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// Print the manual page (roff), generated from the same definitions as --help.
    Man,
}

/// Where a run's reports go besides its artifacts folder (which always holds `run.json`,
/// `junit.xml` and `report.html`). Shared by every subcommand that runs checks.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// Write the JSON record here (`-`: stdout).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Write the JUnit XML report here instead of the artifacts' junit.xml.
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,
    /// Write the HTML report here (one self-contained file).
    #[arg(long, value_name = "PATH")]
    html: Option<PathBuf>,
    /// Stream every event as it happens, one JSON object per line (`-`: stdout).
    #[arg(long, value_name = "PATH")]
    events: Option<PathBuf>,
}

impl ReportArgs {
    /// The outputs, each file checked writable before anything runs: a bad path is invalid
    /// input, said at once, not after a run.
    pub fn outputs(self, v: Verbosity) -> acura_ha::Result<acura_ha::runner::reporting::Outputs> {
        let stdout = [&self.json, &self.events]
            .iter()
            .filter(|p| p.as_deref().is_some_and(|p| p.as_os_str() == "-"))
            .count();
        if stdout > 1 {
            return Err(acura_ha::Error::Invalid {
                rendered: "error: --json - and --events - cannot both write to stdout".into(),
            });
        }
        for path in [&self.json, &self.junit, &self.html, &self.events]
            .into_iter()
            .flatten()
            .filter(|p| p.as_os_str() != "-")
        {
            writable(path)?;
        }
        Ok(acura_ha::runner::reporting::Outputs {
            verbose: v.verbose,
            quiet: v.quiet,
            json: self.json,
            junit: self.junit,
            html: self.html,
            events: self.events,
        })
    }
}

/// `path` can be written: its folder exists (or is made) and the file can be created.
fn writable(path: &std::path::Path) -> acura_ha::Result<()> {
    let made = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map(drop)
        });
    made.map_err(|e| acura_ha::Error::Invalid {
        rendered: format!("error: {}: cannot write here: {e}", path.display()),
    })
}

/// The version every `--json` document of the CLI's own (list, validate, plan, gc, images)
/// carries; fields are only ever added, a breaking change bumps it.
pub const JSON_FORMAT_VERSION: u32 = 1;

/// Write `value` as a JSON document to `path` (`-`: stdout), with `format_version` and `kind`
/// (what the document is) first.
pub fn write_json(
    path: &std::path::Path,
    kind: &str,
    value: &impl serde::Serialize,
) -> acura_ha::Result<()> {
    let mut doc = serde_json::json!({ "format_version": JSON_FORMAT_VERSION, "kind": kind });
    match serde_json::to_value(value).expect("outputs serialize") {
        serde_json::Value::Object(fields) => doc.as_object_mut().expect("an object").extend(fields),
        other => {
            doc["items"] = other;
        }
    }
    let text = serde_json::to_string_pretty(&doc).expect("json");
    acura_ha::reporter::write_output(path, &format!("{text}\n"))
        .map_err(|e| acura_ha::Error::io(path, e))
}

/// Whether `--json` goes to stdout, where the text would otherwise go.
pub fn json_to_stdout(json: &Option<PathBuf>) -> bool {
    json.as_deref().is_some_and(|p| p.as_os_str() == "-")
}

/// One line to stdout. A reader that went away ends the process with 0: what it read is all
/// it wanted.
pub fn stdout_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("error: writing to stdout: {e}");
            std::process::exit(exit_code::INFRASTRUCTURE);
        }
    }
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit_code::INVALID_INPUT
            } else {
                exit_code::PASSED
            };
        }
    };
    init_tracing(cli.verbose);
    apply_color(cli.color);
    let verbosity = Verbosity {
        verbose: cli.verbose > 0,
        quiet: cli.quiet,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit_code::INFRASTRUCTURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Run(args) => run::run(args, verbosity).await,
            Command::Validate { files, json } => scenarios::validate(&files, json),
            Command::Plan(args) => plan::run(args),
            Command::List { dir, json } => scenarios::list(&resolve(&dir), json),
            Command::Images(cmd) => images::run(cmd).await,
            Command::Check(args) => check::run(args, verbosity).await,
            Command::Collect(args) => collect::run(args, verbosity).await,
            Command::Analyze(args) => analyze::run(args, verbosity).await,
            Command::Reproduce(args) => reproduce::run(args, verbosity).await,
            Command::Report(args) => report::run(args),
            Command::Diff(args) => diff::run(args),
            Command::Completions { shell } => {
                use clap::CommandFactory;
                let mut out = Vec::new();
                clap_complete::generate(shell, &mut Cli::command(), "acura-ha", &mut out);
                print_all(&out)
            }
            Command::Man => {
                use clap::CommandFactory;
                let mut out = Vec::new();
                clap_mangen::Man::new(Cli::command())
                    .render(&mut out)
                    .map_err(|e| {
                        acura_ha::Error::Infrastructure(format!("rendering the manual: {e}"))
                    })?;
                print_all(&out)
            }
            Command::Gc(args) => gc::run(args).await,
            Command::Bench(cmd) => bench::run(cmd, verbosity).await,
        }
    });
    // Background tasks (the Ctrl-C watcher) must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}", paint_errors(&format!("error: {e}")));
            e.exit_code()
        }
    }
}

/// Bytes to stdout; a closed pipe ends the process quietly, as [`stdout_line`] does.
fn print_all(bytes: &[u8]) -> acura_ha::Result<i32> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(exit_code::PASSED),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(exit_code::PASSED),
        Err(e) => Err(acura_ha::Error::Infrastructure(format!(
            "writing to stdout: {e}"
        ))),
    }
}

fn init_tracing(verbose: u8) {
    let default = if verbose >= 2 {
        "acura_ha=debug,warn"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ACURA_HA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The repository root: the nearest ancestor of the current directory with `vms/` and
/// `scenarios/`, so the tool works from any subdirectory of a checkout.
/// A default path (`scenarios/…`) as the repository has it, from any folder of it: the path
/// itself when it is there, otherwise under [`repo_root`].
pub fn resolve(path: &std::path::Path) -> PathBuf {
    if path.is_absolute() || path.exists() {
        return path.to_path_buf();
    }
    let under_root = repo_root().join(path);
    if under_root.exists() {
        under_root
    } else {
        path.to_path_buf()
    }
}

pub fn repo_root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    cwd.ancestors()
        .find(|d| d.join("vms").is_dir() && d.join("scenarios").is_dir())
        .map(PathBuf::from)
        .unwrap_or(cwd)
}
