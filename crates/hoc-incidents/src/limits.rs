//! Every length limit the incident rules enforce, and the column each one must equal. The storage-contract
//! verifier compares this table with the migrated database, so a limit and its column can never drift apart.

/// Longest `resolution_type` (the `incidents.resolution_type` column).
pub const RESOLUTION_TYPE_MAX_CHARS: usize = 50;
/// Longest `postmortem_artifact_id` (the `incidents.postmortem_artifact_id` column).
pub const POSTMORTEM_ID_MAX_CHARS: usize = 64;
/// Longest incident id accepted as input.
pub const INCIDENT_ID_MAX_CHARS: usize = 64;
/// Longest title (incidents and postmortems).
pub const TITLE_MAX_CHARS: usize = 255;
/// Longest category, trigger type, source type and error code.
pub const SHORT_TEXT_MAX_CHARS: usize = 64;
/// Longest source reference.
pub const SOURCE_REF_MAX_CHARS: usize = 255;
/// Longest recurrence signature accepted as input (the column's length).
pub const SIGNATURE_MAX_CHARS: usize = 128;
/// Longest signature version accepted as input.
pub const SIGNATURE_VERSION_MAX_CHARS: usize = 20;
/// Longest service name.
pub const SERVICE_MAX_CHARS: usize = 64;
/// Longest actor id (an assignee, a note's author).
pub const ACTOR_ID_MAX_CHARS: usize = 64;
/// Longest note id accepted as input.
pub const NOTE_ID_MAX_CHARS: usize = 64;
/// Longest note.
pub const NOTE_MAX_CHARS: usize = 10_000;

/// (table, column, limit) for every limit above.
pub const LENGTH_LIMITS: &[(&str, &str, usize)] = &[
    ("incidents", "id", INCIDENT_ID_MAX_CHARS),
    ("incidents", "title", TITLE_MAX_CHARS),
    ("incidents", "category", SHORT_TEXT_MAX_CHARS),
    ("incidents", "trigger_type", SHORT_TEXT_MAX_CHARS),
    ("incidents", "source_type", SHORT_TEXT_MAX_CHARS),
    ("incidents", "source_ref", SOURCE_REF_MAX_CHARS),
    ("incidents", "error_code", SHORT_TEXT_MAX_CHARS),
    ("incidents", "resolution_type", RESOLUTION_TYPE_MAX_CHARS),
    (
        "incidents",
        "postmortem_artifact_id",
        POSTMORTEM_ID_MAX_CHARS,
    ),
    ("incidents", "recurrence_signature", SIGNATURE_MAX_CHARS),
    (
        "incidents",
        "signature_version",
        SIGNATURE_VERSION_MAX_CHARS,
    ),
    ("incidents", "service", SERVICE_MAX_CHARS),
    ("incidents", "assignee", ACTOR_ID_MAX_CHARS),
    ("incidents", "duplicate_of", INCIDENT_ID_MAX_CHARS),
    ("incident_notes", "note_id", NOTE_ID_MAX_CHARS),
    ("incident_notes", "author", ACTOR_ID_MAX_CHARS),
    ("postmortems", "id", POSTMORTEM_ID_MAX_CHARS),
    ("postmortems", "title", TITLE_MAX_CHARS),
];
