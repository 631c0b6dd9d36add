using System.Diagnostics.CodeAnalysis;
using TinkerFlow.Local.Engine;
using TinkerFlow.Local.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Lora;

/// <summary>
/// One training client's LoRA weights: a (lora_A [r, in], lora_B [out, r]) pair per targeted module of a shared, frozen
/// <see cref="CausalLm"/>. Pass it to <see cref="CausalLm.forward(Tensor, Tensor?, KvCache?, LoraAdapter?)"/>; the base
/// model is never modified, so any number of adapters can share one base.
/// </summary>
/// <remarks>
/// lora_A is drawn from U(-1/√in, 1/√in) (PEFT's kaiming-uniform with a = √5) with a generator seeded from
/// <see cref="LoraAdapterOptions.Seed"/>; lora_B starts at zero, so a fresh adapter leaves the model's output unchanged.
/// <see cref="Tensors"/> uses PEFT key names (<c>base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight</c>).
/// </remarks>
internal sealed partial class LoraAdapter : IDisposable
{
    private const string PeftPrefix = "base_model.model.";
    private readonly Dictionary<string, (Parameter A, Parameter B)> _modules;

    private LoraAdapter(LoraAdapterOptions options, Dictionary<string, (Parameter A, Parameter B)> modules)
    {
        Options = options;
        _modules = modules;
    }

    /// <summary>The rank, alpha, targets and seed this adapter was built with.</summary>
    public LoraAdapterOptions Options { get; }

    /// <summary>alpha / rank.</summary>
    public double Scaling => Options.Scaling;

    /// <summary>Paths of the adapted modules, in model order (e.g. <c>model.layers.0.self_attn.q_proj</c>).</summary>
    public IReadOnlyList<string> ModulePaths => [.. _modules.Keys];

    /// <summary>Every lora_A/lora_B parameter keyed by its PEFT name (trainable, float32).</summary>
    public IReadOnlyDictionary<string, Parameter> Tensors =>
        _modules.SelectMany(kv => new[]
        {
            KeyValuePair.Create(PeftKey(kv.Key, "lora_A"), kv.Value.A),
            KeyValuePair.Create(PeftKey(kv.Key, "lora_B"), kv.Value.B),
        }).ToDictionary(StringComparer.Ordinal);

    /// <summary>The trainable parameters, for an optimizer (A then B for each module, in model order).</summary>
    public IEnumerable<Parameter> Parameters() => _modules.Values.SelectMany(p => new[] { p.A, p.B });

    /// <summary>Number of trainable scalars.</summary>
    public long ParameterCount => _modules.Values.Sum(p => p.A.NumberOfElements + p.B.NumberOfElements);

