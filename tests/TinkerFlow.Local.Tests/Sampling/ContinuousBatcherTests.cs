using TinkerFlow.Local.Lora;
using TinkerFlow.Local.Model;
using TinkerFlow.Local.Sampling;
using TinkerFlow.Types;
using TorchSharp;
using static TinkerFlow.Local.Tests.Sampling.SamplerFixture;

namespace TinkerFlow.Local.Tests.Sampling;

[Collection("Torch")]
public sealed class ContinuousBatcherTests
{
    private static readonly BatchLimits Roomy = new(MaxRows: 256, MaxKvBytes: 1L << 30);

    [Fact]
    public async Task Batcher_SeededRequestGivesSameTokensAloneAndAmong31Others()
    {
        using var model = TinyLm();
        using var adapterA = RandomAdapter(model, 1);
        using var adapterB = RandomAdapter(model, 2);
        var target = Request(model, adapterA, Prompt, 2, new SamplingParams { MaxTokens = 20, Seed = 77, Temperature = 1, TopP = 0.9 });

        SampleResponse alone;
        using (var batcher = new ContinuousBatcher(model, "alone", Roomy))
        {
            alone = await batcher.Enqueue(target());
        }

        // 31 others: three adapters (A, B, none), different prompts, settings, stop tokens, lengths and sample counts.
        var others = Enumerable.Range(0, 31).Select(i => Request(
            model,
            (i % 3) switch { 0 => adapterA, 1 => adapterB, _ => null },
            [.. Prompt.Skip(i % 5).Append(i % Vocab)],
            1 + (i % 3),
            new SamplingParams
            {
                MaxTokens = 4 + (i % 9) * 3,
                Seed = 1000 + i,
                Temperature = (i % 4) switch { 0 => 0, 1 => 0.7, _ => 1 },
                TopK = i % 5 == 0 ? 5 : -1,
                TopP = i % 7 == 0 ? 0.8 : 1,
                Stop = i % 6 == 0 ? StopCondition.FromTokenIds([i % Vocab]) : null,
            })).ToList();

        using var shared = new ContinuousBatcher(model, "shared", Roomy);
        var tasks = new List<Task<SampleResponse>>();
        for (int i = 0; i < others.Count; i++)
        {
            tasks.Add(shared.Enqueue(others[i]()));
            if (i == 15)
            {
                tasks.Add(shared.Enqueue(target()));                                           // the target arrives in the middle
            }
        }
        var results = await Task.WhenAll(tasks);
        var batched = results[16];

        Assert.True(shared.PeakRows >= 8, $"the requests should have shared the batch; peak rows {shared.PeakRows}");
        AssertSameSamples(alone, batched);

        // Every other request also matches its own run alone (multi-adapter rows get their own adapter's output).
        var sampler = new Sampler();
        for (int i = 0; i < others.Count; i++)
        {
            var job = others[i]();
            var reference = sampler.Sample(model, job.Adapter, job.Prompt, job.NumSamples, job.Parameters);
            AssertSameSamples(reference, results[i < 16 ? i : i + 1]);
        }
    }

    [Fact]
    public async Task Batcher_RequestArrivingMidDecodeJoinsAndFinishesFirst()
    {
        using var model = TinyLm(maxPositions: 512);
        using var batcher = new ContinuousBatcher(model, "join", Roomy);
        var longJob = Request(model, null, Prompt, 1, new SamplingParams { MaxTokens = 300, Seed = 3, Temperature = 1 });
        var shortJob = Request(model, null, [1, 2, 3], 2, new SamplingParams { MaxTokens = 3, Seed = 4, Temperature = 1 });

        var longTask = batcher.Enqueue(longJob());
        while (batcher.LastStepRows == 0)
        {
            await Task.Delay(1);
        }
        var shortTask = batcher.Enqueue(shortJob());
        // Which finished first, whenever the continuations run (a decode step of the tiny model takes well under a millisecond).
        var first = await Task.WhenAny(shortTask, longTask);
        var shortResult = await shortTask;

        Assert.True(first == shortTask, "the short request must not wait for the long one");
        Assert.Equal(3, batcher.PeakRows);
        var reference = new Sampler().Sample(model, null, [1, 2, 3], 2, shortJob().Parameters);
        AssertSameSamples(reference, shortResult);
        Assert.Equal(300, (await longTask).Sequences[0].Tokens.Count);
    }

