using TinkerFlow.Tests.Fakes;
using TinkerFlow.Types;

namespace TinkerFlow.Tests.Clients;

public sealed class CustomLossTests
{
    [Fact]
    public async Task ForwardBackwardCustom_SendsForwardThenCrossEntropyWithNegatedGradientsAsWeights()
    {
        var backend = new FakeBackend();
        await using var service = new ServiceClient(backend);
        var client = await service.CreateLoraTrainingClientAsync("fake/base");
        var data = new List<Datum>
        {
            new()
            {
                ModelInput = ModelInput.FromInts([1, 2, 3]),
                LossFnInputs = new Dictionary<string, TensorData> { ["target_tokens"] = TensorData.FromInt64([2, 3, 4], [3]) },
            },
        };
        IReadOnlyList<float[]>? seen = null;

        var future = await client.ForwardBackwardCustomAsync(WaitUntil.Completed, data, (d, logprobs) =>
        {
            seen = logprobs;
            // loss = Σ 2·lp  → ∂loss/∂lp = 2
            return new CustomLossResult(logprobs[0].Sum() * 2, [logprobs[0].Select(_ => 2f).ToArray()], new Dictionary<string, double> { ["my_loss"] = -6 });
        });

        Assert.Equal([-1f, -1f, -1f], seen![0]);
        var forward = Assert.Single(backend.RequestsOf<ForwardRequest>());
        Assert.Equal(1, forward.SeqId);
        Assert.Equal([0f, 0f, 0f], forward.ForwardInput.Data[0].LossFnInputs["weights"].ToFloat32Array());
        var backward = Assert.Single(backend.RequestsOf<ForwardBackwardRequest>());
        Assert.Equal(2, backward.SeqId);
        Assert.Equal(LossFnType.CrossEntropy, backward.ForwardBackwardInput.LossFn);
        Assert.Equal([-2f, -2f, -2f], backward.ForwardBackwardInput.Data[0].LossFnInputs["weights"].ToFloat32Array());
        Assert.Equal(-6, future.Value.Metrics["my_loss"]);
        Assert.True(future.Value.Metrics.ContainsKey("loss:sum"));
    }

    [Fact]
    public async Task ForwardBackwardCustom_RejectsInputsOtherThanTargetsAndWeights()
    {
        var backend = new FakeBackend();
        await using var service = new ServiceClient(backend);
        var client = await service.CreateLoraTrainingClientAsync("fake/base");
        var data = new List<Datum>
        {
            new()
            {
                ModelInput = ModelInput.FromInts([1, 2]),
                LossFnInputs = new Dictionary<string, TensorData>
                {
                    ["target_tokens"] = TensorData.FromInt64([2, 3], [2]),
                    ["advantages"] = TensorData.FromFloat32([1f, 1f], [2]),
                },
            },
        };

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => client.ForwardBackwardCustomAsync(WaitUntil.Completed, data, (_, lp) => new CustomLossResult(0, lp)));

        Assert.Contains("advantages", ex.Message);
        Assert.Empty(backend.RequestsOf<ForwardRequest>());
    }

    [Fact]
    public async Task ForwardBackwardCustom_RejectsWrongNumberOfGradients()
    {
        var backend = new FakeBackend();
        await using var service = new ServiceClient(backend);
        var client = await service.CreateLoraTrainingClientAsync("fake/base");

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            client.ForwardBackwardCustomAsync(WaitUntil.Completed, TestData.Batch(2), (_, _) => new CustomLossResult(0, [])));

        Assert.Contains("0 gradients for 2 datums", ex.Message);
    }
}
