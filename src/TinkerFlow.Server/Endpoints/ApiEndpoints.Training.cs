using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TinkerFlow.Local.Training;
using Google.Protobuf;
using TinkerFlow.Server.Http;
using TinkerFlow.Server.Protobuf;
using TinkerFlow.Types;

namespace TinkerFlow.Server.Endpoints;

internal static partial class ApiEndpoints
{
    private static void MapTraining(RouteGroupBuilder api)
    {
        api.MapPost("/create_model", CreateModelAsync);
        api.MapPost("/get_info", GetInfoAsync);
        api.MapPost("/unload_model", UnloadModelAsync);
        api.MapPost("/forward_backward", (HttpContext c, ServerState s) => ForwardBackwardAsync(c, s, backward: true));
        api.MapPost("/forward", (HttpContext c, ServerState s) => ForwardBackwardAsync(c, s, backward: false));
        api.MapPost("/optim_step", OptimStepAsync);
        api.MapPost("/save_weights", SaveWeightsAsync);
        api.MapPost("/save_weights_for_sampler", SaveWeightsForSamplerAsync);
        api.MapPost("/load_weights", LoadWeightsAsync);
    }

    private static async Task<IResult> CreateModelAsync(HttpContext context, ServerState state)
    {
        var request = await Body<CreateModelRequest>(context, state, "create_model");
        var user = ServerState.User(context);
        CheckSessionAndModel(state, user, request.SessionId, request.BaseModel);
        if (request.ModelSeqId < 0)
        {
            throw ApiError.BadRequest($"create_model.model_seq_id must be >= 0, got {request.ModelSeqId}.");
        }

        var backend = state.For(user);
        return await state.SubmitAsync(
            user,
            $"create_model session {request.SessionId} model_seq_id {request.ModelSeqId}",
            Canonical(request),
            $"{request.SessionId}:train:{request.ModelSeqId}",
            () => backend.CreateModelAsync(request, CancellationToken.None));
    }

    private static async Task<IResult> GetInfoAsync(HttpContext context, ServerState state)
    {
        var request = await Body<GetInfoRequest>(context, state, "get_info");
        return await Engine(context, state, async backend => ApiResults.Ok(await backend.GetInfoAsync(request, context.RequestAborted)));
    }

    private static async Task<IResult> UnloadModelAsync(HttpContext context, ServerState state)
    {
        var request = await Body<UnloadModelRequest>(context, state, "unload_model");
        var user = ServerState.User(context);
        var backend = state.For(user);
        return await state.SubmitAsync(user, null, [], request.ModelId, () => backend.UnloadModelAsync(request, CancellationToken.None));
    }

    private static async Task<IResult> ForwardBackwardAsync(HttpContext context, ServerState state, bool backward)
    {
        var name = backward ? "forward_backward" : "forward";
        var user = ServerState.User(context);
        var backend = state.For(user);
        ForwardBackwardInput input;
        string modelId;
        int? seqId;
        Func<byte[]> canonical;
        Func<Task<BackendOperation<ForwardBackwardOutput>>> submit;
        ForwardBackwardRequest? backwardRequest = null;
        ForwardRequest? forwardRequest = null;
        if (ProtoBody.IsProtobuf(context.Request))
        {
            // SDK ≥0.25: a protobuf ForwardBackwardRequest (optionally zstd) on forward_backward, forward_only for forward.
            var decoded = await ReadProtobufAsync(context, state, name);
            if (decoded.ForwardOnly || !backward)
            {
                name = "forward";
                forwardRequest = new ForwardRequest { ForwardInput = decoded.Input, ModelId = decoded.ModelId, SeqId = decoded.SeqId };
            }
            else
            {
                backwardRequest = new ForwardBackwardRequest { ForwardBackwardInput = decoded.Input, ModelId = decoded.ModelId, SeqId = decoded.SeqId };
            }
        }
        else if (backward)
        {
            backwardRequest = await Body<ForwardBackwardRequest>(context, state, name);
        }
        else
        {
            forwardRequest = await Body<ForwardRequest>(context, state, name);
        }

        if (backwardRequest is { } request)
        {
            (input, modelId, seqId, canonical) = (request.ForwardBackwardInput, request.ModelId, request.SeqId, () => Canonical(request));
            submit = async () => state.Timeline.Track(
                request.ModelId,
                "forward_backward",
                request.SeqId,
                await state.RunMetrics.TrackForwardBackwardAsync(request, () => backend.ForwardBackwardAsync(request, CancellationToken.None)));
        }
        else
        {
            var forward = forwardRequest!;
            (input, modelId, seqId, canonical) = (forward.ForwardInput, forward.ModelId, forward.SeqId, () => Canonical(forward));
            submit = async () => state.Timeline.Track(forward.ModelId, "forward", forward.SeqId, await backend.ForwardAsync(forward, CancellationToken.None));
        }

        if (input.Data.Count == 0)
        {
            throw ApiError.BadRequest($"{name}_input.data is empty: send at least one datum.");
        }

        Check(() => TinkerLosses.ResolveConfig(TinkerLosses.GetSpec(input.LossFn), input.LossFnConfig));
        CheckFinite(input, name);
        return await state.SubmitAsync(user, TrainingKey(modelId, seqId), canonical(), modelId, submit);
    }

