namespace TinkerFlow.Types;

/// <summary>The <c>model_data</c> object of <see cref="GetInfoResponse"/>: <c>{"arch"?,"model_name"?,"tokenizer_id"?}</c>.</summary>
public sealed record ModelData
{
    /// <summary>Architecture name (<c>arch</c>).</summary>
    public string? Arch { get; init; }

    /// <summary>Base model name (<c>model_name</c>); needed to load the tokenizer.</summary>
    public string? ModelName { get; init; }

    /// <summary>Tokenizer id (<c>tokenizer_id</c>); clients drop anything after a ':'.</summary>
    public string? TokenizerId { get; init; }
}
