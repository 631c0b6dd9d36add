using TinkerFlow.Cookbook.Rl;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Tests.Rl;

internal static class RlTestData
{
    /// <summary>A datum of 3 positions with the given mask, sampler logprobs and advantages.</summary>
    public static RlDatum Datum(float[] mask, float[] q, float[] advantages) => new(
        new Datum
        {
            ModelInput = ModelInput.FromInts([1, 2, 3]),
            LossFnInputs = new Dictionary<string, TensorData>
            {
                ["target_tokens"] = TensorData.FromInt64([2L, 3, 4]),
                ["logprobs"] = TensorData.FromFloat32(q),
                ["advantages"] = TensorData.FromFloat32(advantages),
            },
        },
        mask);

    public static TokensWithLogprobs Action(params int[] tokens) => new(tokens, [.. tokens.Select(t => -t / 100.0)]);
}
