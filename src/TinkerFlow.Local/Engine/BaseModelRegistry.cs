using System.Collections.Concurrent;
using TinkerFlow.Local.BuiltinModels;
using TinkerFlow.Local.Model;
using TinkerFlow.Local.Tokenization;
using TinkerFlow.Local.Weights;
using TinkerFlow.Types;

namespace TinkerFlow.Local.Engine;

/// <summary>
/// The base models a backend offers: the built-in ones (no download: config and tokenizer are embedded, weights come
/// from <c>&lt;home&gt;/models/&lt;name&gt;/model.safetensors</c> when a pretraining run cached them there, else from a
/// deterministic seeded initialisation) and Hugging Face folders the user registered. Each loads once, on first use.
/// </summary>
internal sealed class BaseModelRegistry : IDisposable
{
    /// <summary>Seed of the deterministic initialisation of built-in models without cached weights.</summary>
    public const long BuiltinInitSeed = 20261122;

    private readonly ConcurrentDictionary<string, Lazy<BaseModel>> _loaded = new(StringComparer.OrdinalIgnoreCase);
    private readonly IReadOnlyDictionary<string, string> _directories;
    private readonly string _home;

    public BaseModelRegistry(string home, IReadOnlyDictionary<string, string> directories)
    {
        _home = home;
        _directories = directories;
    }

    /// <summary>Every model name this registry can load.</summary>
    public IReadOnlyList<string> Names => [.. BuiltinModelCatalog.Names, .. _directories.Keys];

    /// <summary>Where a pretrained built-in model's weights are cached.</summary>
    public string CachedWeightsDirectory(string builtinName) => Path.Combine(_home, "models", builtinName.Replace('/', '_'));

    public bool IsKnown(string name) => BuiltinModelCatalog.Contains(name) || _directories.ContainsKey(name) || LooksLikeModelFolder(name);

    /// <summary>Loads (once) and returns a base model, or throws a user error listing the available ones.</summary>
    public BaseModel Get(string name)
    {
        if (!IsKnown(name))
        {
            throw new TinkerRequestException(
                $"Unknown base model '{name}'. Available: {string.Join(", ", Names)}. Register a Hugging Face model folder with TINKERFLOW_MODELS=/path/to/model (or name=/path/to/model).",
                RequestErrorCategory.User,
                status: 400);
        }

        var lazy = _loaded.GetOrAdd(name, n => new Lazy<BaseModel>(() => Load(n), LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value;
        }
        catch
        {
            _loaded.TryRemove(name, out _);
            throw;
        }
    }

    /// <summary>Forgets a loaded built-in model so that the next <see cref="Get"/> reloads it (after new cached weights).</summary>
    public void Evict(string name)
    {
        if (_loaded.TryRemove(name, out var lazy) && lazy.IsValueCreated)
        {
            lazy.Value.Dispose();
        }
    }

    private BaseModel Load(string name)
    {
        if (BuiltinModelCatalog.TryGet(name, out var assets))
        {
            var config = TransformerConfig.Parse(assets.ConfigJson, $"{assets.Name}/config.json");
            var cached = CachedWeightsDirectory(assets.Name);
            CausalLm model;
            string source;
            if (File.Exists(Path.Combine(cached, "model.safetensors")) || File.Exists(Path.Combine(cached, "model.safetensors.index.json")))
            {
                model = new CausalLm(config);
                HfModelLoader.LoadWeights(model, cached);
                source = cached;
            }
            else
            {
                model = new CausalLm(config);
                model.InitializeWeights(BuiltinInitSeed);
                source = $"deterministic init (seed {BuiltinInitSeed})";
            }

            model.SetTrainable(false);
            model.eval();
            return new BaseModel(assets.Name, model, new LocalTokenizer(assets.Name, assets.Tokenizer), source);
        }

        var directory = _directories.TryGetValue(name, out var dir) ? dir : name;
        var loaded = HfModelLoader.Load(directory, trainable: false);
        loaded.eval();
        var tokenizerPath = Path.Combine(directory, "tokenizer.json");
        if (!File.Exists(tokenizerPath))
        {
            throw new TinkerRequestException($"Model folder '{directory}' has no tokenizer.json; copy the model's tokenizer files next to config.json.", RequestErrorCategory.User, status: 400);
        }

        var configPath = Path.Combine(directory, "tokenizer_config.json");
        var tokenizer = HfTokenizer.Load(tokenizerPath, File.Exists(configPath) ? configPath : null);
        return new BaseModel(name, loaded, new LocalTokenizer(name, tokenizer), directory);
    }

    private static bool LooksLikeModelFolder(string name) =>
        Path.IsPathFullyQualified(name) && File.Exists(Path.Combine(name, "config.json"));

    public void Dispose()
    {
        foreach (var lazy in _loaded.Values)
        {
            if (lazy.IsValueCreated)
            {
                lazy.Value.Dispose();
            }
        }

        _loaded.Clear();
    }
}
