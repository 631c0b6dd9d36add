using TinkerFlow.Benchmarks.Engine;
using TinkerFlow.Benchmarks.Quick;
using TinkerFlow.Local.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Benchmarks.Figures;

// TEMPORARY diagnostic (deleted before hand-off).
internal sealed class DecodeProbeFigure : IQuickFigure
{
    public string Name => "decode_probe";

    public int Order => 1000;

    public Task<IReadOnlyList<(string Name, double Value)>> MeasureAsync(QuickContext context)
    {
        int original = torch.get_num_threads();
        foreach (int threads in new[] { 1, 2 })
        {
            torch.set_num_threads(threads);
            foreach (var sizes in new[] { BenchSizes.Full, BenchSizes.Smoke })
            {
                using var engine = BenchEngine.Create(sizes);
                var model = engine.Model;
                var prompt = RequestFactory.Prompt(32, sizes.Model.VocabSize, 11);
                DecodeWorkload.DecodeWithCache(model, prompt, 16);
                var steps = new List<double>();
                var mv = new List<double>();
                using (var noGrad = torch.no_grad())
                using (var cache = model.CreateCache(1))
                {
                    using (var s0 = torch.NewDisposeScope())
                    {
                        model.forward(torch.tensor(prompt.Select(p => (long)p).ToArray(), [1, 32], ScalarType.Int64), null, cache, null);
                    }

                    for (int i = 0; i < 48; i++)
                    {
                        steps.Add(Stats.Time(() =>
                        {
                            using var s = torch.NewDisposeScope();
                            model.forward(torch.tensor(new long[] { 5 }, [1, 1], ScalarType.Int64), null, cache, null).argmax(-1).item<long>();
                        }));
                    }

                    // Pure matrix-vector work: every projection applied to one token.
                    var x = torch.randn(1, 1, sizes.Model.HiddenSize);
                    var xi = torch.randn(1, 1, sizes.Model.IntermediateSize);
                    var linears = model.LoraTargets.Select(t => t.Module).ToList();
                    for (int i = 0; i < 20; i++)
                    {
                        mv.Add(Stats.Time(() =>
                        {
                            using var s = torch.NewDisposeScope();
                            foreach (var l in linears)
                            {
                                l.forward(l.InFeatures == sizes.Model.HiddenSize ? x : (l.InFeatures == sizes.Model.IntermediateSize ? xi : torch.randn(1, 1, l.InFeatures)));
                            }
                        }));
                    }
                }

                // Op overhead floor: a trivial op.
                var t = torch.ones(4);
                var tiny = new List<double>();
                for (int i = 0; i < 2000; i++)
                {
                    tiny.Add(Stats.Time(() => { using var s = torch.NewDisposeScope(); _ = t + 1; }));
                }

                context.Log($"threads {threads}, d{sizes.Model.HiddenSize}: cached step median {Stats.Median(steps) * 1000:0.00} ms (min {steps.Min() * 1000:0.00}); "
                    + $"all projections on 1 token median {Stats.Median(mv) * 1000:0.00} ms (min {mv.Min() * 1000:0.00}); trivial op {Stats.Median(tiny) * 1e6:0.0} us");
            }
        }

        torch.set_num_threads(original);
        return Task.FromResult<IReadOnlyList<(string, double)>>([]);
    }
}
