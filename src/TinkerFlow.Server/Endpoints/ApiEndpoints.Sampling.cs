using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TinkerFlow.Local.Sampling;
using TinkerFlow.Server.Http;
using TinkerFlow.Types;

namespace TinkerFlow.Server.Endpoints;

internal static partial class ApiEndpoints
{
    private static void MapSampling(RouteGroupBuilder api)
    {
        api.MapPost("/create_sampling_session", CreateSamplingSessionAsync);
        api.MapPost("/asample", SampleAsync);
        api.MapGet("/samplers/{samplerId}", (HttpContext c, ServerState s, string samplerId) =>
            Engine(c, s, async backend => ApiResults.Ok(await backend.GetSamplerAsync(samplerId, c.RequestAborted))));
    }

    private static async Task<IResult> CreateSamplingSessionAsync(HttpContext context, ServerState state)
    {
        var request = await Body<CreateSamplingSessionRequest>(context, state, "create_sampling_session");
        var user = ServerState.User(context);
        if (request.SamplingSessionSeqId < 0)
        {
            throw ApiError.BadRequest($"create_sampling_session.sampling_session_seq_id must be >= 0, got {request.SamplingSessionSeqId}.");
        }

        if (request.ModelPath is { } path)
        {
            Check(() => ParsedCheckpointTinkerPath.FromTinkerPath(path));
        }
        else if (request.BaseModel is null)
        {
            throw ApiError.BadRequest("create_sampling_session needs base_model or model_path (a tinker://…/sampler_weights/<name> path).");
        }

        CheckSessionAndModel(state, user, request.SessionId, request.ModelPath is null ? request.BaseModel : null);
        return await Engine(context, state, async backend => ApiResults.Ok(await backend.CreateSamplingSessionAsync(request, context.RequestAborted)));
    }

    private static async Task<IResult> SampleAsync(HttpContext context, ServerState state)
    {
        var request = await Body<SampleRequest>(context, state, "asample");
        var user = ServerState.User(context);
        if (request.NumSamples > Sampler.MaxNumSamples)
        {
            throw ApiError.BadRequest($"num_samples must be between 1 and {Sampler.MaxNumSamples}, got {request.NumSamples}.");
        }

        if (request.Prompt.Length == 0)
        {
            throw ApiError.BadRequest("prompt is empty; sampling needs at least one prompt token.");
        }

        if (request.SamplingSessionId is null && request.ModelPath is null && request.BaseModel is null)
        {
            throw ApiError.BadRequest("asample needs sampling_session_id (the usual form), model_path or base_model.");
        }

        if (request.SamplingSessionId is null && request.ModelPath is null && request.BaseModel is { } baseModel && !state.Engine.Models.IsKnown(baseModel))
        {
            throw ApiError.BadRequest($"Unknown base model '{baseModel}'. Available: {string.Join(", ", state.Engine.Models.Names)}.");
        }

        var backend = state.For(user);
        var key = request is { SamplingSessionId: { } sampler, SeqId: { } seq } ? $"sampling_session_id {sampler} seq_id {seq}" : null;
        return await state.SubmitAsync(user, key, Canonical(request), null, async () =>
        {
            var accepted = await backend.SampleAsync(request, CancellationToken.None);
            return request.SamplingSessionId is { } samplerId ? state.Timeline.TrackSample(samplerId, request.SeqId, accepted) : accepted;
        });
    }
}
