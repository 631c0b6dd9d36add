using TinkerFlow.Types;

namespace TinkerFlow.Benchmarks.Engine;

/// <summary>Deterministic synthetic wire payloads: supervised (cross_entropy) datums of random tokens.</summary>
internal static class RequestFactory
{
    /// <summary>
    /// <paramref name="datums"/> datums of <paramref name="length"/> tokens each: <c>model_input</c> = tokens[0..N),
    /// <c>target_tokens</c> = tokens[1..N] (int64), <c>weights</c> = 1 (float32).
    /// </summary>
    public static ForwardBackwardInput CrossEntropyInput(int datums, int length, int vocabSize, int seed)
    {
        var random = new Random(seed);
        var data = new List<Datum>(datums);
        for (int d = 0; d < datums; d++)
        {
            var tokens = new int[length + 1];
            for (int i = 0; i < tokens.Length; i++)
            {
                tokens[i] = random.Next(vocabSize);
            }

            var targets = new long[length];
            var weights = new float[length];
            for (int i = 0; i < length; i++)
            {
                targets[i] = tokens[i + 1];
                weights[i] = 1f;
            }

            data.Add(new Datum
            {
                ModelInput = ModelInput.FromInts(tokens.AsSpan(0, length).ToArray()),
                LossFnInputs = new Dictionary<string, TensorData>
                {
                    ["target_tokens"] = TensorData.FromInt64(targets),
                    ["weights"] = TensorData.FromFloat32(weights),
                },
            });
        }

        return new ForwardBackwardInput { Data = data, LossFn = LossFnType.CrossEntropy };
    }

    /// <summary>A <c>forward_backward</c> request body around <see cref="CrossEntropyInput"/>.</summary>
    public static ForwardBackwardRequest ForwardBackward(int datums, int length, int vocabSize, int seed) => new()
    {
        ForwardBackwardInput = CrossEntropyInput(datums, length, vocabSize, seed),
        ModelId = "bench-model",
        SeqId = 1,
    };

    /// <summary>A random prompt of <paramref name="length"/> token ids in [0, vocabSize).</summary>
    public static int[] Prompt(int length, int vocabSize, int seed)
    {
        var random = new Random(seed);
        var prompt = new int[length];
        for (int i = 0; i < length; i++)
        {
            prompt[i] = random.Next(vocabSize);
        }

        return prompt;
    }
}
