//! A host service that links the incident core through `hoc-spine` alone.
//!
//! It registers its own operation method, `triage.notes.add` (a write: a validated note on an incident, recorded
//! in the audit ledger by the spine in the operation's own transaction), beside the built-in operations; then, on
//! a fresh SQLite file, opens an incident with a built-in method, adds a note through the typed door and another
//! through the JSON door, shows that a bad note is refused with every bad field and writes nothing, and reads the
//! notes back from the audit ledger. `cargo run -p hoc-host-example` (CI runs it).
#![allow(clippy::print_stdout)]

use hoc_spine::input::{FreeText, Text};
use hoc_spine::requests::{CreateIncident, GetIncident, ListAudit};
use hoc_spine::schemars::JsonSchema;
use hoc_spine::{
    ActorType, AuditDraft, Call, Database, ErrorCode, OperationContext, OperationError,
    OperationMethod, Output, Spine, builtin_operations,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

hoc_spine::vocabulary!(
    /// How urgent a note is.
    Urgency {
        /// Read it when you can.
        Fyi = "fyi",
        /// Read it now.
        Urgent = "urgent",
    }
);

hoc_spine::request! {
    /// Add a triage note to an incident.
    pub struct AddNote => NewNote {
        /// The incident.
        incident_id: String => required Text<64>,
        /// The note.
        body: Option<String> => required FreeText<2000>,
        /// How urgent it is (default `fyi`).
        urgency: Option<String> => optional Urgency,
    }
}

/// What `triage.notes.add` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "hoc_spine::schemars")]
pub struct NoteAdded {
    /// The incident the note is on.
    pub incident_id: String,
    /// The urgency recorded.
    pub urgency: Urgency,
}

#[hoc_spine::async_trait::async_trait]
impl OperationMethod for AddNote {
    const OPERATION: &'static str = "triage.notes";
    const METHOD: &'static str = "add";
    const WRITES: bool = true;
    type Response = NoteAdded;

    async fn run(&self, _call: Call<'_>) -> Result<Output<NoteAdded>, OperationError> {
        let note = self.parse().map_err(OperationError::invalid)?;
        let urgency = note.urgency.unwrap_or(Urgency::Fyi);
        Ok(Output {
            audit: vec![AuditDraft {
                entity_type: "incident",
                entity_id: note.incident_id.to_string(),
                action: "triage.notes.add",
                reason: None,
                before_state: None,
                after_state: Some(
                    json!({ "note": note.body.as_str(), "urgency": urgency.as_str() }),
                ),
            }],
            events: vec![],
            response: NoteAdded {
                incident_id: note.incident_id.into_string(),
                urgency,
            },
        })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("hoc-host-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}?mode=rwc", dir.join("hoc.db").display());
    let db = Database::connect_and_migrate(&url).await?;
    let registry = builtin_operations()?.register::<AddNote>()?.freeze();
    let spine = Spine::with_registry(db, registry);
    println!("registered: {}", spine.registry().methods().join(", "));

    let ctx = OperationContext::new("acme", ActorType::User, "alice")?;
    let incident = spine
        .call(
            &ctx,
            &CreateIncident {
                title: Some("Checkout returns 503".into()),
                severity: Some("critical".into()),
                category: Some("availability".into()),
                ..CreateIncident::default()
            },
        )
        .await?;
    println!("opened {} ({})", incident.id, incident.status.as_str());

    // The typed door: no JSON between the host and its method.
    let added = spine
        .call(
            &ctx,
            &AddNote {
                incident_id: incident.id.clone(),
                body: Some("LB config rolled out at 03:10".into()),
                urgency: Some("urgent".into()),
            },
        )
        .await?;
    println!("note added ({})", added.urgency);

    // The JSON door, as a dynamic caller would use it: decoded into the same type.
    let value = spine
        .execute(
            &ctx,
            "triage.notes",
            "add",
            json!({ "incident_id": incident.id, "body": "paged the LB team" }),
        )
        .await?;
    println!("note added through the JSON door: {value}");

    // A bad note: every bad field at once, and nothing written.
    let refused = spine
        .call(
            &ctx,
            &AddNote {
                incident_id: incident.id.clone(),
                body: Some("\u{0}".into()),
                urgency: Some("whenever".into()),
            },
        )
        .await;
    match refused {
        Err(OperationError::InvalidInput { fields }) => {
            let fields: Vec<String> = fields.iter().map(ToString::to_string).collect();
            println!("refused: {}", fields.join("; "));
        }
        other => return Err(format!("a bad note was not refused: {other:?}").into()),
    }

    let audit = spine
        .call(
            &ctx,
            &ListAudit {
                entity_id: Some(incident.id.clone()),
                ..ListAudit::default()
            },
        )
        .await?;
    let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
    println!("audit of {}: {}", incident.id, actions.join(", "));
    if actions
        != [
            "incidents.write.create",
            "triage.notes.add",
            "triage.notes.add",
        ]
    {
        return Err(format!("unexpected audit trail: {actions:?}").into());
    }
    let unchanged = spine
        .call(
            &ctx,
            &GetIncident {
                id: incident.id.clone(),
            },
        )
        .await?;
    println!(
        "incident still {} at version {}",
        unchanged.status.as_str(),
        unchanged.version
    );

    // A spine without the host's registration refuses the method.
    let plain = Spine::new(Database::connect_and_migrate(&url).await?)?;
    let err = plain
        .call(
            &ctx,
            &AddNote {
                incident_id: incident.id.clone(),
                body: Some("x".into()),
                urgency: None,
            },
        )
        .await
        .err()
        .map(|e| e.code());
    if err != Some(ErrorCode::UnknownOperation) {
        return Err(format!("an unregistered method ran: {err:?}").into());
    }
    println!("without registration: unknown_operation");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
