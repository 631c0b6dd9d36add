using TinkerFlow.Types;

namespace TinkerFlow.Tests.Clients;

internal static class TestData
{
    public static Datum Datum(int tokens, int firstToken = 1) => new()
    {
        ModelInput = ModelInput.FromInts(Enumerable.Range(firstToken, tokens)),
        LossFnInputs = new Dictionary<string, TensorData>
        {
            ["target_tokens"] = TensorData.FromInt64(Enumerable.Range(firstToken + 1, tokens).Select(i => (long)i).ToArray(), [tokens]),
            ["weights"] = TensorData.FromFloat32(Enumerable.Repeat(1f, tokens).ToArray(), [tokens]),
        },
    };

    public static List<Datum> Batch(int count, int tokens = 4) => Enumerable.Range(0, count).Select(i => Datum(tokens, i + 1)).ToList();
}
