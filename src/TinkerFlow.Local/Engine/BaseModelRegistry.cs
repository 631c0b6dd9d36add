using System.Collections.Concurrent;
using TinkerFlow.Local.BuiltinModels;
using TinkerFlow.Local.Model;
using TinkerFlow.Tokenization;
using TinkerFlow.Local.Weights;
using TinkerFlow.Types;

namespace TinkerFlow.Local.Engine;

/// <summary>
/// The base models a backend offers: the built-in ones (no download: config, tokenizer and pretrained weights are
/// embedded resources; a <c>&lt;home&gt;/models/&lt;name&gt;/model.safetensors</c> placed by the user overrides the
/// weights) and Hugging Face folders the user registered. Each loads once, on first use.
/// </summary>
internal sealed class BaseModelRegistry : IDisposable
{
    /// <summary>Seed of the deterministic initialisation of built-in models without cached weights.</summary>
    public const long BuiltinInitSeed = 20261122;

    private readonly ConcurrentDictionary<string, Lazy<BaseModel>> _loaded = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, Lazy<HuggingFaceTokenizer>> _tokenizers = new(StringComparer.OrdinalIgnoreCase);
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
        ThrowIfUnknown(name);
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

    /// <summary>
    /// Loads (once) and returns a base model's tokenizer without loading its weights, or throws a user error listing the
    /// available models.
    /// </summary>
    public HuggingFaceTokenizer GetTokenizer(string name)
    {
        ThrowIfUnknown(name);
        var lazy = _tokenizers.GetOrAdd(name, n => new Lazy<HuggingFaceTokenizer>(() => LoadTokenizer(n), LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value;
        }
        catch
        {
            _tokenizers.TryRemove(name, out _);
            throw;
        }
    }

    private void ThrowIfUnknown(string name)
    {
        if (!IsKnown(name))
        {
            throw new TinkerRequestException(
                $"Unknown base model '{name}'. Available: {string.Join(", ", Names)}. Register a Hugging Face model folder with TINKERFLOW_MODELS=/path/to/model (or name=/path/to/model).",
                RequestErrorCategory.User,
                status: 400);
        }
    }

    private HuggingFaceTokenizer LoadTokenizer(string name)
    {
        if (BuiltinModelCatalog.TryGet(name, out var assets))
        {
            return new HuggingFaceTokenizer(assets.Name, assets.Tokenizer);
        }

        var directory = _directories.TryGetValue(name, out var dir) ? dir : name;
        if (!File.Exists(Path.Combine(directory, "tokenizer.json")) && !File.Exists(Path.Combine(directory, "tokenizer.json.gz")))
        {
            throw new TinkerRequestException($"Model folder '{directory}' has no tokenizer.json; copy the model's tokenizer files next to config.json.", RequestErrorCategory.User, status: 400);
        }

        try
        {
            return HuggingFaceTokenizer.Load(directory, name);
        }
        catch (InvalidDataException e)
        {
            throw new TinkerRequestException(e.Message, RequestErrorCategory.User, status: 400);
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
            var model = new CausalLm(config);
            string source;
            var overrideDir = CachedWeightsDirectory(assets.Name);
            if (File.Exists(Path.Combine(overrideDir, HfModelLoader.SingleFileName)) || File.Exists(Path.Combine(overrideDir, "model.safetensors.index.json")))
            {
                HfModelLoader.LoadWeights(model, overrideDir);
                source = overrideDir;
            }
            else if (assets.FileNames.Contains(HfModelLoader.SingleFileName))
            {
                source = ExtractShippedWeights(assets);
                HfModelLoader.LoadWeights(model, source);
            }
            else
            {
                model.InitializeWeights(BuiltinInitSeed);
                source = $"deterministic init (seed {BuiltinInitSeed})";
            }

            model.SetTrainable(false);
            model.eval();
            return new BaseModel(assets.Name, model, GetTokenizer(assets.Name), source);
        }

        var directory = _directories.TryGetValue(name, out var dir) ? dir : name;
        var tokenizer = GetTokenizer(name); // first: a folder with a bad tokenizer fails before its weights load
        var loaded = HfModelLoader.Load(directory, trainable: false);
        loaded.eval();
        return new BaseModel(name, loaded, tokenizer, directory);
    }

    /// <summary>
    /// Writes the weights shipped inside the assembly (produced by tools/pretrain_builtin.py) to
    /// <c>&lt;home&gt;/models/&lt;name&gt;/shipped-&lt;hash&gt;/</c> once, so they can be memory-mapped like any model folder.
    /// </summary>
    private string ExtractShippedWeights(BuiltinModels.BuiltinModelAssets assets)
    {
        var bytes = assets.ReadFile(HfModelLoader.SingleFileName);
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))[..12];
        var dir = Path.Combine(CachedWeightsDirectory(assets.Name), $"shipped-{hash}");
        var file = Path.Combine(dir, HfModelLoader.SingleFileName);
        if (!File.Exists(file))
        {
            Directory.CreateDirectory(dir);
            var temp = $"{file}.{Guid.NewGuid():N}.tmp";
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, file, overwrite: true);
        }

        return dir;
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
