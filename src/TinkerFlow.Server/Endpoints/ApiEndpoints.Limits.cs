using System.Text.Json;
using Microsoft.AspNetCore.Http;
using TinkerFlow.Server.Http;

namespace TinkerFlow.Server.Endpoints;

internal static partial class ApiEndpoints
{
    /// <summary>
    /// <c>GET /api/v1/limits</c>: every admission limit in effect (bytes and counts), each served model's largest LoRA
    /// rank and context, and the estimated memory the caller and the whole server hold against the budgets.
    /// </summary>
    private static IResult GetLimits(HttpContext context, ServerState state)
    {
        var user = ServerState.User(context);
        var limits = state.Engine.Options.Limits;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("max_request_body_bytes", state.Options.MaxRequestBodyBytes);
            json.WriteNumber("max_lora_rank", limits.MaxLoraRank);
            json.WriteNumber("memory_budget_bytes", limits.EffectiveMemoryBudgetBytes);
            json.WriteNumber("user_memory_budget_bytes", limits.EffectiveUserMemoryBudgetBytes);
            json.WriteNumber("max_sample_bytes", limits.EffectiveMaxSampleBytes);
            json.WriteNumber("max_forward_backward_tokens", limits.MaxForwardBackwardTokens);
            json.WriteNumber("max_sessions_per_user", limits.MaxSessionsPerUser);
            json.WriteNumber("max_models_per_user", limits.MaxModelsPerUser);
            json.WriteNumber("max_samplers_per_user", limits.MaxSamplersPerUser);
            json.WriteNumber("max_concurrent_samples", state.Options.MaxConcurrentSamples);
            json.WriteNumber("max_batch_kv_bytes", state.Options.MaxSampleKvBytes);
            json.WriteNumber("max_waiting_samples", state.Options.MaxWaitingSamples);
            json.WriteNumber("session_timeout_seconds", state.Options.SessionTimeout.TotalSeconds);
            json.WriteNumber("user_memory_reserved_bytes", state.Engine.ReservedMemoryBytesOf(user));
            json.WriteNumber("memory_reserved_bytes", state.Engine.ReservedMemoryBytes);
            json.WriteStartArray("models");
            foreach (var name in state.ServedModels)
            {
                var config = state.Engine.Models.Get(name).Config;
                json.WriteStartObject();
                json.WriteString("model_name", name);
                json.WriteNumber("max_lora_rank", state.Engine.MaxLoraRankFor(config));
                json.WriteNumber("max_context_length", config.MaxPositionEmbeddings);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return new JsonBytesResult(buffer.ToArray());
    }
}
