using Microsoft.ML.Tokenizers;

namespace TinkerFlow.Tokenization;

/// <summary>
/// What <see cref="HfTokenizerReader"/> extracts from <c>tokenizer.json</c> and <c>tokenizer_config.json</c>:
/// everything <see cref="HfTokenizer"/> needs, already validated.
/// </summary>
internal sealed class HfTokenizerDefinition
{
    /// <summary>Where the definition came from (a path or a resource name), for error messages.</summary>
    public required string Source { get; init; }

    /// <summary>The BPE vocabulary in byte-level form (<c>Ġworld</c>), token to id.</summary>
    public required Dictionary<string, int> Vocabulary { get; init; }

    /// <summary>The merges in priority order, each as <c>"left right"</c>.</summary>
    public required List<string> Merges { get; init; }

    /// <summary>The added tokens, matched as units before BPE.</summary>
    public required List<HfAddedToken> AddedTokens { get; init; }

    /// <summary>The normalizer, or null when the file has none.</summary>
    public Normalizer? Normalizer { get; init; }

    /// <summary>The regex splitting that precedes byte-level BPE.</summary>
    public required SplitPreTokenizer PreTokenizer { get; init; }

    /// <summary>
    /// <c>model.ignore_merges</c> (Llama 3): a pre-tokenized piece that is itself a vocabulary entry becomes that id
    /// without running the merges.
    /// </summary>
    public bool IgnoreMerges { get; init; }

    /// <summary>Ids the post-processor puts before the sequence when special tokens are added (Llama 3: BOS).</summary>
    public int[] PrefixIds { get; init; } = [];

    /// <summary>Ids the post-processor puts after the sequence when special tokens are added.</summary>
    public int[] SuffixIds { get; init; } = [];

    /// <summary><c>eos_token</c> from <c>tokenizer_config.json</c>, if given.</summary>
    public string? EosToken { get; init; }

    /// <summary><c>bos_token</c> from <c>tokenizer_config.json</c>, if given.</summary>
    public string? BosToken { get; init; }

    /// <summary><c>pad_token</c> from <c>tokenizer_config.json</c>, if given.</summary>
    public string? PadToken { get; init; }

    /// <summary><c>chat_template</c> from <c>tokenizer_config.json</c>, if given.</summary>
    public string? ChatTemplate { get; init; }

    /// <summary>Where the config values came from, for error messages (null without a config).</summary>
    public string? ConfigSource { get; init; }
}
