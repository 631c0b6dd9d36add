using System.Reactive.Linq;
using TinkerFlow.Dataflow.Tests.Fakes;
using TinkerFlow.Types;

namespace TinkerFlow.Dataflow.Tests;

public sealed class TrainingPipelineTests
{
    private static IEnumerable<Datum> Source(int count, int tokens = 4, Action<int>? onRead = null)
    {
        for (var i = 0; i < count; i++)
        {
            onRead?.Invoke(i);
            yield return TestData.Datum(tokens, i);
        }
    }

    private static async Task<List<MetricRecord>> RunAsync(TrainingPipeline pipeline)
    {
        var records = new List<MetricRecord>();
        using var sub = pipeline.Metrics.Subscribe(records.Add);
        await pipeline.RunAsync();
        return records;
    }

    [Fact]
    public async Task TrainingPipeline_BatchesByItems_AndStopsAtMaxSteps()
    {
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        var pipeline = new TrainingPipeline(trainer, Source(1000), new TrainingPipelineOptions
        {
            Batching = new DatumBatcherOptions { MaxItems = 3 },
            MaxSteps = 4,
        });

        var records = await RunAsync(pipeline);

        Assert.Equal([0, 1, 2, 3], records.Select(r => r.Step));
        Assert.All(records, r => Assert.Equal(3, r.Metrics[MetricNames.TrainNumDatums]));
        Assert.Equal(4, fake.Count("optim"));
    }

    [Fact]
    public async Task TrainingPipeline_BatchesByTokens_AndTrainsTheLastPartialBatchWhenTheSourceEnds()
    {
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        var pipeline = new TrainingPipeline(trainer, Source(7, tokens: 4), new TrainingPipelineOptions
        {
            Batching = new DatumBatcherOptions { MaxItems = 128, MaxTokens = 10 }, // 2 datums of 4 tokens fit, a third would pass 10
        });

        var records = await RunAsync(pipeline);

        Assert.Equal([2.0, 2, 2, 1], records.Select(r => r.Metrics[MetricNames.TrainNumDatums]));
        Assert.Equal([8.0, 8, 8, 4], records.Select(r => r.Metrics[MetricNames.TrainNumTokens]));
    }

