//! `analytics.artifacts`: save, get, list.

use hoc_analytics::{
    ArtifactAt, ArtifactPage, GetArtifact, ListArtifacts, SaveArtifact, SaveOutcome,
};

use super::{invalid, operation_method, read_at};
use crate::{OperationError, Output, RegistryBuilder};

pub(crate) fn register(builder: RegistryBuilder) -> Result<RegistryBuilder, OperationError> {
    builder
        .register::<SaveArtifact>()?
        .register::<GetArtifact>()?
        .register::<ListArtifacts>()
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
