//! Every built-in request type, in one place: each is an [`crate::OperationMethod`] (it names its operation, says
//! whether it writes, and names its response), so `spine.call(&ctx, &request)` needs nothing else.

pub use crate::ops::audit::{AuditListQuery, ListAudit};
pub use crate::ops::events::{EventsPage, EventsQuery, ListEvents};
pub use hoc_analytics::{GetArtifact, ListArtifacts, SaveArtifact};
pub use hoc_incidents::grouping::{
    FingerprintRule, GetGroupingConfig, GroupingConfig, PreviewRegroup, PutGroupingConfig,
    RegroupBatch, RegroupBatchResult, RegroupReport,
};
pub use hoc_incidents::queries::{
    GetIncident, GetRecurrenceGroup, GroupForIncident, GroupSummary, IncidentAudit,
    IncidentTimeline, ListIncidents, ListRecurrenceGroups, SignatureVersion,
};
pub use hoc_incidents::{
    AcknowledgeIncident, CloseIncident, CreateIncident, CreatePostmortemStub, ReopenIncident,
    ResolveIncident,
};

/// The timeline in ordinal order, with the `as_of` it shows.
pub type TimelinePage = hoc_incidents::queries::Timeline;
