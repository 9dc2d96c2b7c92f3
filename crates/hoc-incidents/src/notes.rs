//! Notes on an incident (issue 22): what responders find, written down in its timeline. A note is never a state
//! change: it does not bump the incident's version (an edit of the incident made against that version stays
//! current), and it may be written in any state, a closed incident included (the postmortem conversation goes on).
//! Its author alone may edit or delete it; every version stays in history, so a read at an instant shows the text
//! as it was then.

use hoc_contracts::DomainEvent;
use hoc_contracts::input::{FreeText, JsonInt, Text, TimelineKind};
use hoc_contracts::outcome::AuditDraft;
use hoc_contracts::time_format::{UtcTimestamp, utc};
use hoc_drivers::{DbTime, IncidentRow, NoteRow, Tx, incidents, notes};
use serde_json::json;
use time::OffsetDateTime;

use crate::limits::{NOTE_ID_MAX_CHARS, NOTE_MAX_CHARS};
use crate::procedures::{append_timeline, new_id};
use crate::queries::ReadAt;
use crate::{Caller, IncidentError, IncidentId, IncidentVersion, Outcome};

/// A note's text: 1 to 10,000 characters, newlines kept.
pub type NoteBody = FreeText<{ NOTE_MAX_CHARS }>;
/// A note id as callers send it.
pub type NoteId = Text<{ NOTE_ID_MAX_CHARS }>;

/// A note on an incident (the HTTP API's note object).
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Note {
    /// Its id.
    pub note_id: String,
    /// The incident it is written on.
    pub incident_id: String,
    /// Who wrote it (an actor id as the keys name them).
    pub author: String,
    /// Its text (empty once deleted; the text stays in history).
    pub body: String,
    /// When it was written.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub updated_at: OffsetDateTime,
    /// 1 when written, one more for each edit and the deletion.
    pub version: i64,
    /// Whether its author deleted it.
    pub deleted: bool,
}

impl From<NoteRow> for Note {
    fn from(row: NoteRow) -> Self {
        Self {
            note_id: row.note_id,
            incident_id: row.incident_id,
            author: row.author,
            body: if row.deleted { String::new() } else { row.body },
            created_at: row.created_at.get(),
            updated_at: row.updated_at.get(),
            version: row.version,
            deleted: row.deleted,
        }
    }
}

/// The notes of an incident at an instant, oldest first.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Notes {
    /// The notes, oldest first by (created_at, note_id), deleted ones included.
    pub items: Vec<Note>,
    /// The point in time the read shows.
    #[serde(with = "utc")]
    #[schemars(with = "UtcTimestamp")]
    pub as_of: OffsetDateTime,
}

hoc_contracts::request! {
    /// Write a note on an incident, in any state.
    pub struct AddNote => NewNote {
        /// The incident.
        id: String => required IncidentId,
        /// The text: 1 to 10,000 characters, newlines kept.
        body: Option<String> => required NoteBody,
    }
}

hoc_contracts::request! {
    /// Edit a note you wrote, against the version you read (else 409 `stale_version`).
    pub struct EditNote => NoteEdit {
        /// The incident.
        id: String => required IncidentId,
        /// The note.
        note_id: String => required NoteId,
        /// The new text.
        body: Option<String> => required NoteBody,
        /// The note's version as you read it.
        expected_version: Option<JsonInt> => required IncidentVersion,
    }
}

hoc_contracts::request! {
    /// Delete a note you wrote (its text stays in history); deleting a deleted note changes nothing.
    pub struct DeleteNote => NoteRef {
        /// The incident.
        id: String => required IncidentId,
        /// The note.
        note_id: String => required NoteId,
    }
}

hoc_contracts::request! {
    /// The notes of an incident, oldest first.
    pub struct ListNotes => NotesQuery {
        /// The incident.
        id: String => required IncidentId,
    }
}

/// Locks the incident (so appends to its timeline are serialised) or answers not found.
async fn locked(tx: &Tx, tenant_id: &str, id: &str) -> Result<IncidentRow, IncidentError> {
    incidents::lock(tx, tenant_id, id)
        .await?
        .ok_or_else(|| IncidentError::NotFound {
            entity: "incident",
            id: id.to_owned(),
        })
}

/// Locks the incident and reads the note's current version, which only its author may change.
async fn locked_own_note(
    tx: &Tx,
    caller: &Caller<'_>,
    incident_id: &str,
    note_id: &str,
) -> Result<(IncidentRow, NoteRow), IncidentError> {
    let incident = locked(tx, caller.tenant_id, incident_id).await?;
    let note = notes::current(tx, caller.tenant_id, incident_id, note_id)
        .await?
        .ok_or_else(|| IncidentError::NotFound {
            entity: "note",
            id: note_id.to_owned(),
        })?;
    if note.author != caller.actor.actor_id {
        return Err(IncidentError::Forbidden {
            message: format!(
                "note {note_id} was written by {}; only its author may change it",
                note.author
            ),
        });
    }
    Ok((incident, note))
}

