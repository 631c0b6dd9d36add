using TinkerFlow.Dataflow.Tests.Fakes;
using TinkerFlow.Types;

namespace TinkerFlow.Dataflow.Tests;

internal static class TestData
{
    /// <summary>A cross-entropy datum with <paramref name="tokens"/> input tokens, weights 1.</summary>
    public static Datum Datum(int tokens, int seed = 0) => new()
    {
        ModelInput = ModelInput.FromInts(Enumerable.Range(seed, tokens)),
        LossFnInputs = new Dictionary<string, TensorData>
        {
            ["target_tokens"] = TensorData.FromInt64(Enumerable.Range(seed + 1, tokens).ToArray()),
            ["weights"] = TensorData.FromFloat32(Enumerable.Repeat(1f, tokens).ToArray()),
        },
    };

    public static IReadOnlyList<Datum> Batch(int datums, int tokens = 4) => Enumerable.Range(0, datums).Select(i => Datum(tokens, i)).ToList();

    public static async Task<(ServiceClient Service, TrainingClient Trainer)> TrainerAsync(TinkerBackend backend)
    {
        var service = new ServiceClient(backend);
        var trainer = await service.CreateLoraTrainingClientAsync("fake/base", rank: 8);
        return (service, trainer);
    }
}
