using TinkerFlow.Types;

namespace TinkerFlow.Server.Tests.Faults;

/// <summary>
/// The training run the fault tests repeat: the built-in tiny model, LoRA rank 4, a fixed seed, a different small
/// cross-entropy batch at every step, and a probe datum whose forward logprobs stand for the final weights.
/// </summary>
internal static class FaultTraining
{
    public const int Rank = 4;
    public const int Seed = 11;
    public const int Steps = 20;

    public static readonly AdamParams Adam = new() { LearningRate = 2e-2 };

    /// <summary>Client options for the in-process server: fast retries, a short per-call timeout (default 1 s).</summary>
    public static TinkerClientOptions Options(Uri baseUrl, HttpMessageHandler? handler, TimeSpan? networkTimeout = null)
    {
        var options = new TinkerClientOptions
        {
            BaseUrl = baseUrl,
            ApiKey = ServerHost.Alice,
            HttpMessageHandler = handler,

            // Short enough that DelayPastTimeout costs little; a spuriously slow answer on a loaded machine only adds a
            // (harmless) replay.
            NetworkTimeout = networkTimeout ?? TimeSpan.FromSeconds(1),
        };
        options.Retry.MaxRetries = 10;
        options.Retry.Delay = TimeSpan.FromMilliseconds(10);
        options.Retry.MaxDelay = TimeSpan.FromMilliseconds(50);
        options.Retry.TotalTimeout = TimeSpan.FromSeconds(60);
        return options;
    }

    public static Task<TrainingClient> CreateAsync(ServiceClient service) =>
        service.CreateLoraTrainingClientAsync(ServerHost.Model, rank: Rank, seed: Seed);

    /// <summary>Steps <paramref name="from"/> … <paramref name="to"/> − 1: forward_backward and optim_step submitted back to back.</summary>
    /// <returns>The <c>loss:sum</c> of each step.</returns>
    public static async Task<List<double>> TrainAsync(TrainingClient client, int from, int to)
    {
        var losses = new List<double>();
        for (var step = from; step < to; step++)
        {
            var fb = await client.ForwardBackwardAsync(WaitUntil.Started, Batch(step), LossFnType.CrossEntropy);
            var opt = await client.OptimStepAsync(WaitUntil.Started, Adam);
            losses.Add((await fb).Metrics["loss:sum"]);
            await opt;
        }

        return losses;
    }

    /// <summary>The forward logprobs of the probe datum (a function of the current weights).</summary>
    public static async Task<float[]> ProbeAsync(TrainingClient client)
    {
        var output = await client.ForwardAsync(WaitUntil.Completed, [Probe()], LossFnType.CrossEntropy);
        return output.Value.LossFnOutputs[0]["logprobs"].ToFloat32Array();
    }

    /// <summary>Two datums whose tokens depend on the step, so a replayed or reordered step changes the result.</summary>
    public static IReadOnlyList<Datum> Batch(int step) =>
    [
        TokenDatum(Enumerable.Range(0, 12).Select(i => 20 + ((step * 7 + i * 3) % 60))),
        TokenDatum(Enumerable.Range(0, 9).Select(i => 90 + ((step * 5 + i * i) % 70))),
    ];

    public static Datum Probe() => TokenDatum(Enumerable.Range(0, 16).Select(i => 30 + ((i * 11) % 50)));

    /// <summary>Asserts two probe outputs agree to 1e-6 (in practice they are bit-identical).</summary>
    public static void AssertSameWeights(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= 1e-6, $"probe logprobs differ by up to {worst:E3}: some optim_step or forward_backward ran a different number of times");
    }

    private static Datum TokenDatum(IEnumerable<int> tokens)
    {
        var ids = tokens.ToArray();
        return Datum.Create(
            ModelInput.FromInts(ids[..^1]),
            new Dictionary<string, object>
            {
                ["target_tokens"] = ids[1..],
                ["weights"] = Enumerable.Repeat(1f, ids.Length - 1).ToArray(),
            });
    }
}