    private static async Task<IResult> OptimStepAsync(HttpContext context, ServerState state)
    {
        var request = await Body<OptimStepRequest>(context, state, "optim_step");
        var user = ServerState.User(context);
        var backend = state.For(user);
        return await state.SubmitAsync(
            user,
            TrainingKey(request.ModelId, request.SeqId),
            Canonical(request),
            request.ModelId,
            async () => state.Timeline.Track(
                request.ModelId,
                "optim_step",
                request.SeqId,
                await state.RunMetrics.TrackOptimStepAsync(request, () => backend.OptimStepAsync(request, CancellationToken.None))));
    }

    private static async Task<IResult> SaveWeightsAsync(HttpContext context, ServerState state)
    {
        var request = await Body<SaveWeightsRequest>(context, state, "save_weights");
        var user = ServerState.User(context);
        var backend = state.For(user);
        return await state.SubmitAsync(
            user,
            TrainingKey(request.ModelId, request.SeqId),
            Canonical(request),
            request.ModelId,
            () =>
            {
                // A name that is already taken is a 409 at submission (wire-protocol §12 item 9); a replay of the
                // same (model_id, seq_id) never gets here, so it still answers with its first request id.
                if (!request.Overwrite && CheckpointExists(state, user, request.ModelId, $"weights/{request.Path}"))
                {
                    throw new ApiError(
                        StatusCodes.Status409Conflict,
                        $"Checkpoint 'tinker://{request.ModelId}/weights/{request.Path}' already exists. Choose another name or pass overwrite: true.");
                }

                return backend.SaveWeightsAsync(request, CancellationToken.None);
            });
    }

    private static async Task<IResult> SaveWeightsForSamplerAsync(HttpContext context, ServerState state)
    {
        var request = await Body<SaveWeightsForSamplerRequest>(context, state, "save_weights_for_sampler");
        if (request.Path is null && request.SamplingSessionSeqId is null)
        {
            throw ApiError.BadRequest("save_weights_for_sampler needs either path (a checkpoint name) or sampling_session_seq_id (an ephemeral snapshot).");
        }

        var user = ServerState.User(context);
        var backend = state.For(user);
        return await state.SubmitAsync(user, TrainingKey(request.ModelId, request.SeqId), Canonical(request), request.ModelId, () => backend.SaveWeightsForSamplerAsync(request, CancellationToken.None));
    }

    private static async Task<IResult> LoadWeightsAsync(HttpContext context, ServerState state)
    {
        var request = await Body<LoadWeightsRequest>(context, state, "load_weights");
        var user = ServerState.User(context);
        var backend = state.For(user);
        if (!ParsedCheckpointTinkerPath.TryParse(request.Path, out _))
        {
            Check(() => ParsedCheckpointTinkerPath.FromTinkerPath(request.Path));
        }

        if (request.ModelId is null)
        {
            // Create-via-load addressing (SDK ≥0.24.1 with create_model_via_load_weights).
            if (request.SessionId is null || request.ModelSeqId is null)
            {
                throw ApiError.BadRequest("load_weights needs model_id (+ seq_id), or session_id + model_seq_id to create the model from the checkpoint.");
            }

            CheckSessionAndModel(state, user, request.SessionId, request.BaseModel);
            return await state.SubmitAsync(
                user,
                $"create_model session {request.SessionId} model_seq_id {request.ModelSeqId}",
                Canonical(request),
                $"{request.SessionId}:train:{request.ModelSeqId}",
                () => backend.LoadWeightsAsync(request, CancellationToken.None));
        }

        return await state.SubmitAsync(user, TrainingKey(request.ModelId, request.SeqId), Canonical(request), request.ModelId, () => backend.LoadWeightsAsync(request, CancellationToken.None));
    }

    /// <summary>Reads and decodes a protobuf forward_backward body; malformed ones are 400s that name the field.</summary>
    private static async Task<ProtoRequestReader.Decoded> ReadProtobufAsync(HttpContext context, ServerState state, string name)
    {
        var bytes = await ProtoBody.ReadAsync(context, state.Options.MaxRequestBodyBytes);
        if (bytes.Length == 0)
        {
            throw ApiError.BadRequest($"The {name} request body is empty; send a tinker_public.ForwardBackwardRequest.");
        }

        try
        {
            return ProtoRequestReader.ReadForwardBackward(bytes);
        }
        catch (Exception ex) when (ex is FormatException or InvalidProtocolBufferException or ArgumentException)
        {
            throw ApiError.BadRequest($"Invalid protobuf {name} request (tinker_public.ForwardBackwardRequest): {ex.Message}");
        }
    }

    private static bool CheckpointExists(ServerState state, string user, string modelId, string checkpointId)
    {
        var run = state.Store.TryGetRun(modelId);
        return run is not null && run.ModelOwner == user && state.Store.ListCheckpoints(modelId).Any(c => c.CheckpointId == checkpointId);
    }

    private static string? TrainingKey(string modelId, int? seqId) => seqId is { } seq ? $"model_id {modelId} seq_id {seq}" : null;

    /// <summary>Fails fast (404 / 400) when the session is not the caller's or the base model is unknown.</summary>
    private static void CheckSessionAndModel(ServerState state, string user, string sessionId, string? baseModel)
    {
        Check(() => state.Store.GetSession(sessionId, user));
        if (baseModel is not null && !state.Engine.Models.IsKnown(baseModel))
        {
            throw ApiError.BadRequest(
                $"Unknown base model '{baseModel}'. Available: {string.Join(", ", state.Engine.Models.Names)}. Start the server with --model <folder> to serve another one.");
        }
    }
}