    /// <summary>
    /// Builds an adapter for every <see cref="LoraLinear"/> of <paramref name="model"/> whose name is in
    /// <see cref="LoraAdapterOptions.TargetModules"/>. Same options and seed → same tensors.
    /// </summary>
    /// <exception cref="ArgumentException">The rank is not positive, or no module matches the targets.</exception>
    public static LoraAdapter Create(CausalLm model, LoraAdapterOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Rank <= 0)
        {
            throw new ArgumentException($"LoRA rank must be positive, got {options.Rank}.", nameof(options));
        }
        var unknown = options.TargetModules
            .Except([.. LoraAdapterOptions.AttentionModules, .. LoraAdapterOptions.MlpModules, .. LoraAdapterOptions.UnembedModules])
            .ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException(
                $"unknown LoRA target module(s): {string.Join(", ", unknown)}; expected q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj or lm_head.",
                nameof(options));
        }

        var modules = new Dictionary<string, (Parameter A, Parameter B)>(StringComparer.Ordinal);
        var generator = new torch.Generator((ulong)options.Seed, torch.CPU);
        using (torch.no_grad())
        {
            foreach (var (path, linear) in model.LoraTargets)
            {
                if (!options.TargetModules.Contains(path[(path.LastIndexOf('.') + 1)..]))
                {
                    continue;
                }
                double bound = 1.0 / Math.Sqrt(linear.InFeatures);
                var a = torch.empty(options.Rank, linear.InFeatures).uniform_(-bound, bound, generator);   // (r, in)
                var b = torch.zeros(linear.OutFeatures, options.Rank);                                     // (out, r)
                modules[path] = (Own(a), Own(b));
            }
        }
        generator.Dispose();

        if (modules.Count == 0)
        {
            throw new ArgumentException($"no module of the model matches the LoRA targets [{string.Join(", ", options.TargetModules)}].", nameof(options));
        }
        return new LoraAdapter(options, modules);
    }

    /// <summary>An independent copy with the same options and current values (e.g. an immutable snapshot for a sampler).</summary>
    public LoraAdapter Clone()
    {
        var modules = new Dictionary<string, (Parameter A, Parameter B)>(StringComparer.Ordinal);
        using (torch.no_grad())
        {
            foreach (var (path, (a, b)) in _modules)
            {
                modules[path] = (Own(a.detach().clone()), Own(b.detach().clone()));
            }
        }

        return new LoraAdapter(Options, modules);
    }

    /// <summary>The lora_A [r, in] and lora_B [out, r] of <paramref name="modulePath"/>, if this adapter targets it.</summary>
    public bool TryGetWeights(string modulePath, [NotNullWhen(true)] out Parameter? a, [NotNullWhen(true)] out Parameter? b)
    {
        if (_modules.TryGetValue(modulePath, out var pair))
        {
            (a, b) = pair;
            return true;
        }
        a = b = null;
        return false;
    }

    /// <summary>The dense weight update of <paramref name="modulePath"/>: scaling · B A. [out, in] float32, no gradient.</summary>
    public Tensor Delta(string modulePath)
    {
        if (!_modules.TryGetValue(modulePath, out var pair))
        {
            throw new KeyNotFoundException($"the adapter has no weights for '{modulePath}'.");
        }
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        using var scaling = Scaling.ToScalar();
        return pair.B.matmul(pair.A).mul(scaling).MoveToOuterDisposeScope();   // (out, in)
    }

    /// <summary>
    /// Folds the adapter into a Hugging Face state dict for export: each targeted <c>{path}.weight</c> entry is replaced
    /// by a new tensor <c>W + scaling · B A</c>. The input tensors are never written to (they may be the live base weights,
    /// e.g. from <c>model.state_dict()</c>); the new tensors join the current dispose scope.
    /// </summary>
    /// <returns>
    /// True if <c>lm_head</c> was adapted while the dict had no <c>lm_head.weight</c> (tied embeddings): a separate
    /// <c>lm_head.weight</c> was added, so the exported config must set <c>tie_word_embeddings</c> to false.
    /// </returns>
    /// <exception cref="KeyNotFoundException">A targeted module has no weight in the dict.</exception>
    public bool MergeInto(IDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        bool untied = false;
        foreach (string path in _modules.Keys)
        {
            string key = path + ".weight";
            if (!stateDict.TryGetValue(key, out var weight))
            {
                if (path == "lm_head" && stateDict.TryGetValue("model.embed_tokens.weight", out var embedding))
                {
                    weight = embedding;
                    untied = true;
                }
                else
                {
                    throw new KeyNotFoundException($"cannot merge LoRA: the state dict has no '{key}'.");
                }
            }

            using var delta = Delta(path);
            using var noGrad = torch.no_grad();
            stateDict[key] = weight.to(ScalarType.Float32).add(delta, Scalars.One).to(weight.dtype);
        }
        return untied;
    }

    /// <summary>Disposes every lora_A/lora_B tensor.</summary>
    public void Dispose()
    {
        foreach (var (a, b) in _modules.Values)
        {
            a.Dispose();
            b.Dispose();
        }
        _modules.Clear();
    }

    private static string PeftKey(string modulePath, string which) => $"{PeftPrefix}{modulePath}.{which}.weight";

    private static Parameter Own(Tensor t)
    {
        var parameter = new Parameter(t, requires_grad: true);
        parameter.DetachFromDisposeScope();
        return parameter;
    }
}
