//! `analytics.artifacts`: save, get, list, a recorded result. `analytics.metrics`: the incident metrics at an
//! instant, their series, a recording, a verification.

pub use hoc_analytics::{
    ArtifactResult, GetArtifact, GetArtifactResult, GetIncidentMetrics, GetIncidentMetricsSeries,
    IncidentMetrics, ListArtifacts, MetricsSeries, MetricsVerification, RecordIncidentMetrics,
    RecordedMetrics, SaveArtifact, VerifyIncidentMetrics,
};

use hoc_analytics::{ArtifactAt, ArtifactPage, SaveOutcome, incident_metrics};

use super::{invalid, operation_method, read_at};
use crate::http::{ArtifactReply, Methods, MetricsReply, get, post, put};
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
    )?;
    v.route(
        get::<GetArtifactResult>(
            "get_artifact_result",
            "/v1/analytics/artifacts/{dataset_id}/{dataset_version}/result",
            "The result an artifact recorded, byte for byte",
        )
        .as_of(),
    )?;
    v.route(
        get::<GetIncidentMetrics>(
            "get_incident_metrics",
            "/v1/analytics/incident-metrics",
            "Incident metrics (counts, time to acknowledge and resolve, reopen rate, top recurrence groups) of the \
             incidents opened in a window, from their history at as_of",
        )
        .as_of(),
    )?;
    v.route(
        get::<GetIncidentMetricsSeries>(
            "get_incident_metrics_series",
            "/v1/analytics/incident-metrics/series",
            "Incident metrics per day or week over a range",
        )
        .as_of(),
    )?;
    v.route(
        post::<RecordIncidentMetrics, MetricsReply>(
            "record_incident_metrics",
            "/v1/analytics/incident-metrics/record",
            "Compute incident metrics and record them, with their result, as a reproducibility artifact",
        )
        .example(|| RecordIncidentMetrics {
            window_start: Some("2026-11-01T00:00:00Z".into()),
            window_end: Some("2026-12-01T00:00:00Z".into()),
            group_by: Some("service".into()),
            as_of: None,
        }),
    )?;
    v.method::<VerifyIncidentMetrics>()
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

operation_method!(GetArtifactResult => "analytics.artifacts"."result", writes = false, -> ArtifactResult,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(Output::read(
        incident_metrics::result(call.tx, call.ctx.tenant_id(), input, read_at(&call)).await?,
    ))
});

operation_method!(GetIncidentMetrics => "analytics.metrics"."get", writes = false, -> IncidentMetrics,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(Output::read(
        incident_metrics::metrics(call.tx, call.ctx.tenant_id(), input, read_at(&call)).await?,
    ))
});

operation_method!(GetIncidentMetricsSeries => "analytics.metrics"."series", writes = false, -> MetricsSeries,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(Output::read(
        incident_metrics::series(call.tx, call.ctx.tenant_id(), input, read_at(&call)).await?,
    ))
});

operation_method!(RecordIncidentMetrics => "analytics.metrics"."record", writes = true, -> RecordedMetrics,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(incident_metrics::record(call.tx, call.ctx.tenant_id(), call.now, input).await?)
});

operation_method!(VerifyIncidentMetrics => "analytics.metrics"."verify", writes = false, -> MetricsVerification,
|request, call| {
    let input = request.parse().map_err(invalid)?;
    Ok(Output::read(incident_metrics::verify(call.tx, call.ctx.tenant_id(), input).await?))
});
