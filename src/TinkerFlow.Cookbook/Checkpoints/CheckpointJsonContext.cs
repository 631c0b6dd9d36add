using System.Text.Json.Serialization;

namespace TinkerFlow.Cookbook.Checkpoints;

/// <summary>Source-generated JSON for <c>checkpoints.jsonl</c>: snake_case names, nulls omitted, one line per record.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false)]
[JsonSerializable(typeof(CheckpointRecord))]
internal sealed partial class CheckpointJsonContext : JsonSerializerContext;
