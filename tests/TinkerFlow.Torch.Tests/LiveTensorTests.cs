using TinkerFlow.Types;
using TorchSharp;

namespace TinkerFlow.Torch.Tests;

[Collection("Torch")]
public sealed class LiveTensorTests
{
    [Fact]
    public async Task ThousandCustomLossCalls_OnTheEmbeddedEngine_KeepTheLiveTensorCountFlat()
    {
        await using var backend = Backend.Embedded();
        var client = await backend.Service.CreateLoraTrainingClientAsync(Backend.Model, rank: 4, seed: 1);
        var data = new List<Datum> { TestData.Sequence(new Random(1), 6), TestData.Sequence(new Random(2), 4) };
        var made = new List<torch.Tensor>();                       // this call's tensors, held so that only disposal (not the GC) can free them
        TorchLossFunction loss = (d, lps) =>
        {
            var weights = lps.Select((_, i) => d[i].LossFnInputs["weights"].ToTorch()).ToList();
            var total = torch.stack(lps.Select((lp, i) => (lp * weights[i]).sum())).sum();
            made.AddRange([.. lps, .. weights, total]);
            return new TorchLossResult(-total, new Dictionary<string, double> { ["mean_logprob"] = (total / 10).item<float>() });
        };

        for (var i = 0; i < 20; i++)
        {
            await client.ForwardBackwardCustomAsync(WaitUntil.Completed, data, loss);
        }

        made.Clear();
        var before = torch.Tensor.TotalCount;
        var excess = new List<long>();
        var undisposed = 0;
        for (var i = 1; i <= 1000; i++)
        {
            await client.ForwardBackwardCustomAsync(WaitUntil.Completed, data, loss);
            undisposed += made.Count(t => !t.IsInvalid);
            made.Clear();
            if (i % 10 == 0)
            {
                excess.Add(torch.Tensor.TotalCount - before);
            }
        }

        Assert.Equal(0, undisposed);
        Assert.True(excess.Max() <= 4, $"live tensors above the {before} before the calls, every 10 calls: {string.Join(" ", excess)}");
    }
}