    [Fact]
    public async Task Batcher_OverTheRowCapRequestsWaitInArrivalOrder()
    {
        using var model = TinyLm();
        using var batcher = new ContinuousBatcher(model, "capped", new BatchLimits(MaxRows: 2, MaxKvBytes: 1L << 30));
        var order = new List<int>();
        var tasks = Enumerable.Range(0, 5).Select(i =>
        {
            var job = Request(model, null, Prompt, 2, new SamplingParams { MaxTokens = 6, Seed = i, Temperature = 1 })();
            return batcher.Enqueue(job).ContinueWith(t =>
            {
                lock (order)
                {
                    order.Add(i);
                }
                return t.Result;
            }, TaskScheduler.Default);
        }).ToList();

        var results = await Task.WhenAll(tasks);

        Assert.Equal([0, 1, 2, 3, 4], order);
        Assert.Equal(2, batcher.PeakRows);
        Assert.All(results, r => Assert.All(r.Sequences, s => Assert.Equal(6, s.Tokens.Count)));
    }

    [Fact]
    public async Task Batcher_KvByteCapKeepsLaterRequestsWaitingUntilRoomFrees()
    {
        using var model = TinyLm();
        long perToken = SlotKvCache.BytesPerTokenOf(model.Config, torch.ScalarType.Float32);
        // Room for one row of prompt + 10 tokens, not two.
        using var batcher = new ContinuousBatcher(model, "bytes", new BatchLimits(MaxRows: 64, MaxKvBytes: perToken * (Prompt.Length + 10)));
        var parameters = new SamplingParams { MaxTokens = 10, Seed = 1, Temperature = 1 };

        var results = await Task.WhenAll(batcher.Enqueue(Request(model, null, Prompt, 1, parameters)()), batcher.Enqueue(Request(model, null, Prompt, 1, parameters)()));

        Assert.Equal(1, batcher.PeakRows);
        Assert.Equal(results[0].Sequences[0].Tokens, results[1].Sequences[0].Tokens);
    }

    [Fact]
    public async Task Batcher_CancelledRequestFailsWithoutDisturbingOthers()
    {
        using var model = TinyLm();
        using var batcher = new ContinuousBatcher(model, "cancel", Roomy);
        using var cancellation = new CancellationTokenSource();
        var parameters = new SamplingParams { MaxTokens = 40, Seed = 9, Temperature = 1 };
        var cancelled = batcher.Enqueue(SampleJob.Create(model.Config, null, Prompt, 1, parameters, false, 0, null, null, cancellation.Token));
        var kept = batcher.Enqueue(Request(model, null, Prompt, 1, parameters)());

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        var reference = new Sampler().Sample(model, null, Prompt, 1, parameters);
        AssertSameSamples(reference, await kept);
    }

    [Fact]
    public async Task Batcher_LongRequestHoldingMostRowsLetsShortOnesJoinAndFinishBesideIt()
    {
        using var model = TinyLm(maxPositions: 512);
        using var batcher = new ContinuousBatcher(model, "long", new BatchLimits(MaxRows: 4, MaxKvBytes: 1L << 30));
        var longTask = batcher.Enqueue(Request(model, null, Prompt, 3, new SamplingParams { MaxTokens = 300, Seed = 1, Temperature = 1 })());
        while (batcher.LastStepRows == 0)
        {
            await Task.Delay(1);
        }

        // One row is free: six short requests take turns in it while the long request holds the other three.
        var shorts = Enumerable.Range(0, 6)
            .Select(i => batcher.Enqueue(Request(model, null, [1, 2, 3], 1, new SamplingParams { MaxTokens = 5, Seed = 10 + i, Temperature = 1 })()))
            .ToList();
        var results = await Task.WhenAll(shorts);

        Assert.False(longTask.IsCompleted, "the short requests must not wait for the long one");
        Assert.Equal(4, batcher.PeakRows);
        Assert.All(results, r => Assert.Equal(5, Assert.Single(r.Sequences).Tokens.Count));
        Assert.Equal(300, (await longTask).Sequences[0].Tokens.Count);
    }

