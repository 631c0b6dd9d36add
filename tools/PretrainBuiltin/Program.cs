// Regenerates the shipped weights of the built-in model tinkerflow/tiny-qwen3:
//   dotnet run -c Release --project tools/PretrainBuiltin -- --out src/TinkerFlow.Local/BuiltinModels/tiny-qwen3 [--steps 800]
// Full-parameter training from the seeded initialisation on the deterministic synthetic corpus
// (src/TinkerFlow.Local/BuiltinModels/PretrainingCorpus.cs). About 1 s per step on 2 idle cores.
//
// Or write the tokenized corpus for the PyTorch trainer (tools/pretrain_builtin.py, which produced the shipped weights
// on a GPU in seconds):
//   dotnet run -c Release --project tools/PretrainBuiltin -- --corpus-out corpus.bin [--corpus-tokens 4000000]
using System.Diagnostics;
using System.Globalization;
using TinkerFlow.Local.BuiltinModels;

var output = "src/TinkerFlow.Local/BuiltinModels/tiny-qwen3";
var settings = new BuiltinPretraining.Settings();
string? corpusOut = null;
long corpusTokens = 4_000_000;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--out":
            output = args[++i];
            break;
        case "--corpus-out":
            corpusOut = args[++i];
            break;
        case "--corpus-tokens":
            corpusTokens = long.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--steps":
            settings = settings with { Steps = int.Parse(args[++i], CultureInfo.InvariantCulture) };
            break;
        default:
            Console.Error.WriteLine($"Unknown option {args[i]}. Usage: --out DIR [--steps N]");
            return 1;
    }
}

if (corpusOut is not null)
{
    // Little-endian uint16 token ids: the documents of PretrainingCorpus, each followed by <|endoftext|>.
    BuiltinModelCatalog.TryGet(BuiltinModelCatalog.TinyQwen3, out var assets);
    var tokenizer = assets!.Tokenizer;
    var eos = tokenizer.TokenToId("<|endoftext|>") ?? tokenizer.EosTokenId;
    using var file = new BinaryWriter(File.Create(corpusOut));
    long written = 0;
    foreach (var document in PretrainingCorpus.Documents(settings.CorpusSeed))
    {
        foreach (var token in tokenizer.Encode(document, parseSpecialTokens: false).Append(eos))
        {
            file.Write((ushort)token);
            written++;
        }

        if (written >= corpusTokens)
        {
            break;
        }
    }

    Console.WriteLine($"wrote {written} tokens to {corpusOut}");
    return 0;
}

var watch = Stopwatch.StartNew();
var (first, last) = BuiltinPretraining.Run(BuiltinModelCatalog.TinyQwen3, output, settings, (step, loss) =>
{
    if (step % 20 == 0)
    {
        Console.WriteLine($"step {step,5}  loss {loss:F4}  elapsed {watch.Elapsed:mm\\:ss}");
    }
});
Console.WriteLine($"done: loss {first:F3} → {last:F3} in {watch.Elapsed:mm\\:ss}; wrote {Path.Combine(output, "model.safetensors")}");
return 0;
