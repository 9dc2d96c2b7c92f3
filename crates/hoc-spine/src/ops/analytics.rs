//! `analytics.artifacts`: save, get, list.

pub use hoc_analytics::{GetArtifact, ListArtifacts, SaveArtifact};

use hoc_analytics::{ArtifactAt, ArtifactPage, SaveOutcome};

use super::{invalid, operation_method, read_at};
use crate::http::{ArtifactReply, Methods, get, put};
use crate::{OperationError, Output};

pub(crate) fn declare<V: Methods>(v: &mut V) -> Result<(), OperationError> {
    v.route(put::<SaveArtifact, ArtifactReply>(
        "save_artifact",
        "/v1/analytics/artifacts/{dataset_id}/{dataset_version}",
        "Record an analytics artifact",
    ))?;
    v.route(
        get::<GetArtifact>(
            "get_artifact",
            "/v1/analytics/artifacts/{dataset_id}",
            "Get an artifact: a version, the latest, or the latest at a point in time",
        )
        .as_of_named("read_as_of"),
    )?;
    v.route(
        get::<ListArtifacts>(
            "list_artifacts",
            "/v1/analytics/artifacts",
            "List artifacts, newest first",
        )
        .as_of(),
    )
}

operation_method!(SaveArtifact => "analytics.artifacts"."save", writes = true, -> SaveOutcome,
|request, call| {
    let definition = request.definition()?;
    Ok(hoc_analytics::save(call.tx, call.ctx.tenant_id(), call.now, definition).await?)
});

operation_method!(GetArtifact => "analytics.artifacts"."get", writes = false, -> ArtifactAt,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(Output::read(hoc_analytics::get(call.tx, call.ctx.tenant_id(), input, read_at(&call)).await?))
});

operation_method!(ListArtifacts => "analytics.artifacts"."list", writes = false, -> ArtifactPage,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(Output::read(hoc_analytics::list(call.tx, call.ctx.tenant_id(), input, read_at(&call)).await?))
});
