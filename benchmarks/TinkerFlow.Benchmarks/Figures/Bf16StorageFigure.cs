using TinkerFlow.Benchmarks.Engine;
using TinkerFlow.Benchmarks.Quick;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Benchmarks.Figures;

/// <summary>
/// Whether the frozen base should be stored in bf16 and upcast per projection at compute time, measured on Qwen3-0.6B's
/// MLP shapes: a training-sized GEMM (2,048 tokens) and a decode pass (one token through 28 layers' gate/up/down
/// weights, larger than the caches). Each ratio is fp32-storage time ÷ bf16-storage time, so above 1 means bf16 storage
/// is faster.
/// </summary>
/// <remarks>
/// <c>bf16_upcast_train_speed</c> and <c>bf16_upcast_decode_speed</c> upcast the bf16 weight to fp32 and multiply in fp32
/// (results identical to fp32 storage for a bf16 checkpoint); <c>bf16_native_decode_speed</c> multiplies in bf16 (not
/// identical: bf16 activations), for reference. The engine keeps fp32 storage unless the upcast figures are above 1.
/// </remarks>
internal sealed class Bf16StorageFigure : IQuickFigure
{
    public string Name => "bf16_storage";

    public int Order => 900;

    public Task<IReadOnlyList<(string Name, double Value)>> MeasureAsync(QuickContext context)
    {
        int width = context.Smoke ? 128 : 1024, inner = context.Smoke ? 384 : 3072, layers = context.Smoke ? 2 : 28;
        int tokens = context.Smoke ? 64 : 2048, runs = context.Smoke ? 2 : 3;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var generator = new torch.Generator(77, CPU);

        var x = torch.randn([tokens, width], generator: generator);
        var w = torch.randn([inner, width], generator: generator) * 0.02;
        var wb = w.to(ScalarType.BFloat16);
        double trainFp32 = Best(runs, () => nn.functional.linear(x, w).Dispose());
        double trainUpcast = Best(runs, () =>
        {
            using var up = wb.to(ScalarType.Float32);
            nn.functional.linear(x, up).Dispose();
        });

        // Decode: one token through every layer's three MLP projections; the weights (fp32: layers × 3 × inner × width × 4 bytes) exceed the caches.
        var token = torch.randn([1, width], generator: generator);
        var tokenB = token.to(ScalarType.BFloat16);
        var weights = Enumerable.Range(0, 3 * layers).Select(_ => torch.randn([inner, width], generator: generator) * 0.02).ToArray();
        var weightsB = weights.Select(t => t.to(ScalarType.BFloat16)).ToArray();
        double decodeFp32 = Best(runs, () =>
        {
            foreach (var t in weights)
            {
                nn.functional.linear(token, t).Dispose();
            }
        });
        double decodeUpcast = Best(runs, () =>
        {
            foreach (var t in weightsB)
            {
                using var up = t.to(ScalarType.Float32);
                nn.functional.linear(token, up).Dispose();
            }
        });
        double decodeNative = Best(runs, () =>
        {
            foreach (var t in weightsB)
            {
                nn.functional.linear(tokenB, t).Dispose();
            }
        });

        context.Log($"train GEMM [{tokens}x{width}]·[{width}x{inner}]: fp32 {Stats.Seconds(trainFp32)}, bf16 upcast {Stats.Seconds(trainUpcast)}");
        context.Log($"decode pass over {weights.Length} [{inner}x{width}] weights ({weights.Length * (double)inner * width * 4 / 1e9:0.00} GB fp32): "
            + $"fp32 {Stats.Seconds(decodeFp32)}, bf16 upcast {Stats.Seconds(decodeUpcast)}, bf16 native {Stats.Seconds(decodeNative)}; "
            + $"bf16 storage halves the base's memory ({TorchSharp.torch.get_num_threads()} threads)");
        return Task.FromResult<IReadOnlyList<(string, double)>>(
        [
            ("bf16_upcast_train_speed", trainFp32 / trainUpcast),
            ("bf16_upcast_decode_speed", decodeFp32 / decodeUpcast),
            ("bf16_native_decode_speed", decodeFp32 / decodeNative),
        ]);
    }

    private static double Best(int runs, Action action)
    {
        action();
        double best = double.MaxValue;
        for (int i = 0; i < runs; i++)
        {
            best = Math.Min(best, Stats.Time(action));
        }

        return best;
    }
}