/// Writes a note version with its timeline row, audit draft and event.
async fn write(
    tx: &Tx,
    caller: &Caller<'_>,
    incident: &IncidentRow,
    note: NoteRow,
    before: Option<&NoteRow>,
    kind: TimelineKind,
) -> Result<Outcome<Note>, IncidentError> {
    notes::insert(tx, note.clone()).await?;
    let (verb, action) = match kind {
        TimelineKind::NoteAdded => ("added", "incidents.notes.add"),
        TimelineKind::NoteEdited => ("edited", "incidents.notes.edit"),
        _ => ("deleted", "incidents.notes.delete"),
    };
    append_timeline(
        tx,
        incident,
        Some(incident.status.get()),
        kind,
        caller,
        format!("note {} {verb}", note.note_id),
    )
    .await?;
    let state = |n: &NoteRow| json!({ "incident_id": n.incident_id, "version": n.version, "deleted": n.deleted, "body": n.body });
    let (incident_id, note_id, note_version) =
        (note.incident_id.clone(), note.note_id.clone(), note.version);
    let event = match kind {
        TimelineKind::NoteAdded => {
            DomainEvent::IncidentNoteAdded(hoc_contracts::events::IncidentNoteAdded {
                incident_id,
                note_id,
                note_version,
            })
        }
        TimelineKind::NoteEdited => {
            DomainEvent::IncidentNoteEdited(hoc_contracts::events::IncidentNoteEdited {
                incident_id,
                note_id,
                note_version,
            })
        }
        _ => DomainEvent::IncidentNoteDeleted(hoc_contracts::events::IncidentNoteDeleted {
            incident_id,
            note_id,
            note_version,
        }),
    };
    Ok(Outcome {
        audit: vec![AuditDraft {
            entity_type: "note",
            entity_id: note.note_id.clone(),
            action,
            reason: None,
            before_state: before.map(state),
            after_state: Some(state(&note)),
        }],
        events: vec![event],
        response: Note::from(note),
    })
}

/// Adds a note to an incident's timeline (any state; the incident's version does not change).
pub async fn add_note(
    tx: &Tx,
    caller: &Caller<'_>,
    input: NewNote,
) -> Result<Outcome<Note>, IncidentError> {
    let id = input.id.into_string();
    let incident = locked(tx, caller.tenant_id, &id).await?;
    let now: DbTime = caller.now.into();
    let note = NoteRow {
        tenant_id: caller.tenant_id.to_owned(),
        note_id: new_id("note"),
        version: 1,
        incident_id: id,
        author: caller.actor.actor_id.clone(),
        body: input.body.into_string(),
        deleted: false,
        created_at: now,
        updated_at: now,
        request_id: Some(caller.request_id.to_owned()),
    };
    write(tx, caller, &incident, note, None, TimelineKind::NoteAdded).await
}

/// Edits a note its author wrote, against the version the author read. The same text changes nothing.
pub async fn edit_note(
    tx: &Tx,
    caller: &Caller<'_>,
    input: NoteEdit,
) -> Result<Outcome<Note>, IncidentError> {
    let (id, note_id) = (input.id.into_string(), input.note_id.into_string());
    let (incident, before) = locked_own_note(tx, caller, &id, &note_id).await?;
    if before.deleted {
        return Err(IncidentError::NoteTransition {
            note_id,
            from: "deleted",
            to: "edited",
        });
    }
    if before.version != input.expected_version {
        return Err(IncidentError::StaleVersion {
            message: format!(
                "note {note_id} is at version {}, not {}",
                before.version, input.expected_version
            ),
        });
    }
    let body = input.body.into_string();
    if body == before.body {
        return Ok(unchanged(before));
    }
    let after = next_version(&before, caller, body, false);
    write(
        tx,
        caller,
        &incident,
        after,
        Some(&before),
        TimelineKind::NoteEdited,
    )
    .await
}

/// Deletes a note its author wrote: a new version marked deleted that keeps the text in history. Deleting a
/// deleted note changes nothing.
pub async fn delete_note(
    tx: &Tx,
    caller: &Caller<'_>,
    input: NoteRef,
) -> Result<Outcome<Note>, IncidentError> {
    let (id, note_id) = (input.id.into_string(), input.note_id.into_string());
    let (incident, before) = locked_own_note(tx, caller, &id, &note_id).await?;
    if before.deleted {
        return Ok(unchanged(before));
    }
    let after = next_version(&before, caller, before.body.clone(), true);
    write(
        tx,
        caller,
        &incident,
        after,
        Some(&before),
        TimelineKind::NoteDeleted,
    )
    .await
}

fn next_version(before: &NoteRow, caller: &Caller<'_>, body: String, deleted: bool) -> NoteRow {
    NoteRow {
        version: before.version + 1,
        body,
        deleted,
        updated_at: caller.now.into(),
        request_id: Some(caller.request_id.to_owned()),
        ..before.clone()
    }
}

fn unchanged(note: NoteRow) -> Outcome<Note> {
    Outcome {
        response: Note::from(note),
        audit: Vec::new(),
        events: Vec::new(),
    }
}

/// The notes of an incident as they were at the read's instant (the incident must exist then).
pub async fn list_notes(
    tx: &Tx,
    tenant_id: &str,
    query: NotesQuery,
    at: ReadAt,
) -> Result<Notes, IncidentError> {
    let id = query.id.into_string();
    let as_of = at.instant();
    incidents::find_at(tx, tenant_id, &id, DbTime::new(as_of))
        .await?
        .ok_or_else(|| IncidentError::NotFound {
            entity: "incident",
            id: id.clone(),
        })?;
    let items = notes::list(tx, tenant_id, &id, DbTime::new(as_of))
        .await?
        .into_iter()
        .map(Note::from)
        .collect();
    Ok(Notes { items, as_of })
}
