using System.Collections.Concurrent;
using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;
using TinkerFlow.Dataflow.Tests.Fakes;

namespace TinkerFlow.Dataflow.Tests;

public sealed class RlPipelineTests
{
    private sealed record Rollout(int Item, int Version, string SamplerId);

    private sealed record Started(int Item, int Version, string SamplerId, TaskCompletionSource<Rollout> Done);

    private sealed class Harness
    {
        public required RlPipeline<int, Rollout> Pipeline { get; init; }

        public required Channel<Started> Started { get; init; }

        public required ConcurrentQueue<Started> StartLog { get; init; }

        public required List<RlStepResult<Rollout>> Results { get; init; }

        public required ActionBlock<RlStepResult<Rollout>> Sink { get; init; }
    }

    private static Harness Build(TrainingClient trainer, SamplingClient sampler0, RlPipelineOptions options)
    {
        var started = Channel.CreateUnbounded<Started>();
        var startLog = new ConcurrentQueue<Started>();
        var pipeline = new RlPipeline<int, Rollout>(
            trainer,
            sampler0,
            rollout: async (sampler, version, item, ct) =>
            {
                var s = new Started(item, version, sampler.SamplingSessionId, new TaskCompletionSource<Rollout>(TaskCreationOptions.RunContinuationsAsynchronously));
                startLog.Enqueue(s);
                started.Writer.TryWrite(s);
                return await s.Done.Task.WaitAsync(ct);
            },
            buildDatums: rollouts => rollouts.Select(r => TestData.Datum(2, r.Item)).ToList(),
            options);
        var results = new List<RlStepResult<Rollout>>();
        var sink = new ActionBlock<RlStepResult<Rollout>>(results.Add, new ExecutionDataflowBlockOptions { BoundedCapacity = 1 });
        pipeline.Output.LinkTo(sink, new DataflowLinkOptions { PropagateCompletion = true });
        return new Harness { Pipeline = pipeline, Started = started, StartLog = startLog, Results = results, Sink = sink };
    }

