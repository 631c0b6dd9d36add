using System.Threading.Tasks.Dataflow;
using TinkerFlow.Dataflow.Tests.Fakes;

namespace TinkerFlow.Dataflow.Tests;

public sealed class DatumBatcherTests
{
    private static async Task<List<IReadOnlyList<Types.Datum>>> RunAsync(DatumBatcherOptions options, IEnumerable<Types.Datum> data)
    {
        var batcher = DatumBatcher.Build(options);
        var batches = new List<IReadOnlyList<Types.Datum>>();
        var sink = new ActionBlock<IReadOnlyList<Types.Datum>>(batches.Add, new ExecutionDataflowBlockOptions { BoundedCapacity = 1 });
        batcher.LinkTo(sink, new DataflowLinkOptions { PropagateCompletion = true });
        foreach (var d in data)
        {
            Assert.True(await batcher.SendAsync(d));
        }

        batcher.Complete();
        await sink.Completion;
        return batches;
    }

    [Fact]
    public void DatumBatcherOptions_DefaultsMatchTheIssue()
    {
        var options = new DatumBatcherOptions();
        Assert.Equal(128, options.MaxItems);
        Assert.Equal(500_000, options.MaxTokens);
    }

    [Fact]
    public async Task DatumBatcher_ClosesAtMaxItemsAndFlushesTheRemainder()
    {
        var batches = await RunAsync(new DatumBatcherOptions { MaxItems = 2 }, Enumerable.Range(0, 5).Select(i => TestData.Datum(3, i)));
        Assert.Equal([2, 2, 1], batches.Select(b => b.Count));
        Assert.Equal(Enumerable.Range(0, 5), batches.SelectMany(b => b).Select(d => d.ModelInput.ToInts()[0]));
    }

    [Fact]
    public async Task DatumBatcher_ClosesBeforeExceedingMaxTokens()
    {
        int[] lengths = [3, 3, 3, 10, 1, 6];
        var batches = await RunAsync(new DatumBatcherOptions { MaxTokens = 7 }, lengths.Select(n => TestData.Datum(n)));
        // 3+3 (a third 3 would make 9 > 7) | 3 | 10 alone (longer than the limit) | 1+6 (= 7, closes at the limit)
        Assert.Equal([[3, 3], [3], [10], [1, 6]], batches.Select(b => b.Select(d => d.ModelInput.Length).ToArray()));
    }

    [Fact]
    public async Task DatumBatcher_Fault_SurfacesAtCompletion()
    {
        var batcher = DatumBatcher.Build();
        batcher.Fault(new InvalidOperationException("upstream failed"));
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => batcher.Completion);
        Assert.Equal("upstream failed", ex.Message);
    }

    [Fact]
    public async Task DatumBatcher_Cancellation_CancelsTheBlock()
    {
        using var cts = new CancellationTokenSource();
        var batcher = DatumBatcher.Build(new DatumBatcherOptions { CancellationToken = cts.Token });
        await batcher.SendAsync(TestData.Datum(2));
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => batcher.Completion);
        Assert.False(await batcher.SendAsync(TestData.Datum(2)));
    }

    [Fact]
    public async Task DatumBatcher_SlowTrainer_BoundsHowManyDatumsAreRead()
    {
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        fake.HoldResults = true;
        var options = new DatumBatcherOptions { MaxItems = 2, InputCapacity = 2, OutputCapacity = 1 };
        var stageOptions = new TrainingStageOptions { SubmitAhead = 0, InputCapacity = 1 };
        var batcher = DatumBatcher.Build(options);
        var stage = new TrainingStage(trainer, stageOptions);
        batcher.LinkTo(stage.Input, new DataflowLinkOptions { PropagateCompletion = true });
        var trained = 0;
        var sink = new ActionBlock<TrainStepResult>(r => trained += r.Data.Count(), new ExecutionDataflowBlockOptions { BoundedCapacity = 1 });
        stage.Output.LinkTo(sink, new DataflowLinkOptions { PropagateCompletion = true });

        var accepted = 0;
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                Assert.True(await batcher.SendAsync(TestData.Datum(2, i)));
                Interlocked.Increment(ref accepted);
            }

            batcher.Complete();
        });

        // While the trainer holds step 0, everything upstream fills to its bounds and the producer waits.
        await fake.WhenAsync(() => fake.Count("optim") == 1);
        // Upper bound from the capacities: step in flight (2) + stage input (1 batch = 2) + batcher output (1 batch = 2)
        // + batch being assembled (1) + batcher input (2) + one item being handed over.
        const int bound = 2 + 2 + 2 + 1 + 2 + 2;
        Assert.InRange(Volatile.Read(ref accepted), 2, bound);
        Assert.False(producer.IsCompleted);

        fake.ReleaseAll();
        await producer;
        await stage.Completion;
        await sink.Completion;
        Assert.Equal(100, trained);
    }
}
