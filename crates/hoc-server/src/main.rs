//! `hocd`: serves the incident and analytics core over HTTP, migrates its database, manages API keys.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hoc_spine::auth::parse_scope;
use hoc_spine::{ActorType, Database, Spine};

const DEFAULT_DATABASE_URL: &str = "sqlite://hoc.db?mode=rwc";

#[derive(Parser, Debug)]
#[command(
    name = "hocd",
    version,
    about = "The incident and analytics core over HTTP"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Debug)]
struct DatabaseArg {
    /// sqlite://path?mode=rwc (created and migrated if missing) or postgres://user@host:port/db.
    #[arg(long, env = "HOC_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,
    /// How long a request waits for a database connection before it is answered 503 (milliseconds).
    #[arg(long, env = "HOC_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 3000)]
    db_acquire_timeout_ms: u64,
    /// SQLite: how long a write waits for a write lock another process holds before it is answered 503
    /// (milliseconds).
    #[arg(long, env = "HOC_DB_BUSY_TIMEOUT_MS", default_value_t = 5000)]
    db_busy_timeout_ms: u64,
    /// Most connections to PostgreSQL (SQLite: readers beside its one writer, at most 8).
    #[arg(long, env = "HOC_DB_MAX_CONNECTIONS", default_value_t = 16)]
    db_max_connections: u32,
}