    [Fact]
    public async Task TrainingPipeline_BarriersSeeExactlyStepAppliedSteps()
    {
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        var seen = new List<(int Step, int OptimSubmitted, int InFlight, long Datums, bool Final)>();
        TrainingPipeline? pipeline = null;
        var barrier = new StepBarrier("probe every 2", s => s % 2 == 0, (b, _) =>
        {
            seen.Add((b.Step, fake.Count("optim"), pipeline!.StepsInFlight, b.DatumsTrained, b.IsFinal));
            return Task.FromResult<IReadOnlyDictionary<string, double>?>(new Dictionary<string, double> { ["probe/step"] = b.Step });
        });
        pipeline = new TrainingPipeline(trainer, Source(1000), new TrainingPipelineOptions
        {
            Batching = new DatumBatcherOptions { MaxItems = 2 },
            MaxSteps = 7,
            Training = new TrainingStageOptions { SubmitAhead = 3, FirstStep = 1, Barriers = [barrier] },
        });

        var records = await RunAsync(pipeline);

        // Resumed at step 1: barriers at steps 2, 4, 6 and after the last step (7). Each saw every earlier step applied
        // (its optim_step submitted and its results back), and none of its own step's requests.
        Assert.Equal([(2, 1, 0, 2L, false), (4, 3, 0, 6L, false), (6, 5, 0, 10L, false), (7, 6, 0, 12L, true)], seen);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7], records.Select(r => r.Step));
        Assert.Equal([2.0, 4, 6, 7], records.Where(r => r.Metrics.ContainsKey("probe/step")).Select(r => r.Metrics["probe/step"]));
        Assert.Single(records[^1].Metrics); // the final row holds only the end barriers' metrics
    }

    [Fact]
    public async Task TrainingPipeline_BackendFault_StopsTheSourceAndSurfacesFromRunAndMetrics()
    {
        var fake = new FakeBackend { Fail = (kind, index) => kind == "fb" && index == 2 ? new TinkerRequestException("boom", RequestErrorCategory.Server) : null };
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        var read = 0;
        var pipeline = new TrainingPipeline(trainer, Source(100_000, onRead: _ => Interlocked.Increment(ref read)), new TrainingPipelineOptions
        {
            Batching = new DatumBatcherOptions { MaxItems = 1, InputCapacity = 4 },
        });
        Exception? streamError = null;
        using var sub = pipeline.Metrics.Subscribe(_ => { }, ex => streamError = ex);

        var thrown = await Assert.ThrowsAsync<TinkerRequestException>(pipeline.RunAsync);

        Assert.Equal("boom", thrown.Message);
        Assert.Same(thrown, streamError);
        Assert.True(read < 20, $"the source kept being read after the fault: {read} datums");
    }

    [Fact]
    public async Task TrainingPipeline_SourceFault_SurfacesFromRun()
    {
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        var pipeline = new TrainingPipeline(trainer, Source(100, onRead: i => { if (i == 5) { throw new FormatException("bad row 5"); } }), new TrainingPipelineOptions
        {
            Batching = new DatumBatcherOptions { MaxItems = 2 },
        });

        var thrown = await Assert.ThrowsAsync<FormatException>(pipeline.RunAsync);

        Assert.Equal("bad row 5", thrown.Message);
    }

    [Fact]
    public async Task TrainingPipeline_BarrierFault_SurfacesFromRun()
    {
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        var barrier = new StepBarrier("failing eval", s => s == 2, (_, _) => throw new InvalidOperationException("eval failed"));
        var pipeline = new TrainingPipeline(trainer, Source(1000), new TrainingPipelineOptions
        {
            Batching = new DatumBatcherOptions { MaxItems = 1 },
            MaxSteps = 10,
            Training = new TrainingStageOptions { Barriers = [barrier] },
        });

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(pipeline.RunAsync);

        Assert.Equal("eval failed", thrown.Message);
        Assert.Equal(2, fake.Count("optim"));
    }

    [Fact]
    public async Task TrainingPipeline_Cancellation_EndsTheWholeGraphCancelled()
    {
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        using var cts = new CancellationTokenSource();
        var barrier = new StepBarrier("cancel at 3", s => s == 3, async (_, _) =>
        {
            await cts.CancelAsync();
            return null;
        });
        var pipeline = new TrainingPipeline(trainer, Source(1000), new TrainingPipelineOptions
        {
            Batching = new DatumBatcherOptions { MaxItems = 1 },
            Training = new TrainingStageOptions { Barriers = [barrier] },
            CancellationToken = cts.Token,
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(pipeline.RunAsync);

        Assert.Equal(3, fake.Count("optim"));
    }

    [Fact]
    public async Task TrainingPipeline_HeldResults_BoundHowFarTheSourceIsRead()
    {
        var fake = new FakeBackend { HoldResults = true };
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        var read = 0;
        var reachedBuffers = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pipeline = new TrainingPipeline(
            trainer,
            Source(10_000, onRead: i =>
            {
                if (Interlocked.Increment(ref read) == 7)
                {
                    reachedBuffers.TrySetResult();
                }
            }),
            new TrainingPipelineOptions
            {
                Batching = new DatumBatcherOptions { MaxItems = 1, InputCapacity = 1, OutputCapacity = 1 },
                MaxSteps = 50,
                Training = new TrainingStageOptions { SubmitAhead = 1, InputCapacity = 1, OutputCapacity = 1 },
            });
        var run = pipeline.RunAsync();

        // Two steps are in flight and their results are held: everything else waits in the bounded buffers.
        await fake.WhenAsync(() => fake.Count("optim") == 2);
        await reachedBuffers.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(2, fake.Count("fb"));
        Assert.InRange(Volatile.Read(ref read), 7, 8);

        fake.ReleaseAll();
        await run;
        Assert.Equal(50, fake.Count("optim"));
    }

    [Fact]
    public void TrainingPipeline_Describe_ListsBlocksBoundsAndBarriers()
    {
        var text = TrainingPipeline.Describe("numbers", new TrainingPipelineOptions
        {
            Batching = new DatumBatcherOptions { MaxItems = 32 },
            MaxSteps = 10,
            Training = new TrainingStageOptions { SubmitAhead = 2, Barriers = [new StepBarrier("eval every 5", s => s % 5 == 0, (_, _) => Task.FromResult<IReadOnlyDictionary<string, double>?>(null))] },
        });

        Assert.Contains("DatumBatcher    closes at 32 datums or 500,000 tokens", text);
        Assert.Contains("submit-ahead 2 (≤ 3 steps in flight)", text);
        Assert.Contains("barrier       eval every 5 (and after the last step)", text);
        Assert.Contains("steps 0 … 9", text);
    }
}