    private static Task ProduceAsync(RlPipeline<int, Rollout> pipeline, int count) => Task.Run(async () =>
    {
        for (var i = 0; i < count; i++)
        {
            if (!await pipeline.Input.SendAsync(i))
            {
                break;
            }
        }

        pipeline.Input.Complete();
    });

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 2)]
    [InlineData(1, 3)]
    [InlineData(2, 4)]
    [InlineData(3, 5)]
    [InlineData(2, 6)]
    public async Task RlPipeline_AdmissionNeverExceedsMaxStaleness(int maxStaleness, int seed)
    {
        const int perStep = 3;
        const int items = 20;
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        var sampler0 = await trainer.SaveWeightsAndGetSamplingClientAsync();
        var rng = new Random(seed);
        var h = Build(trainer, sampler0, new RlPipelineOptions
        {
            RolloutsPerStep = perStep,
            MaxStaleness = maxStaleness,
            MaxConcurrentRollouts = rng.Next(1, perStep * (maxStaleness + 1) + 1),
            Training = new TrainingStageOptions { SubmitAhead = rng.Next(0, 3) },
        });
        var producer = ProduceAsync(h.Pipeline, items);

        // Finish running rollouts in a seeded random order: every interleaving must keep the invariants.
        var running = new List<Started>();
        var completion = h.Pipeline.Completion;
        while (!completion.IsCompleted)
        {
            while (h.Started.Reader.TryRead(out var s))
            {
                running.Add(s);
            }

            if (running.Count == 0)
            {
                await Task.WhenAny(h.Started.Reader.WaitToReadAsync().AsTask(), completion).WaitAsync(TimeSpan.FromSeconds(30));
                continue;
            }

            var pick = running[rng.Next(running.Count)];
            running.Remove(pick);
            pick.Done.SetResult(new Rollout(pick.Item, pick.Version, pick.SamplerId));
            for (var y = rng.Next(0, 4); y > 0; y--)
            {
                await Task.Yield();
            }
        }

        await completion;
        await h.Sink.Completion;
        await producer;

        // No rollout discarded, re-queued or duplicated: each item started once and was trained once.
        Assert.Equal(Enumerable.Range(0, items), h.StartLog.Select(s => s.Item).Order());
        Assert.Equal(Enumerable.Range(0, items), h.Results.SelectMany(r => r.Rollouts).Select(r => r.Rollout.Item).Order());
        Assert.Equal((items + perStep - 1) / perStep, h.Results.Count);
        Assert.Equal(Enumerable.Range(0, h.Results.Count), h.Results.Select(r => r.Train.Step));

        foreach (var result in h.Results)
        {
            foreach (var r in result.Rollouts)
            {
                Assert.Equal(result.Train.Step, r.Step);
                Assert.InRange(r.Staleness, 0, maxStaleness);
                Assert.Equal(r.SamplerVersion, r.Rollout.Version);
                Assert.Equal($"sampler-{r.SamplerVersion}", r.Rollout.SamplerId); // the version names the snapshot it ran on
            }

            Assert.Equal(result.Rollouts.Select(r => r.SamplerVersion).Order(), result.Rollouts.Select(r => r.SamplerVersion));
            Assert.True(result.Metrics[MetricNames.RlStalenessMax] <= maxStaleness);
            Assert.Equal(result.Train.Step + 1, result.SamplerVersion);
        }

        // Oldest first: a later step never trains an older sampler version than an earlier step did.
        for (var s = 1; s < h.Results.Count; s++)
        {
            Assert.True(h.Results[s - 1].Rollouts.Max(r => r.SamplerVersion) <= h.Results[s].Rollouts.Min(r => r.SamplerVersion));
        }

        Assert.Equal(h.Results.Count, h.Pipeline.SamplerVersion);
    }

    [Fact]
    public async Task RlPipeline_SlowRollout_DelaysItsStepInsteadOfBeingDiscarded()
    {
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        var sampler0 = await trainer.SaveWeightsAndGetSamplingClientAsync();
        var h = Build(trainer, sampler0, new RlPipelineOptions { RolloutsPerStep = 2, MaxStaleness = 1 });
        var producer = ProduceAsync(h.Pipeline, 6);

        // Items 0..3 (steps 0 and 1) may start on version 0; finish all but the slow item 0.
        Started? slow = null;
        for (var done = 0; done < 3;)
        {
            var s = await h.Started.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            if (s.Item == 0)
            {
                slow = s;
                continue;
            }

            s.Done.SetResult(new Rollout(s.Item, s.Version, s.SamplerId));
            done++;
        }

        // Step 0 cannot train without item 0, so nothing was trained and no sampler newer than version 0 exists.
        Assert.NotNull(slow);
        Assert.Empty(h.Results);
        Assert.Equal(0, h.Pipeline.SamplerVersion);
        Assert.Equal(0, fake.Count("fb"));

        slow!.Done.SetResult(new Rollout(0, slow.Version, slow.SamplerId));
        await foreach (var s in h.Started.Reader.ReadAllAsync().WithCancellation(CancellationToken.None))
        {
            s.Done.SetResult(new Rollout(s.Item, s.Version, s.SamplerId));
            if (h.StartLog.Count == 6 && h.StartLog.All(x => x.Done.Task.IsCompleted))
            {
                break;
            }
        }

        await h.Pipeline.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        await h.Sink.Completion;
        await producer;
        Assert.Equal(3, h.Results.Count);
        var step0 = h.Results[0].Rollouts;
        Assert.Contains(step0, r => r.Rollout.Item == 0 && r.SamplerVersion == 0);
        Assert.All(h.Results[1].Rollouts, r => Assert.Equal(1, r.Staleness)); // started on version 0, one step ahead
        Assert.All(h.Results[2].Rollouts, r => Assert.True(r.SamplerVersion >= 1, "step 2's rollouts must start on version 1 or later"));
        Assert.Equal(6, h.Results.Sum(r => r.Rollouts.Count));
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    public async Task RlPipeline_QueuesSamplerSnapshotBetweenOptimAndNextForwardBackward(int minibatches, int maxStaleness)
    {
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        var sampler0 = await trainer.SaveWeightsAndGetSamplingClientAsync();
        var pipeline = new RlPipeline<int, int>(
            trainer,
            sampler0,
            (sampler, version, item, ct) => Task.FromResult(item),
            items => items.Select(i => TestData.Datum(3, i)).ToList(),
            new RlPipelineOptions { RolloutsPerStep = 4, MinibatchesPerStep = minibatches, MaxStaleness = maxStaleness });
        var results = new ConcurrentQueue<RlStepResult<int>>();
        var sink = new ActionBlock<RlStepResult<int>>(results.Enqueue, new ExecutionDataflowBlockOptions { BoundedCapacity = 2 });
        pipeline.Output.LinkTo(sink, new DataflowLinkOptions { PropagateCompletion = true });
        for (var i = 0; i < 12; i++)
        {
            Assert.True(await pipeline.Input.SendAsync(i));
        }

        pipeline.Input.Complete();
        await pipeline.Completion;
        await sink.Completion;

        string[] step = [.. Enumerable.Repeat("fb", minibatches), "optim", "save"];
        Assert.Equal(["save", .. step, .. step, .. step], fake.Log.ToArray());
        Assert.All(results, r => Assert.Equal(4, r.Rollouts.Count));
        Assert.All(results, r => Assert.Equal(minibatches, r.Train.ForwardBackward.Count));
    }

    [Fact]
    public async Task RlPipeline_RolloutFault_SurfacesAtCompletion()
    {
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        var sampler0 = await trainer.SaveWeightsAndGetSamplingClientAsync();
        var pipeline = new RlPipeline<int, int>(
            trainer,
            sampler0,
            (sampler, version, item, ct) => item == 5 ? throw new InvalidDataException("env crashed") : Task.FromResult(item),
            items => items.Select(i => TestData.Datum(3, i)).ToList(),
            new RlPipelineOptions { RolloutsPerStep = 2 });
        pipeline.Output.LinkTo(DataflowBlock.NullTarget<RlStepResult<int>>());
        Exception? metricsError = null;
        using var sub = pipeline.Metrics.Subscribe(_ => { }, e => metricsError = e);
        var sent = 0;
        while (sent < 1000 && await pipeline.Input.SendAsync(sent))
        {
            sent++;
        }

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => pipeline.Completion);
        Assert.Equal("env crashed", ex.Message);
        Assert.True(sent < 1000);
        Assert.IsType<InvalidDataException>(metricsError);
    }

    [Fact]
    public async Task RlPipeline_Cancellation_StopsRunningRollouts()
    {
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        var sampler0 = await trainer.SaveWeightsAndGetSamplingClientAsync();
        using var cts = new CancellationTokenSource();
        var h = Build(trainer, sampler0, new RlPipelineOptions { RolloutsPerStep = 2, CancellationToken = cts.Token });
        await h.Pipeline.Input.SendAsync(0);
        await h.Pipeline.Input.SendAsync(1);
        await h.Started.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => h.Pipeline.Completion);
        Assert.All(h.StartLog, s => Assert.False(s.Done.Task.IsCompletedSuccessfully));
        Assert.False(await h.Pipeline.Input.SendAsync(2));
        Assert.Equal(0, fake.Count("fb"));
    }
}
