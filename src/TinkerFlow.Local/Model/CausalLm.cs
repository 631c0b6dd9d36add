using TinkerFlow.Local.Engine;
using TinkerFlow.Local.Lora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Model;

/// <summary>
/// A Qwen3 / Llama decoder-only language model (Hugging Face's <c>*ForCausalLM</c>). Its <c>state_dict()</c> keys are the
/// checkpoint keys: <c>model.embed_tokens.weight</c>, <c>model.layers.N.self_attn.q_proj.weight</c>, ...,
/// <c>model.norm.weight</c> and, unless embeddings are tied, <c>lm_head.weight</c>.
/// </summary>
/// <remarks>
/// The model is meant to be loaded once and shared: LoRA adapters are passed per call to
/// <see cref="forward(Tensor, Tensor?, KvCache?, LoraAdapter?)"/> and never stored in the module. Everything runs in
/// float32 on the CPU (see engine notes: bf16/fp16 are slower there).
/// </remarks>
internal sealed class CausalLm : nn.Module<Tensor, Tensor>
{
    /// <summary>The decoder stack (<c>model.*</c> keys).</summary>
    public TransformerModel model;

    /// <summary>The output projection [V, C]; with tied embeddings it reuses <c>model.embed_tokens.weight</c>.</summary>
    public LoraLinear lm_head;

    /// <summary>Builds a model with TorchSharp's default initialisation; load weights or call <see cref="InitializeWeights"/> next.</summary>
    public CausalLm(TransformerConfig config) : base(nameof(CausalLm))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        model = new TransformerModel(config);
        lm_head = config.TieWordEmbeddings
            ? new LoraLinear(model.embed_tokens.weight!)
            : new LoraLinear(config.HiddenSize, config.VocabSize, hasBias: false);
        RegisterComponents();

        LoraTargets = [.. named_modules()
            .Where(m => m.module is LoraLinear)
            .Select(m => (m.name, (LoraLinear)m.module))];
        foreach (var (path, linear) in LoraTargets)
        {
            linear.ModulePath = path;
        }
    }

    /// <summary>The configuration the model was built from.</summary>
    public TransformerConfig Config { get; }

    /// <summary>Every adaptable projection with its module path (e.g. <c>model.layers.0.mlp.up_proj</c>), in model order.</summary>
    public IReadOnlyList<(string Path, LoraLinear Module)> LoraTargets { get; }

    /// <summary>Logits of the base model (no mask, no cache, no adapter). inputIds: [B, T] int64 → [B, T, V] float32.</summary>
    public override Tensor forward(Tensor inputIds) => forward(inputIds, null, null, null);

    /// <summary>Next-token logits for every position.</summary>
    /// <param name="inputIds">[B, T] int64 token ids.</param>
    /// <param name="attentionMask">Optional [B, T] (nonzero = real token) for padded batches; see <see cref="TransformerModel.forward"/>.</param>
    /// <param name="cache">Optional KV cache from <see cref="CreateCache"/>; the tokens are appended to it.</param>
    /// <param name="adapter">Optional LoRA adapter (built for this model) applied to the targeted projections.</param>
    /// <returns>[B, T, V] float32 logits.</returns>
    public Tensor forward(Tensor inputIds, Tensor? attentionMask, KvCache? cache = null, LoraAdapter? adapter = null)
    {
        using var scope = torch.NewDisposeScope();
        var h = model.forward(inputIds, attentionMask, cache, adapter);                      // (B, T, C)
        var logits = lm_head.forward(h, adapter);                                            // (B, T, V)
        return logits.to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>An empty KV cache for <paramref name="batchSize"/> sequences decoded together (the caller disposes it).</summary>
    public KvCache CreateCache(long batchSize) => new(Config.NumHiddenLayers, batchSize);

    /// <summary>Sets <c>requires_grad</c> on every base parameter (false for a frozen LoRA base, the normal case).</summary>
    public void SetTrainable(bool trainable)
    {
        foreach (var parameter in parameters())
        {
            parameter.requires_grad = trainable;
        }
    }

    /// <summary>
    /// Deterministic random initialisation as transformers does it: linear and embedding weights ~ N(0, std²), biases 0,
    /// norm weights 1. Same seed → same weights.
    /// </summary>
    public void InitializeWeights(long seed, double std = 0.02)
    {
        using var generator = new torch.Generator((ulong)seed, torch.CPU);
        using var noGrad = torch.no_grad();
        foreach (var (name, parameter) in named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal))
            {
                parameter.fill_(Scalars.One);
            }
            else if (name.EndsWith(".bias", StringComparison.Ordinal))
            {
                parameter.zero_();
            }
            else
            {
                parameter.normal_(0.0, std, generator);
            }
        }
    }

    /// <summary>Number of base parameters (a tied embedding counted once).</summary>
    public long ParameterCount => parameters().Sum(p => p.NumberOfElements);
}
