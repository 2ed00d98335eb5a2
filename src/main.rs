//! The `kcc` binary: parse arguments, call the library, map the outcome to an exit code
//! (0 clean, 1 configuration errors, 2 kcc could not run).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use kcc::render::{Fleet, Selection};
use kcc::{Failure, commands, project};

#[derive(Parser)]
#[command(name = "kcc", version, about = "The Kubernetes cluster compiler")]
struct Cli {
    /// Project directory (default: the nearest directory with a kcc.yaml, from the cwd up)
    #[arg(long, global = true, value_name = "DIR")]
    project: Option<PathBuf>,
    /// When to colour output
    #[arg(long, global = true, value_enum, default_value_t, value_name = "WHEN")]
    color: kcc::output::ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Select {
    /// Only this cluster (repeatable)
    #[arg(short = 'c', long = "cluster", value_name = "CLUSTER", add = ArgValueCandidates::new(clusters))]
    clusters: Vec<String>,
    /// Only this release (repeatable)
    #[arg(short = 'r', long = "release", value_name = "RELEASE", add = ArgValueCandidates::new(releases))]
    releases: Vec<String>,
    /// Private values overlay (default: the project's privateFixture)
    #[arg(long, value_name = "DIR")]
    private: Option<PathBuf>,
}

impl Select {
    fn selection(self) -> Selection {
        Selection {
            clusters: self.clusters,
            releases: self.releases,
            private: self.private,
            reuse: None,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Render canonical manifests to stdout, or to a deploy directory per cluster (--out)
    Render {
        #[command(flatten)]
        select: Select,
        /// Write files under DIR instead of printing (see README: per-cluster layout)
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Exit 1 without writing if the render (with fixture secrets) differs from golden/
        #[arg(long)]
        verify_golden: bool,
        /// With --out and no --private: write the fixture overlay's secrets into DIR (test
        /// deploys only; without it kcc refuses, so that no deploy ships fixture credentials)
        #[arg(long, requires = "out")]
        fixture_secrets: bool,
    },
    /// Render the whole fleet, run every check, and compare with golden/
    Check {
        /// Output format
        #[arg(long, value_enum, default_value = "text")]
        format: commands::check::Format,
        /// Also report, as `schema/upgrade` errors, what this Kubernetes minor (e.g. 1.25)
        /// would break in each cluster that runs an older one
        #[arg(long, value_name = "X.Y")]
        target_version: Option<String>,
        /// With --target-version: only this cluster (repeatable)
        #[arg(
            short = 'c',
            long = "cluster",
            value_name = "CLUSTER",
            requires = "target_version",
            add = ArgValueCandidates::new(clusters)
        )]
        clusters: Vec<String>,
        /// Also compare with the render at this git revision and report what applying the
        /// change would break (`hazard/*` errors, unless a `Kcc-Accept-Hazard:` trailer in a
        /// commit since REV accepts them)
        #[arg(long, value_name = "REV")]
        base: Option<String>,
        /// Check only the clusters whose inputs (values, charts, kcc.yaml entries, golden
        /// files) differ between this git revision and the working tree, untracked files
        /// included; the fleet-wide rules still see every cluster (e.g. `--since HEAD` in a
        /// pre-commit hook)
        #[arg(long, value_name = "REV")]
        since: Option<String>,
    },
    /// Check manifests against the Kubernetes (1.23–1.33) and CRD schemas (like kubeconform)
    Validate {
        /// Files, directories (searched for .yaml/.yml/.json) or `-` for stdin
        #[arg(required = true, value_name = "FILE|DIR|-")]
        inputs: Vec<PathBuf>,
        /// The Kubernetes minor to validate against (default: the project's, when run inside
        /// one, else 1.23)
        #[arg(long, value_name = "X.Y")]
        kubernetes_version: Option<String>,
        /// Kinds not to validate, comma-separated (`Kind` or `apiVersion/Kind`; repeatable)
        #[arg(long, value_name = "KIND[,KIND]", value_delimiter = ',')]
        skip: Vec<String>,
        /// Skip objects whose kind has no schema instead of failing
        #[arg(long)]
        ignore_missing_schemas: bool,
        /// Extra CustomResourceDefinition files whose schemas apply (repeatable)
        #[arg(long = "crds", value_name = "FILE")]
        crds: Vec<PathBuf>,
        /// ValidatingAdmissionPolicies and their bindings (files or directories;
        /// repeatable): every object's CREATE is decided as the API server would (a Deny is
        /// an error, a Warn a warning, an Audit a note)
        #[arg(long = "policies", value_name = "PATH")]
        policies: Vec<PathBuf>,
        /// Output format
        #[arg(long, value_enum, default_value = "text")]
        format: commands::check::Format,
    },
    /// Rewrite golden/ from the render (atomically) and print what changed
    Update,
    /// Object-level diff: golden/ vs the render, or the render at a git revision vs the
    /// working tree's. Exit 1 when they differ
    Diff {
        /// Compare the render of the project at this git revision (not golden/) with the
        /// render of the working tree
        #[arg(long, value_name = "REV")]
        base: Option<String>,
        /// Output format
        #[arg(long, value_enum, default_value = "text")]
        format: commands::diff::Format,
        /// With --format gerrit: a label to vote, e.g. `Verified=-1` (repeatable)
        #[arg(long = "gerrit-label", value_name = "NAME=VALUE", value_parser = parse_label)]
        labels: Vec<(String, i32)>,
        /// Exit 0 when the only differences are fields kcc.yaml's diffIgnore hides
        #[arg(long)]
        ignored_changes_pass: bool,
    },
    /// Show the cluster × release matrix: installed or not, and why
    List {
        #[command(flatten)]
        select: Select,
    },
    /// Show the clusters and releases each file feeds, and whether a template reads a
    /// values file or it is only merged. Exit 1 when no file feeds any
    Affected {
        /// Values files, chart files, kcc.yaml, private overlay or golden files (they need
        /// not exist: a values file not yet written feeds where it would be read)
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<String>,
        /// Output format
        #[arg(long, value_enum, default_value = "text")]
        format: commands::affected::Format,
    },
    /// Show a merged value and every layer that set or overrode it
    Explain {
        /// The cluster, as named in kcc.yaml
        #[arg(add = ArgValueCandidates::new(clusters))]
        cluster: String,
        /// The release, as named in kcc.yaml
        #[arg(add = ArgValueCandidates::new(releases))]
        release: String,
        /// Path into the merged values: dotted keys and list indexes, e.g.
        /// `service.clusterIP` or `issuers.discovery.url[0]`
        path: String,
        /// Private values overlay (default: the project's privateFixture)
        #[arg(long, value_name = "DIR")]
        private: Option<PathBuf>,
    },
    /// Print a shell completion script that completes commands, options, and the project's
    /// cluster, release and format names (e.g. `source <(kcc completions bash)`)
    Completions {
        /// The shell to complete in
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print kcc's man page, every command with its options and exit status (roff: `kcc man
    /// > kcc.1; man ./kcc.1`)
    Man,
}

/// `Verified=-1` → (`Verified`, -1).
fn parse_label(text: &str) -> Result<(String, i32), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))?;
    let value = value
        .parse()
        .map_err(|_| format!("the value of `{text}` is not an integer"))?;
    if name.is_empty() {
        return Err(format!("`{text}` has no label name"));
    }
    Ok((name.to_string(), value))
}

