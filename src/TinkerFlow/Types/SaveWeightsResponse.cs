namespace TinkerFlow.Types;

/// <summary>Result of <c>save_weights</c>: <c>{"path":"tinker://&lt;run&gt;/weights/&lt;name&gt;","type":"save_weights"}</c>.</summary>
public sealed record SaveWeightsResponse
{
    /// <summary>The tinker path of the saved checkpoint (<c>path</c>).</summary>
    public required string Path { get; init; }

    /// <summary>Wire discriminator, always <c>"save_weights"</c>.</summary>
    public string Type => "save_weights";
}
