using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TinkerFlow.Local.Training;
using TinkerFlow.Server.Http;
using TinkerFlow.Server.Protobuf;
using TinkerFlow.Types;

namespace TinkerFlow.Server.Endpoints;

/// <summary>
/// The <c>/api/v1</c> routes (wire-protocol §6). Handlers read their bodies themselves (<see cref="RequestBody"/>)
/// so that every malformed request gets a JSON error that names the problem; engine calls go through the caller's
/// view of the shared engine (<see cref="ServerState.For"/>).
/// </summary>
internal static partial class ApiEndpoints
{
    public const string Prefix = "/api/v1";

    /// <summary>The only route that needs no API key besides healthz: the signed URL is the credential.</summary>
    public const string ArchiveDownloadPrefix = Prefix + "/archives/";

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup(Prefix);
        api.MapGet("/healthz", () => ApiResults.Ok(new HealthResponse { Status = "ok" }));
        api.MapGet("/get_server_capabilities", GetServerCapabilitiesAsync);
        api.MapGet("/limits", GetLimits);
        api.MapPost("/client/config", ClientConfigAsync);
        api.MapPost("/client/dynamic_config", DynamicConfigAsync);
        api.MapPost("/auth/token", () => ApiResults.Error(
            StatusCodes.Status404NotFound,
            "JWT mode is off on this server (client/config answers pjwt_auth_enabled:false); send the tml- API key as X-API-Key."));
        api.MapPost("/create_session", CreateSessionAsync);
        api.MapPost("/session_heartbeat", SessionHeartbeatAsync);
        api.MapPost("/telemetry", TelemetryAsync);
        api.MapPost("/retrieve_future", RetrieveFutureAsync);
        MapTraining(api);
        MapSampling(api);
        MapRest(api);
    }

    private static Task<IResult> GetServerCapabilitiesAsync(HttpContext context, ServerState state) =>
        Engine(context, state, async backend => ApiResults.Ok(await backend.GetServerCapabilitiesAsync(context.RequestAborted)));

    private static async Task<IResult> ClientConfigAsync(HttpContext context, ServerState state)
    {
        await Body<ClientConfigRequest>(context, state, "client/config");
        return ApiResults.Ok(new ClientConfigResponse
        {
            PjwtAuthEnabled = false,
            UsePyqwestTransport = false,
            ProtoWriteFwdbwd = false,
            ProtoCompressFwdbwd = false,
            ParallelFwdbwdChunks = true,
            CreateModelViaLoadWeights = false,
        });
    }

    private static async Task<IResult> DynamicConfigAsync(HttpContext context, ServerState state)
    {
        await Body<ClientConfigRequest>(context, state, "client/dynamic_config");
        return ApiResults.Ok(new DynamicConfigResponse { RefreshIntervalSec = 300 });
    }

    private static async Task<IResult> CreateSessionAsync(HttpContext context, ServerState state)
    {
        var request = await Body<CreateSessionRequest>(context, state, "create_session");
        return await Engine(context, state, async backend =>
        {
            var created = await backend.CreateSessionAsync(request, context.RequestAborted);
            return ApiResults.Ok(created with
            {
                InfoMessage = $"TinkerFlow server: base models {string.Join(", ", state.ServedModels)}; idle sessions are released after {state.Options.SessionTimeout.TotalSeconds:0} s without a heartbeat.",
            });
        });
    }

    private static async Task<IResult> SessionHeartbeatAsync(HttpContext context, ServerState state)
    {
        var request = await Body<SessionHeartbeatRequest>(context, state, "session_heartbeat");
        return await Engine(context, state, async backend =>
        {
            await backend.SessionHeartbeatAsync(request, context.RequestAborted);
            return ApiResults.Ok(new SessionHeartbeatResponse());
        });
    }

    private static async Task<IResult> TelemetryAsync(HttpContext context, ServerState state)
    {
        // Accepted and dropped; the body only has to be JSON.
        var bytes = await RequestBody.ReadBytesAsync(context, state.Options.MaxRequestBodyBytes);
        RequestBody.Parse<JsonElement>(bytes, "telemetry");
        return ApiResults.Ok(new TelemetryResponse { Status = "accepted" });
    }

    private static async Task<IResult> RetrieveFutureAsync(HttpContext context, ServerState state)
    {
        var request = await Body<FutureRetrieveRequest>(context, state, "retrieve_future");
        var user = ServerState.User(context);
        var entry = state.Futures.Find(request.RequestId, user)
            ?? throw ApiError.NotFound(
                $"Unknown request_id '{request.RequestId}': this server never issued it to you, or its result expired ({state.Options.FutureRetention.TotalMinutes:0} minutes after completion).");
        try
        {
            var answer = await entry.Answer.WaitAsync(state.Options.LongPollTimeout, TimeProvider.System, context.RequestAborted);

            // SDK ≥0.18.1 asks for protobuf sample results, ≥0.19 for forward(_backward) ones (wire-protocol §4.2, §8);
            // errors and every other result stay JSON.
            if (ProtoBody.AcceptsProtobuf(context.Request))
            {
                switch (entry.Result)
                {
                    case ForwardBackwardOutput output:
                        return new ProtobufBytesResult(ProtoResultWriter.Write(output));
                    case SampleResponse sample:
                        return new ProtobufBytesResult(ProtoResultWriter.Write(sample));
                }
            }

            return new JsonBytesResult(answer);
        }
        catch (TimeoutException)
        {
            // A request waiting for capacity (a sample whose model's decode batch is full) says so: the SDK logs the reason.
            var (queueState, reason) = entry.Answer.IsCompleted ? (QueueState.Active, null) : entry.QueueStatus?.Invoke() ?? (QueueState.Active, null);
            return ApiResults.Ok(new TryAgainResponse { RequestId = entry.RequestId, QueueState = queueState, QueueStateReason = reason });
        }
    }

    // ---------------------------------------------------------------- helpers

    private static Task<T> Body<T>(HttpContext context, ServerState state, string what) =>
        RequestBody.ReadAsync<T>(context, state.Options.MaxRequestBodyBytes, what);

    /// <summary>Runs a call on the caller's engine view, turning engine failures into HTTP errors.</summary>
    private static async Task<IResult> Engine(HttpContext context, ServerState state, Func<TinkerFlow.Local.LocalBackend, Task<IResult>> call)
    {
        var backend = state.For(ServerState.User(context));
        try
        {
            return await call(backend);
        }
        catch (TinkerRequestException ex)
        {
            throw ApiError.From(ex);
        }
    }

    /// <summary>Runs an engine-side validation, turning its user errors into 400s.</summary>
    private static void Check(Action validate)
    {
        try
        {
            validate();
        }
        catch (TinkerUserInputException ex)
        {
            throw ApiError.BadRequest(ex.Message);
        }
        catch (TinkerRequestException ex)
        {
            throw ApiError.From(ex);
        }
        catch (ArgumentException ex)
        {
            throw ApiError.BadRequest(ex.Message);
        }
    }

    /// <summary>The request re-serialised (the replay fingerprint); fails with 400 on values JSON cannot carry.</summary>
    private static byte[] Canonical<T>(T request)
    {
        try
        {
            return TinkerJson.SerializeToUtf8Bytes(request);
        }
        catch (ArgumentException)
        {
            throw ApiError.BadRequest("The request contains a non-finite number (a value too large for its type, NaN or infinity); every number must be finite.");
        }
    }

    /// <summary>Rejects NaN / infinite values in the loss inputs (e.g. 1e999 read into float32).</summary>
    private static void CheckFinite(ForwardBackwardInput input, string name)
    {
        for (var i = 0; i < input.Data.Count; i++)
        {
            foreach (var (key, tensor) in input.Data[i].LossFnInputs)
            {
                if (tensor.Dtype != TensorDType.Float32)
                {
                    continue;
                }

                var values = tensor.AsFloat32Span();
                for (var j = 0; j < values.Length; j++)
                {
                    if (!float.IsFinite(values[j]))
                    {
                        throw ApiError.BadRequest($"{name}_input.data[{i}].loss_fn_inputs.{key} has a non-finite value ({values[j]}) at index {j}; all values must be finite.");
                    }
                }
            }
        }
    }
}