/// A supported Kubernetes minor, or a usage error listing them.
fn parse_version(text: &str, flag: &str) -> Result<&'static str, Failure> {
    kcc::schema::supported_version(text).ok_or_else(|| {
        Failure::Fatal(format!(
            "{flag} {text}: not a supported Kubernetes version (supported: {})",
            kcc::schema::supported_versions()
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// `kcc validate`'s default version: the project's (the oldest of its clusters' versions)
/// when run inside one, else 1.23.
fn project_version(project: Option<&std::path::Path>) -> Result<&'static str, Failure> {
    let root = match project {
        Some(dir) => Some(dir.to_path_buf()),
        None => std::env::current_dir()
            .ok()
            .and_then(|cwd| project::find_root(&cwd).ok()),
    };
    let Some(root) = root else {
        return Ok(kcc::schema::DEFAULT_VERSION);
    };
    let project = project::Project::load(&root)?;
    Ok(kcc::schema::supported_versions()
        .find(|v| project.clusters.iter().any(|c| c.kubernetes_minor == *v))
        .unwrap_or(kcc::schema::DEFAULT_VERSION))
}

/// Prints a report and fails with exit 1 if it found errors.
fn report(report: commands::check::Report) -> Result<String, Failure> {
    if report.failed {
        print!("{}", masked(&report.text));
        return Err(Failure::Reported);
    }
    Ok(report.text)
}

fn run(cli: Cli) -> Result<String, Failure> {
    kcc::output::set_color(cli.color);
    match &cli.command {
        Command::Completions { shell } => return completion_script(*shell),
        Command::Man => {
            return commands::man::page(Cli::command())
                .map_err(|e| Failure::Fatal(format!("cannot write the man page: {e}")));
        }
        _ => {}
    }
    // `validate` checks any manifests; it needs no project.
    if let Command::Validate {
        inputs,
        crds,
        format,
        kubernetes_version,
        skip,
        ignore_missing_schemas,
        policies,
    } = &cli.command
    {
        let version = match kubernetes_version {
            Some(v) => parse_version(v, "--kubernetes-version")?,
            None => project_version(cli.project.as_deref())?,
        };
        let options = commands::ValidateOptions {
            version,
            skip,
            ignore_missing_schemas: *ignore_missing_schemas,
            policies,
        };
        return report(commands::validate_manifests(
            inputs, crds, *format, &options,
        )?);
    }
    let root = match cli.project {
        Some(dir) => dir,
        None => {
            let cwd = std::env::current_dir()
                .map_err(|e| Failure::Fatal(format!("cannot read the working directory: {e}")))?;
            project::find_root(&cwd)?
        }
    };
    // `diff` loads the fleet itself (and at --base): exit 1 means "differs" for it.
    if let Command::Diff {
        base,
        format,
        labels,
        ignored_changes_pass,
    } = &cli.command
    {
        let opts = commands::diff::Options {
            format: *format,
            labels: labels.iter().cloned().collect(),
            ignored_changes_pass: *ignored_changes_pass,
        };
        return report(commands::diff::run(&root, base.as_deref(), &opts)?);
    }
    // `affected` needs kcc.yaml, and only the charts its values files feed.
    if let Command::Affected { paths, format } = &cli.command {
        let found = commands::affected::affected(&root, paths, *format)?;
        if !found.any {
            print!("{}", found.text);
            return Err(Failure::Reported);
        }
        return Ok(found.text);
    }
    let only: &[String] = match &cli.command {
        // --verify-golden renders every release of the cluster.
        Command::Render {
            verify_golden: true,
            ..
        } => &[],
        Command::Render { select, .. } | Command::List { select } => &select.releases,
        Command::Explain { release, .. } => std::slice::from_ref(release),
        Command::Check { .. }
        | Command::Update
        | Command::Validate { .. }
        | Command::Diff { .. }
        | Command::Affected { .. }
        | Command::Completions { .. }
        | Command::Man => &[],
    };
    let fleet = Fleet::load_releases(&root, only)?;
    let result = run_command(cli.command, &fleet);
    // The process ends next: freeing the fleet's charts, values and caches one node at a
    // time would only cost time (3% of a check).
    std::mem::forget(fleet);
    result
}

/// Runs a command that needs the fleet.
fn run_command(command: Command, fleet: &Fleet) -> Result<String, Failure> {
    match command {
        Command::Render {
            select,
            out,
            verify_golden,
            fixture_secrets,
        } => {
            let opts = commands::RenderOptions {
                out: out.as_deref(),
                verify_golden,
                fixture_secrets,
            };
            commands::render(fleet, &select.selection(), &opts)
        }
        Command::List { select } => commands::list(fleet, &select.selection()),
        Command::Update => commands::update(fleet),
        Command::Check {
            format,
            target_version,
            clusters,
            base,
            since,
        } => {
            let target = target_version
                .as_deref()
                .map(|v| parse_version(v, "--target-version"))
                .transpose()?
                .map(|version| kcc::check::Target {
                    version,
                    clusters: &clusters,
                });
            report(commands::check::run(
                fleet,
                format,
                target,
                base.as_deref(),
                since.as_deref(),
            )?)
        }
        Command::Validate { .. }
        | Command::Diff { .. }
        | Command::Affected { .. }
        | Command::Completions { .. }
        | Command::Man => {
            unreachable!("handled before the project is loaded")
        }
        Command::Explain {
            cluster,
            release,
            path,
            private,
        } => report(commands::explain(
            fleet,
            &cluster,
            &release,
            &path,
            private.as_deref(),
        )?),
    }
}

/// Every byte kcc prints passes here: no value of the private overlay is ever printed, in
/// any format (see `kcc::secrets`).
fn masked(text: &str) -> std::borrow::Cow<'_, str> {
    kcc::secrets::mask(text)
}

/// Errors on stderr, then their count and `tail`.
fn print_errors(diagnostics: &[kcc::Diagnostic], tail: &str) {
    use std::io::IsTerminal;
    let color = kcc::output::color_for(std::io::stderr().is_terminal());
    for d in diagnostics {
        eprint!("{}", masked(&d.render_styled(color)));
    }
    eprintln!("kcc: {} error(s){}", diagnostics.len(), masked(tail));
}

/// Cluster names for completion.
fn clusters() -> Vec<CompletionCandidate> {
    commands::complete::cluster_names()
        .into_iter()
        .map(CompletionCandidate::new)
        .collect()
}

/// Release names for completion.
fn releases() -> Vec<CompletionCandidate> {
    commands::complete::release_names()
        .into_iter()
        .map(CompletionCandidate::new)
        .collect()
}

/// The shell code that asks this binary for completions as the user types (clap_complete's
/// dynamic completion: the shell runs `COMPLETE=<shell> kcc -- <words>`), so that names
/// come from the project at hand rather than from a list frozen into the script.
fn completion_script(shell: clap_complete::Shell) -> Result<String, Failure> {
    let name = shell.to_string();
    let shells = clap_complete::env::Shells::builtins();
    let completer = shells
        .completer(&name)
        .ok_or_else(|| Failure::Fatal(format!("no completion for {name}")))?;
    // Completes the command `kcc`, by asking the binary that printed the script (which
    // need not be on the PATH, e.g. target/release/kcc).
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "kcc".into());
    let mut out = Vec::new();
    completer
        .write_registration("COMPLETE", "kcc", "kcc", &exe, &mut out)
        .map_err(|e| Failure::Fatal(format!("cannot write the completion script: {e}")))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn main() -> ExitCode {
    // `COMPLETE=<shell> kcc -- <words>`: the completion script asking for candidates.
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .bin("kcc")
        .complete();
    // SIGINT, SIGTERM, SIGHUP: remove the files being written, exit 128 + the signal.
    kcc::interrupt::listen();
    match run(Cli::parse()) {
        Ok(text) => {
            print!("{}", masked(&text));
            ExitCode::SUCCESS
        }
        Err(Failure::Config(diagnostics)) => {
            print_errors(&diagnostics, "");
            ExitCode::from(1)
        }
        Err(Failure::Refused {
            diagnostics,
            undone,
        }) => {
            print_errors(&diagnostics, &format!("; {undone}"));
            ExitCode::from(1)
        }
        Err(Failure::Reported) => ExitCode::from(1),
        Err(Failure::Fatal(message)) => {
            eprintln!("kcc: {}", masked(&message));
            ExitCode::from(2)
        }
    }
}

// Rendering a fleet allocates millions of small nodes; mimalloc handles that faster.
// Bounded counts the live bytes and stops kcc before it holds more than
// kcc::memory::LIMIT, whatever the input.
#[global_allocator]
static ALLOCATOR: kcc::memory::Bounded<mimalloc::MiMalloc> =
    kcc::memory::Bounded(mimalloc::MiMalloc);
