using TinkerFlow.Tests.Fakes;
using TinkerFlow.Types;

namespace TinkerFlow.Tests.Clients;

/// <summary>The linearised backward under TinkerFlow.Torch's ForwardBackwardCustomAsync (wire-protocol §10.5).</summary>
public sealed class CustomLossTests
{
    [Fact]
    public async Task LinearisedBackward_SendsForwardThenCrossEntropyWithNegatedGradientsAsWeights()
    {
        var backend = new FakeBackend();
        await using var service = new ServiceClient(backend);
        var client = await service.CreateLoraTrainingClientAsync("fake/base");
        var data = new List<Datum>
        {
            new()
            {
                ModelInput = ModelInput.FromInts([1, 2, 3]),
                LossFnInputs = new Dictionary<string, TensorData>
                {
                    ["target_tokens"] = TensorData.FromInt64([2, 3, 4], [3]),
                    ["weights"] = TensorData.FromFloat32([1f, 1f, 1f], [3]),
                    ["advantages"] = TensorData.FromFloat32([5f, 5f, 5f], [3]),
                },
            },
        };
        IReadOnlyList<TensorData>? seen = null;

        var future = await client.ForwardBackwardLinearisedAsync(WaitUntil.Completed, data, logprobs =>
        {
            seen = logprobs;
            // loss = Σ 2·lp  → ∂loss/∂lp = 2
            return new LogprobGradients(logprobs[0].ToFloat32Array().Sum() * 2, [[2f, 2f, 2f]], new Dictionary<string, double> { ["my_metric"] = -6 });
        });

        Assert.Equal([-1f, -1f, -1f], seen![0].ToFloat32Array());
        var forward = Assert.Single(backend.RequestsOf<ForwardRequest>());
        Assert.Equal(1, forward.SeqId);
        Assert.Equal(["target_tokens", "weights"], forward.ForwardInput.Data[0].LossFnInputs.Keys.Order());
        Assert.Equal([0f, 0f, 0f], forward.ForwardInput.Data[0].LossFnInputs["weights"].ToFloat32Array());
        var backward = Assert.Single(backend.RequestsOf<ForwardBackwardRequest>());
        Assert.Equal(2, backward.SeqId);
        Assert.Equal(LossFnType.CrossEntropy, backward.ForwardBackwardInput.LossFn);
        Assert.Equal(["target_tokens", "weights"], backward.ForwardBackwardInput.Data[0].LossFnInputs.Keys.Order());
        Assert.Equal([-2f, -2f, -2f], backward.ForwardBackwardInput.Data[0].LossFnInputs["weights"].ToFloat32Array());
        Assert.Equal(-6, future.Value.Metrics["my_metric"]);
        Assert.Equal(-6, future.Value.Metrics["custom_loss"]);
        Assert.True(future.Value.Metrics.ContainsKey("loss:sum"));
    }

    [Fact]
    public async Task LinearisedBackward_RejectsWrongNumberOfGradients()
    {
        var backend = new FakeBackend();
        await using var service = new ServiceClient(backend);
        var client = await service.CreateLoraTrainingClientAsync("fake/base");

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            client.ForwardBackwardLinearisedAsync(WaitUntil.Completed, TestData.Batch(2), _ => new LogprobGradients(0, [])));

        Assert.Contains("0 gradients for 2 datums", ex.Message);
        Assert.Empty(backend.RequestsOf<ForwardBackwardRequest>());
    }

    [Fact]
    public async Task LinearisedBackward_RejectsNonFiniteGradients()
    {
        var backend = new FakeBackend();
        await using var service = new ServiceClient(backend);
        var client = await service.CreateLoraTrainingClientAsync("fake/base");
        var data = TestData.Batch(1);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            client.ForwardBackwardLinearisedAsync(WaitUntil.Completed, data, lps => new LogprobGradients(0, [[.. Enumerable.Repeat(float.PositiveInfinity, lps[0].ElementCount)]])));

        Assert.Contains("at datum 0, position 0", ex.Message);
        Assert.Empty(backend.RequestsOf<ForwardBackwardRequest>());
    }
}
