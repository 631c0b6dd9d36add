// Regenerates the shipped weights of the built-in model tinkerflow/tiny-qwen3:
//   dotnet run -c Release --project tools/PretrainBuiltin -- --out src/TinkerFlow.Local/BuiltinModels/tiny-qwen3 [--steps 800]
// Full-parameter training from the seeded initialisation on the deterministic synthetic corpus
// (src/TinkerFlow.Local/BuiltinModels/PretrainingCorpus.cs). Takes ~10 minutes on 2 cores.
using System.Diagnostics;
using System.Globalization;
using TinkerFlow.Local.BuiltinModels;

var output = "src/TinkerFlow.Local/BuiltinModels/tiny-qwen3";
var settings = new BuiltinPretraining.Settings();
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--out":
            output = args[++i];
            break;
        case "--steps":
            settings = settings with { Steps = int.Parse(args[++i], CultureInfo.InvariantCulture) };
            break;
        default:
            Console.Error.WriteLine($"Unknown option {args[i]}. Usage: --out DIR [--steps N]");
            return 1;
    }
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
