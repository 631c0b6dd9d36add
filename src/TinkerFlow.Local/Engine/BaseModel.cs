using TinkerFlow.Local.Model;

namespace TinkerFlow.Local.Engine;

/// <summary>A frozen base model loaded once and shared by every training client and sampler on it.</summary>
internal sealed class BaseModel(string name, CausalLm model, HuggingFaceTokenizer tokenizer, string source) : IDisposable
{
    public string Name => name;

    public CausalLm Model => model;

    public TransformerConfig Config => model.Config;

    public HuggingFaceTokenizer Tokenizer => tokenizer;

    /// <summary>Where the weights came from (folder, cache file, or "deterministic init").</summary>
    public string Source => source;

    public void Dispose() => model.Dispose();
}
