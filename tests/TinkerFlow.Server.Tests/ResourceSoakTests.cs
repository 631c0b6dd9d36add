using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using TinkerFlow.Local.Limits;
using TinkerFlow.Local.Tests.Backend;
using Xunit.Abstractions;

namespace TinkerFlow.Server.Tests;

/// <summary>
/// A reduced-size soak: two users create and drop many models (some with absurd ranks) while many concurrent sample
/// requests, some far too large, hit the same server. Every request is served or refused with a user error, the
/// engine's reserved memory never passes its budget, and nothing stays reserved at the end.
/// </summary>
[Collection("Torch")]
public sealed class ResourceSoakTests(ITestOutputHelper output) : IDisposable
{
    private const long Budget = 48L << 20;
    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task Soak_ModelsChurnAndOversizedSamples_StayWithinTheBudgetAndAreServedOrRefused()
    {
        await using var host = await ServerHost.StartAsync(_home.Path, o =>
        {
            o.Limits = new ResourceLimits { MemoryBudgetBytes = Budget, MaxModelsPerUser = 3 };
            o.MaxConcurrentSamples = 2;
        });
        var engine = host.State.Engine;
        var watch = Stopwatch.StartNew();
        var rssStart = Environment.WorkingSet;
        long maxReserved = 0, maxRss = rssStart;
        using var stop = new CancellationTokenSource();
        var monitor = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                maxReserved = Math.Max(maxReserved, engine.ReservedMemoryBytes);
                maxRss = Math.Max(maxRss, Environment.WorkingSet);
                await Task.Delay(5);
            }
        });

        var outcomes = new ConcurrentDictionary<string, int>();
        void Count(string what) => outcomes.AddOrUpdate(what, 1, (_, n) => n + 1);

        async Task Churn(string key, int seed)
        {
            var random = new Random(seed);
            int[] ranks = [4, 16, 64, 128, 100_000, 65_536];
            for (var round = 0; round < 8; round++)
            {
                var session = await host.CreateSessionAsync(key);
                var models = new List<string>();
                for (var seq = 0; seq < 4; seq++)
                {
                    var rank = ranks[random.Next(ranks.Length)];
                    var reply = await host.PostAsync("api/v1/create_model", $$"""{"session_id":"{{session}}","model_seq_id":{{seq}},"base_model":"{{ServerHost.Model}}","lora_config":{"rank":{{rank}},"seed":1},"type":"create_model"}""", key);
                    if (reply.Status != HttpStatusCode.OK)
                    {
                        AssertUserRefusal(reply, rank > 128 ? "--max-lora-rank" : null);
                        Count($"create_model {(int)reply.Status}");
                        continue;
                    }

                    var result = await host.ResultAsync(reply.Json.GetProperty("request_id").GetString()!, key);
                    var modelId = result.GetProperty("model_id").GetString()!;
                    models.Add(modelId);
                    var fb = await host.CallAsync("api/v1/forward_backward", ServerHost.SimpleForwardBackward(modelId, 1), key);
                    Assert.True(fb.TryGetProperty("metrics", out _), fb.ToString());
                    Count("create_model 200");
                }

                foreach (var model in models)
                {
                    await host.CallAsync("api/v1/unload_model", $$"""{"model_id":"{{model}}","type":"unload_model"}""", key);
                }
            }
        }

        async Task Samples(string key, int seed)
        {
            var session = await host.CreateSessionAsync(key);
            var sampler = (await host.PostAsync("api/v1/create_sampling_session", $$"""{"session_id":"{{session}}","sampling_session_seq_id":0,"base_model":"{{ServerHost.Model}}","type":"create_sampling_session"}""", key))
                .Json.GetProperty("sampling_session_id").GetString()!;
            var random = new Random(seed);
            int[] counts = [1, 4, 16, 256, 1024];
            int[] lengths = [4, 16, 200, 1000];
            await Parallel.ForEachAsync(Enumerable.Range(0, 40), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            {
                int n, maxTokens;
                lock (random)
                {
                    (n, maxTokens) = (counts[random.Next(counts.Length)], lengths[random.Next(lengths.Length)]);
                }

                var reply = await host.PostAsync("api/v1/asample", $$"""{"num_samples":{{n}},"prompt":{"chunks":[{"tokens":[1,2,3],"type":"encoded_text"}]},"sampling_params":{"max_tokens":{{maxTokens}},"seed":{{i}}},"sampling_session_id":"{{sampler}}","seq_id":{{i}},"type":"sample"}""", key);
                if (reply.Status != HttpStatusCode.OK)
                {
                    AssertUserRefusal(reply, null);
                    Count($"asample {(int)reply.Status}");
                    return;
                }

                var result = await host.ResultAsync(reply.Json.GetProperty("request_id").GetString()!, key);
                if (result.TryGetProperty("error", out _))
                {
                    Assert.Equal("user", result.GetProperty("category").GetString());
                    Count("asample future user error");
                    return;
                }

                Assert.Equal(n, result.GetProperty("sequences").GetArrayLength());
                Count("asample 200");
            });
        }

        await Task.WhenAll(
            Churn(ServerHost.Alice, 1),
            Churn(ServerHost.Bob, 2),
            Samples(ServerHost.Alice, 3),
            Samples(ServerHost.Bob, 4));
        foreach (var session in engine.LoadedSessionIds.ToList())
        {
            engine.ReleaseSession(session);
        }

        await stop.CancelAsync();
        await monitor;

        output.WriteLine($"soak: {watch.Elapsed.TotalSeconds:0.0} s; outcomes {string.Join(", ", outcomes.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}: {kv.Value}"))}");
        output.WriteLine($"soak: max reserved {maxReserved >> 20} MiB of {Budget >> 20} MiB; RSS {rssStart >> 20} → max {maxRss >> 20} MiB");
        Assert.True(maxReserved <= Budget, $"reserved {maxReserved} bytes, budget {Budget}");
        Assert.Equal(0, engine.ReservedMemoryBytes);
        Assert.True(maxRss - rssStart < 1L << 30, $"RSS grew by {(maxRss - rssStart) >> 20} MiB");
        Assert.True(outcomes.GetValueOrDefault("create_model 200") > 0 && outcomes.GetValueOrDefault("asample 200") > 0, "nothing was served");
        Assert.True(outcomes.GetValueOrDefault("create_model 400") > 0 && outcomes.GetValueOrDefault("asample 400") > 0, "nothing was refused");
        Assert.Equal(HttpStatusCode.OK, (await host.GetAsync("api/v1/healthz")).Status);
    }

    private static void AssertUserRefusal(Reply reply, string? setting)
    {
        Assert.True(reply.Status is HttpStatusCode.BadRequest or HttpStatusCode.TooManyRequests, $"{(int)reply.Status} {reply.Text}");
        Assert.Equal("user", reply.Json.GetProperty("category").GetString());
        Assert.True(reply.Body.Length < 4096);
        if (setting is not null)
        {
            Assert.Contains(setting, reply.Error);
        }
    }
}
