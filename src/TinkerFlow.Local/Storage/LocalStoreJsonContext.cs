using System.Text.Json.Serialization;
using TinkerFlow.Types;

namespace TinkerFlow.Local.Storage;

/// <summary>JSON for the files under the data directory (snake_case like the wire).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true)]
[JsonSerializable(typeof(RunRecord))]
[JsonSerializable(typeof(SessionRecord))]
[JsonSerializable(typeof(SamplerRecord))]
[JsonSerializable(typeof(Checkpoint))]
internal sealed partial class LocalStoreJsonContext : JsonSerializerContext
{
}