    [Fact]
    public async Task Batcher_ShortRequestOvertakesAWaitingBigOneOnlyWhenItEndsBeforeTheBigOneCanStart()
    {
        using var model = TinyLm(maxPositions: 512);
        using var batcher = new ContinuousBatcher(model, "backfill", new BatchLimits(MaxRows: 4, MaxKvBytes: 1L << 30));
        var order = new List<string>();
        Task<SampleResponse> Track(string name, int numSamples, int maxTokens, int seed) =>
            batcher.Enqueue(Request(model, null, Prompt, numSamples, new SamplingParams { MaxTokens = maxTokens, Seed = seed, Temperature = 1 })())
                .ContinueWith(
                    t =>
                    {
                        lock (order)
                        {
                            order.Add(name);
                        }
                        return t.Result;
                    },
                    TaskScheduler.Default);

        var running = Track("long", numSamples: 2, maxTokens: 150, seed: 1);
        while (batcher.LastStepRows == 0)
        {
            await Task.Delay(1);
        }

        // "big" needs all four rows, so it waits for "long" (two rows, ≤ 150 more steps). "short" fits beside "long" and
        // ends long before then, so it may pass "big"; "slow" would still run when "long" ends, so it may not.
        var big = Track("big", numSamples: 4, maxTokens: 5, seed: 2);
        var quick = Track("short", numSamples: 1, maxTokens: 5, seed: 3);
        var slow = Track("slow", numSamples: 1, maxTokens: 200, seed: 4);
        await Task.WhenAll(running, big, quick, slow);

        Assert.Equal(["short", "long", "big", "slow"], order);
        Assert.Equal(1, batcher.Backfilled);
        Assert.Equal(4, batcher.PeakRows);
    }

    [Fact]
    public void Batcher_WaitingQueueRefusesReservationsBeyondItsLimitButAlwaysTakesOneWhenEmpty()
    {
        using var model = TinyLm();
        using var batcher = new ContinuousBatcher(model, "queue", new BatchLimits(MaxRows: 2, MaxKvBytes: 1L << 30, MaxWaitingRows: 4));

        Assert.True(batcher.TryReserve(10));                                                  // an empty queue takes any request
        Assert.False(batcher.TryReserve(1));
        batcher.CancelReservation(10);
        Assert.True(batcher.TryReserve(3));
        Assert.True(batcher.TryReserve(1));
        Assert.False(batcher.TryReserve(1));
        Assert.Equal(4, batcher.WaitingRows);
    }

    private static Func<SampleJob> Request(CausalLm model, LoraAdapter? adapter, int[] prompt, int numSamples, SamplingParams parameters) =>
        () => SampleJob.Create(model.Config, adapter, prompt, numSamples, parameters, false, 0, null, null, CancellationToken.None);

    private static LoraAdapter RandomAdapter(CausalLm model, int seed)
    {
        var adapter = LoraAdapter.Create(model, new LoraAdapterOptions { Rank = 4, Seed = seed });
        using (torch.no_grad())
        {
            using var generator = new torch.Generator((ulong)(100 + seed), torch.CPU);
            foreach (var parameter in adapter.Parameters())
            {
                parameter.normal_(0, 0.1, generator);
            }
        }
        return adapter;
    }

    private static void AssertSameSamples(SampleResponse expected, SampleResponse actual)
    {
        Assert.Equal(expected.Sequences.Count, actual.Sequences.Count);
        for (int r = 0; r < expected.Sequences.Count; r++)
        {
            Assert.Equal(expected.Sequences[r].Tokens, actual.Sequences[r].Tokens);
            Assert.Equal(expected.Sequences[r].StopReason, actual.Sequences[r].StopReason);
            var e = expected.Sequences[r].Logprobs!;
            var a = actual.Sequences[r].Logprobs!;
            Assert.Equal(e.Count, a.Count);
            for (int i = 0; i < e.Count; i++)
            {
                Assert.True(Math.Abs(e[i] - a[i]) <= 1e-5, $"row {r} token {i}: logprob {a[i]} vs {e[i]} alone");
            }
        }
    }
}
