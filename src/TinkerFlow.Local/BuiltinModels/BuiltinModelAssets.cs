using System.Text;
using TinkerFlow.Tokenization;

namespace TinkerFlow.Local.BuiltinModels;

/// <summary>
/// The files of a model that ships inside TinkerFlow.Local as embedded resources (no download at run time):
/// the Hugging Face <c>config.json</c> text and the loaded tokenizer. Weights are not part of it.
/// </summary>
internal sealed class BuiltinModelAssets
{
    private readonly IReadOnlyDictionary<string, byte[]> _files;

    /// <summary>Creates the assets from the model's files.</summary>
    /// <param name="name">The model name, e.g. <c>tinkerflow/tiny-qwen3</c>.</param>
    /// <param name="files">File name to content; must hold <c>config.json</c> and <c>tokenizer.json</c>.</param>
    /// <param name="resourcePrefix">The resource-name prefix of the files, for error messages.</param>
    public BuiltinModelAssets(string name, IReadOnlyDictionary<string, byte[]> files, string resourcePrefix)
    {
        Name = name;
        _files = files;
        if (!files.TryGetValue("config.json", out byte[]? config) || !files.TryGetValue("tokenizer.json", out byte[]? tokenizer))
        {
            throw new InvalidOperationException(
                $"Built-in model '{name}' lacks config.json or tokenizer.json under resource '{resourcePrefix}'; TinkerFlow.Local was built without its BuiltinModels resources.");
        }

        ConfigJson = Encoding.UTF8.GetString(config);
        files.TryGetValue("tokenizer_config.json", out byte[]? tokenizerConfig);
        Tokenizer = HfTokenizer.FromBytes(tokenizer, resourcePrefix + "tokenizer.json", tokenizerConfig, resourcePrefix + "tokenizer_config.json");
    }

    /// <summary>The model name, e.g. <c>tinkerflow/tiny-qwen3</c>.</summary>
    public string Name { get; }

    /// <summary>The Hugging Face <c>config.json</c> text (model_type, sizes, vocab_size, ...).</summary>
    public string ConfigJson { get; }

    /// <summary>The tokenizer built from <c>tokenizer.json</c> and <c>tokenizer_config.json</c>.</summary>
    public HfTokenizer Tokenizer { get; }

    /// <summary>The file names the model ships (e.g. for copying them next to saved weights).</summary>
    public IEnumerable<string> FileNames => _files.Keys.Order(StringComparer.Ordinal);

    /// <summary>Returns a copy of one file's bytes.</summary>
    /// <param name="fileName">A name from <see cref="FileNames"/>, e.g. <c>tokenizer.json</c>.</param>
    /// <returns>The file content.</returns>
    public byte[] ReadFile(string fileName) =>
        _files.TryGetValue(fileName, out byte[]? content)
            ? (byte[])content.Clone()
            : throw new FileNotFoundException($"Built-in model '{Name}' has no file '{fileName}'; it has: {string.Join(", ", FileNames)}.", fileName);
}
