using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary><c>PUT …/checkpoints/{kind}/{name}/ttl</c> body: <c>{"ttl_seconds":int|null}</c>; null is written and removes the expiry.</summary>
public sealed record SetCheckpointTtlRequest
{
    private readonly long? _ttlSeconds;

    /// <summary>New lifetime in seconds (<c>ttl_seconds</c>), &gt;= 1; null removes the expiry (written as <c>null</c>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public long? TtlSeconds
    {
        get => _ttlSeconds;
        init => _ttlSeconds = WireValidation.AtLeast(value, 1, "ttl_seconds");
    }
}