impl DatabaseArg {
    fn config(&self) -> hoc_spine::DatabaseConfig {
        hoc_spine::DatabaseConfig {
            acquire_timeout: std::time::Duration::from_millis(self.db_acquire_timeout_ms.max(1)),
            busy_timeout: std::time::Duration::from_millis(self.db_busy_timeout_ms),
            max_connections: self.db_max_connections.max(1),
        }
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Migrate the database and serve the HTTP API until SIGINT/SIGTERM.
    Serve {
        #[command(flatten)]
        db: DatabaseArg,
        /// Address to listen on (port 0 picks a free port; the address is printed).
        #[arg(long, env = "HOC_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// Largest accepted request body in bytes.
        #[arg(long, env = "HOC_MAX_BODY_BYTES", default_value_t = hoc_server::DEFAULT_BODY_LIMIT)]
        max_body_bytes: usize,
        /// Largest accepted request body of the alert integrations in bytes.
        #[arg(long, env = "HOC_MAX_INGEST_BODY_BYTES", default_value_t = hoc_server::DEFAULT_INGEST_BODY_LIMIT)]
        max_ingest_body_bytes: usize,
        /// How long a client has to send a request's head (milliseconds); slower connections are closed.
        #[arg(long, env = "HOC_HEADER_READ_TIMEOUT_MS", default_value_t = 10_000)]
        header_read_timeout_ms: u64,
        /// How long a connection may sit idle between requests before it is closed (milliseconds).
        #[arg(long, env = "HOC_IDLE_TIMEOUT_MS", default_value_t = 60_000)]
        idle_timeout_ms: u64,
        /// How long a request may run before it is answered 503 (milliseconds).
        #[arg(long, env = "HOC_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
        request_timeout_ms: u64,
        /// How long a console session may go unused before it ends (seconds; sessions end 12 hours after sign-in
        /// whatever this is).
        #[arg(long, env = "HOC_CONSOLE_IDLE_SECONDS", default_value_t = 3600)]
        console_idle_seconds: u64,
        /// Most connections open at once (default and ceiling: the file-descriptor limit, raised to its hard
        /// limit at start, minus 64).
        #[arg(long, env = "HOC_MAX_CONNECTIONS")]
        max_connections: Option<usize>,
        /// Publish every committed event to NATS JetStream at this address (`nats://host:4222`; several,
        /// comma-separated). A malformed address stops hocd at start; an unreachable one is retried.
        #[arg(long, env = "HOC_NATS_URL")]
        nats_url: Option<String>,
        /// PostgreSQL streaming replicas of the database (`postgres://…`, several comma-separated): a read at a
        /// named instant (`as_of`) goes to one that has replayed the tenant's writes up to it, with the same answer
        /// as the primary; anything newer, and every write, goes to the primary.
        #[arg(long, env = "HOC_READ_DATABASE_URL", value_delimiter = ',')]
        read_database_url: Vec<String>,
        /// The JetStream stream events go to (created if missing).
        #[arg(long, env = "HOC_NATS_STREAM", default_value = "HOC_EVENTS")]
        nats_stream: String,
        /// The first subject tokens: events go to `<prefix>.<tenant>.<project>.<event_type>`.
        #[arg(long, env = "HOC_NATS_SUBJECT_PREFIX", default_value = "hoc.events")]
        nats_subject_prefix: String,
        /// How many NATS servers keep the stream when hocd creates it (1 to 5; default: one per `--nats-url`
        /// address, at most 3, so a three-node cluster keeps every event on three and survives losing one).
        #[arg(long, env = "HOC_NATS_STREAM_REPLICAS", value_parser = clap::value_parser!(u8).range(1..=5))]
        nats_stream_replicas: Option<u8>,
        /// Hours published events stay in the outbox (and the `/v1/events` feed) before they are pruned; 0, the
        /// default, keeps them forever. Events not yet published are never pruned; a read of the feed from below
        /// what was pruned is answered 410 `history_pruned`, never a shorter list.
        #[arg(long, env = "HOC_EVENT_RETENTION_HOURS", default_value_t = 0)]
        event_retention_hours: u64,
    },
    /// Apply pending migrations and exit (run as the database owner).
    Migrate {
        #[command(flatten)]
        db: DatabaseArg,
        /// PostgreSQL: then grant this existing role what `hocd serve` needs and no more (it may append to the
        /// audit ledger but never update, delete or truncate it, nor change the schema).
        #[arg(long, value_name = "ROLE")]
        grant_to: Option<String>,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The audit ledger.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Analytics: verify a recorded incident-metrics artifact.
    Analytics {
        #[command(subcommand)]
        command: AnalyticsCommand,
    },
    /// Grouping configuration: learned templates.
    Grouping {
        #[command(subcommand)]
        command: GroupingCommand,
    },
    /// Regroup a tenant's incidents under another signature algorithm: prints what changes (groups before and
    /// after, merges, splits, how many incidents move, the largest moves); with --apply, then moves them in
    /// batches, each audited and announced. Run again to resume an interrupted apply: moved incidents are skipped.
    Regroup {
        #[command(flatten)]
        db: DatabaseArg,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The target algorithm (rsig-v1 or rsig-v2).
        #[arg(long)]
        to: String,
        /// Only print what would change (the default).
        #[arg(long, conflicts_with = "apply")]
        dry_run: bool,
        /// Write the moves.
        #[arg(long)]
        apply: bool,
        /// text or json.
        #[arg(long, default_value = "text")]
        format: String,
        /// Incidents per batch (one transaction each; 1 to 500).
        #[arg(long, default_value_t = 500)]
        batch_size: i64,
        /// Resume after this cursor (printed by a run that stopped early).
        #[arg(long)]
        resume_after: Option<String>,
        /// Stop after this many batches.
        #[arg(long)]
        max_batches: Option<u64>,
        /// The actor the moves are recorded as.
        #[arg(long, default_value = "hocd-regroup")]
        actor: String,
    },
}

#[derive(Subcommand, Debug)]
enum GroupingCommand {
    /// Mines templates from the tenant's incidents (rsig-v3 templates whose variables the tokenizer cannot know)
    /// and prints them, each with its member count and examples; without --dry-run, applies them as a new
    /// grouping-configuration version (primary rsig-v3), audited and announced. No incident changes until
    /// `hocd regroup --to rsig-v3 --apply`.
    Learn {
        #[command(flatten)]
        db: DatabaseArg,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Learn only from incidents created at or after this instant (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Only print the proposal.
        #[arg(long)]
        dry_run: bool,
        /// text or json.
        #[arg(long, default_value = "text")]
        format: String,
        /// The actor the new version is recorded as.
        #[arg(long, default_value = "hocd-grouping")]
        actor: String,
    },
}

#[derive(Subcommand, Debug)]
enum AnalyticsCommand {
    /// Recomputes a recorded incident-metrics artifact at its as_of and compares the code version, the input hash
    /// and the result with what was recorded; exits non-zero naming every difference.
    Verify {
        #[command(flatten)]
        db: DatabaseArg,
        /// The dataset (`incident-metrics/<group_by>`).
        dataset_id: String,
        /// Its version.
        version: String,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// text or json.
        #[arg(long, default_value = "text")]
        format: String,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Checks every tenant's hash chain; exits non-zero naming the first row of each broken chain that was edited,
    /// deleted or inserted out of turn.
    Verify {
        #[command(flatten)]
        db: DatabaseArg,
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Create a key for a tenant and actor; prints the key once, on stdout.
    Create {
        #[command(flatten)]
        db: DatabaseArg,
        /// The tenant every request with this key runs in.
        #[arg(long)]
        tenant: String,
        /// The actor every request with this key is recorded as.
        #[arg(long)]
        actor: String,
        /// read, write or ingest (the alert integrations only).
        #[arg(long)]
        scope: String,
        /// user, system, sdk or founder.
        #[arg(long, default_value = "sdk")]
        actor_type: String,
    },
    /// Revoke a key by its id.
    Revoke {
        #[command(flatten)]
        db: DatabaseArg,
        /// The key id (key_…).
        key_id: String,
    },
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HOC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

/// How often `hocd serve` refreshes the planner's statistics (SQLite `PRAGMA optimize`).
const OPTIMIZE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

async fn open(db: &DatabaseArg) -> Result<Spine, String> {
    open_with_replicas(db, &[]).await
}

/// [`open`], with the read replicas `--read-database-url` names.
async fn open_with_replicas(db: &DatabaseArg, replicas: &[String]) -> Result<Spine, String> {
    let url = &db.database_url;
    let mut database = Database::connect_and_migrate_with(url, db.config())
        .await
        .map_err(|e| format!("cannot open {}: {e}", redact(url)))?;
    if !replicas.is_empty() {
        database = database
            .with_read_replicas(replicas)
            .await
            .map_err(|e| format!("--read-database-url: {e}"))?;
        let names: Vec<String> = replicas.iter().map(|u| redact(u)).collect();
        tracing::info!(replicas = ?names, "read replicas on");
    }
    Spine::new(database).map_err(|e| e.to_string())
}

/// The URL without a password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve {
            db,
            bind,
            max_body_bytes,
            max_ingest_body_bytes,
            header_read_timeout_ms,
            idle_timeout_ms,
            request_timeout_ms,
            console_idle_seconds,
            max_connections,
            nats_url,
            read_database_url,
            nats_stream,
            nats_subject_prefix,
            nats_stream_replicas,
            event_retention_hours,
        } => {
            if let Some(url) = &nats_url {
                hoc_relay::validate_url(url).map_err(|e| format!("--nats-url: {e}"))?;
            }
            let cap = hoc_server::connection_cap();
            let max_connections = match (max_connections, cap) {
                (Some(asked), Some(cap)) => asked.min(cap),
                (Some(asked), None) => asked,
                (None, Some(cap)) => cap.min(65_536),
                (None, None) => hoc_server::ServeConfig::default().max_connections,
            }
            .max(1);
            let ms = std::time::Duration::from_millis;
            let config = hoc_server::ServeConfig {
                header_read_timeout: ms(header_read_timeout_ms.max(1)),
                idle_timeout: ms(idle_timeout_ms.max(1)),
                max_connections,
            };
            let spine = open_with_replicas(&db, &read_database_url).await?;
            let listener = tokio::net::TcpListener::bind(&bind)
                .await
                .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
            let address = listener.local_addr().map_err(|e| e.to_string())?;
            let pool = spine.database().clone();
            tokio::spawn(async move {
                // SQLite's statistics go stale as tables grow; `PRAGMA optimize` is cheap when nothing changed.
                let mut every = tokio::time::interval(OPTIMIZE_EVERY);
                every.tick().await;
                loop {
                    every.tick().await;
                    if let Err(e) = pool.optimize().await {
                        tracing::warn!(error = %e, "refreshing the planner's statistics failed");
                    }
                }
            });
            // Before the relay starts, so its first figures are recorded.
            let metrics = hoc_server::install_metrics();
            let relay = match nats_url {
                Some(url) => {
                    let config = hoc_relay::RelayConfig {
                        stream: nats_stream,
                        subject_prefix: nats_subject_prefix,
                        retention: (event_retention_hours > 0)
                            .then(|| std::time::Duration::from_secs(event_retention_hours * 3600)),
                        stream_replicas: nats_stream_replicas.map(usize::from),
                        ..hoc_relay::RelayConfig::new(url)
                    };
                    tracing::info!(
                        stream = %config.stream,
                        prefix = %config.subject_prefix,
                        replicas = config.replicas(),
                        "event relay on"
                    );
                    Some(hoc_relay::Relay::start(spine.clone(), config)?)
                }
                None => None,
            };
            let mut state = hoc_server::state(spine);
            state.relay = relay.as_ref().map(hoc_relay::Relay::status);
            state.metrics = metrics;

            state.body_limit = max_body_bytes;
            state.ingest_body_limit = max_ingest_body_bytes;
            state.request_timeout = ms(request_timeout_ms.max(1));
            state.console = hoc_server::console::Sessions::new(std::time::Duration::from_secs(
                console_idle_seconds.max(1),
            ));
            println!("hocd listening on http://{address}");
            tracing::info!(%address, database = %redact(&db.database_url), max_connections,
                header_read_timeout_ms, idle_timeout_ms, request_timeout_ms, "serving");
            let closing = std::sync::Arc::clone(&state.closing);
            let shutdown = async move {
                shutdown_signal().await;
                closing.send_replace(true);
            };
            hoc_server::serve::serve(listener, hoc_server::app(state), config, shutdown)
                .await
                .map_err(|e| e.to_string())?;
            if let Some(relay) = relay {
                relay.stop().await;
            }
            println!("hocd stopped");
            Ok(())
        }
        Command::Migrate { db, grant_to } => {
            let spine = open(&db).await?;
            println!("migrated {}", redact(&db.database_url));
            if let Some(role) = grant_to {
                if role.is_empty()
                    || role.len() > 63
                    || !role
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                {
                    return Err(format!(
                        "--grant-to must be a role name of lowercase letters, digits and _, not {role:?}"
                    ));
                }
                spine
                    .database()
                    .grant_serving_role(&role)
                    .await
                    .map_err(|e| format!("cannot grant {role}: {e}"))?;
                println!("granted {role} what hocd serve needs");
            }
            Ok(())
        }
        Command::Keys { command } => match command {
            KeysCommand::Create {
                db,
                tenant,
                actor,
                scope,
                actor_type,
            } => {
                let scope = parse_scope(&scope).map_err(|e| e.to_string())?;
                let actor_type = <ActorType as hoc_spine::input::Vocabulary>::from_wire(
                    &actor_type,
                )
                .ok_or_else(|| {
                    format!("--actor-type must be user, system, sdk or founder, not {actor_type}")
                })?;
                let spine = open(&db).await?;
                let key = spine
                    .create_api_key(&tenant, actor_type, &actor, scope)
                    .await
                    .map_err(|e| e.to_string())?;
                eprintln!(
                    "created {} for tenant {} actor {} ({}) scope {}; the key below is shown once",
                    key.identity.key_id,
                    tenant,
                    actor,
                    actor_type.as_str(),
                    scope.as_str()
                );
                println!("{}", key.token);
                Ok(())
            }
            KeysCommand::Revoke { db, key_id } => {
                let spine = open(&db).await?;
                let key = spine
                    .revoke_api_key(&key_id)
                    .await
                    .map_err(|e| e.to_string())?;
                println!(
                    "revoked {} (tenant {}, actor {})",
                    key.key_id, key.tenant_id, key.actor_id
                );
                Ok(())
            }
        },
        Command::Regroup {
            db,
            tenant,
            to,
            dry_run: _,
            apply,
            format,
            batch_size,
            resume_after,
            max_batches,
            actor,
        } => {
            let (spine, ctx) = system_call(&db, &tenant, &actor, &format).await?;
            let run = spine
                .regroup(
                    &ctx,
                    &hoc_spine::regroup::RegroupOptions {
                        to,
                        apply,
                        batch_size,
                        resume_after,
                        max_batches,
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
            if format == "json" {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&run).map_err(|e| e.to_string())?
                );
            } else {
                println!("{}", run.preview);
                match &run.applied {
                    None => println!("dry run: nothing was written (--apply writes)"),
                    Some(applied) => {
                        println!(
                            "applied: {} incidents moved in {} batches; matches the preview: {}",
                            applied.moved, applied.batches, applied.matches_preview
                        );
                        if let Some(cursor) = &applied.resume_cursor {
                            println!("stopped early: resume with --resume-after {cursor}");
                        }
                    }
                }
            }
            Ok(())
        }
        Command::Grouping {
            command:
                GroupingCommand::Learn {
                    db,
                    tenant,
                    since,
                    dry_run,
                    format,
                    actor,
                },
        } => {
            let (spine, ctx) = system_call(&db, &tenant, &actor, &format).await?;
            let proposal = if dry_run {
                spine
                    .call(&ctx, &hoc_spine::requests::PreviewLearn { since })
                    .await
            } else {
                spine
                    .call(
                        &ctx,
                        &hoc_spine::requests::LearnTemplates {
                            since,
                            ..Default::default()
                        },
                    )
                    .await
            }
            .map_err(|e| e.to_string())?;
            if format == "json" {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&proposal).map_err(|e| e.to_string())?
                );
            } else {
                print!("{}", learn_report(&proposal));
            }
            Ok(())
        }
        Command::Analytics {
            command:
                AnalyticsCommand::Verify {
                    db,
                    dataset_id,
                    version,
                    tenant,
                    format,
                },
        } => {
            let (spine, ctx) = system_call(&db, &tenant, "hocd-analytics", &format).await?;
            let found = spine
                .call(
                    &ctx,
                    &hoc_spine::requests::VerifyIncidentMetrics {
                        dataset_id,
                        dataset_version: version,
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
            if format == "json" {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&found).map_err(|e| e.to_string())?
                );
            } else {
                for difference in &found.differences {
                    println!("DIFFERS {difference}");
                }
            }
            if found.matches {
                if format == "text" {
                    println!(
                        "{}@{} reproduced at as_of {}: input hash {}, code {}, result identical",
                        found.dataset_id,
                        found.dataset_version,
                        hoc_spine::time_format::format_utc(found.as_of),
                        found.recomputed_input_window_hash,
                        found.recomputed_compute_code_version
                    );
                }
                Ok(())
            } else {
                Err(format!(
                    "{}@{} does not reproduce: {} difference(s)",
                    found.dataset_id,
                    found.dataset_version,
                    found.differences.len()
                ))
            }
        }
        Command::Audit {
            command: AuditCommand::Verify { db, tenant },
        } => {
            let spine = open(&db).await?;
            let found = spine
                .verify_audit(tenant.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            for broken in &found.breaks {
                println!("BROKEN {broken}");
            }
            if found.breaks.is_empty() {
                println!(
                    "audit ledger intact: {} tenant(s), {} row(s)",
                    found.tenants, found.rows
                );
                Ok(())
            } else {
                Err(format!(
                    "{} of {} tenant chain(s) broken",
                    found.breaks.len(),
                    found.tenants
                ))
            }
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hocd: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The text report of a learning proposal.
fn learn_report(p: &hoc_spine::requests::LearnProposal) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "learned {} templates from {} of {} incidents (as of {}); templates digest {}",
        p.templates.len(),
        p.messages_mined,
        p.incidents_read,
        hoc_spine::time_format::format_utc(p.as_of),
        p.templates_digest
    );
    for (number, t) in p.templates.iter().enumerate() {
        let _ = writeln!(
            out,
            "#{} [{}] {}  ({} incidents, {} rsig-v3 templates joined)",
            number + 1,
            t.field.as_str(),
            t.template,
            t.member_count,
            t.joined_templates
        );
        for example in &t.examples {
            let _ = writeln!(out, "    e.g. {example}");
        }
    }
    let c = &p.config;
    let _ = writeln!(
        out,
        "configuration version {}: primary {}, secondary {}, {} fingerprint rules, {} learned templates",
        c.version,
        c.primary_version,
        c.secondary_version.as_deref().unwrap_or("none"),
        c.fingerprint_rules.len(),
        c.template_count
    );
    let _ = writeln!(
        out,
        "{}",
        if p.applied {
            "applied; no incident moved: `hocd regroup --to rsig-v3` previews the move, --apply makes it"
        } else {
            "dry run: nothing was written (without --dry-run, learn applies it)"
        }
    );
    out
}

/// For a command that acts on a tenant's data as the system: checks `--format` (text or json), opens the spine on
/// `db` and makes the context of `tenant` and `actor`.
async fn system_call(
    db: &DatabaseArg,
    tenant: &str,
    actor: &str,
    format: &str,
) -> Result<(Spine, hoc_spine::OperationContext), String> {
    if format != "text" && format != "json" {
        return Err(format!("--format must be text or json, not {format}"));
    }
    let spine = open(db).await?;
    let ctx = hoc_spine::OperationContext::new(tenant, ActorType::System, actor)
        .map_err(|e| e.to_string())?;
    Ok((spine, ctx))
}
