using TinkerFlow.Cookbook.Checkpoints;
using TinkerFlow.Cookbook.Data;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Supervised;
using TinkerFlow.Cookbook.Tests.Fakes;

namespace TinkerFlow.Cookbook.Tests.Checkpoints;

public class ResumeTests
{
    private const int Epochs = 3;

    /// <summary>A flat SFT-style loop: resume from checkpoints.jsonl, save at the top of each step, draw from the loop RNG.</summary>
    private static async Task<List<string>> RunAsync(string logPath, int crashAtStep = int.MaxValue)
    {
        var renderer = new Qwen3Renderer(FakeTokenizer.Qwen3());
        IReadOnlyList<IReadOnlyList<Message>> rows = [.. Enumerable.Range(0, 10).Select(i => (IReadOnlyList<Message>)[Message.User($"q{i}"), Message.Assistant($"a{i}")])];
        var dataset = new ConversationDataset(rows, batchSize: 3, m => DatumBuilder.ConversationToDatum(renderer, m));
        var manager = new CheckpointManager(new FakeTrainingClient(), logPath, new CheckpointOptions { SaveEvery = 2 });

        var state = CheckpointLog.GetLastCheckpoint(logPath)?.LoopState ?? LoopState.Start with { RngSeed = 5, RngState = 5 };
        var rng = SeededRandom.FromState(state.RngSeed!.Value, state.RngState!.Value);
        var trained = new List<string>();
        while (state.Epoch < Epochs && state.Step < crashAtStep)
        {
            await manager.MaybeSaveAsync(state);
            dataset.SetEpoch(state.Epoch);
            var batch = dataset.GetBatch(state.Batch);
            var names = dataset.GetConversations(state.Batch).Select(c => c[0].Content);
            trained.Add($"step {state.Step} epoch {state.Epoch}: {string.Join(",", names)} draw {rng.NextInt(1000)}");
            state = state.Advance(dataset.Count, tokens: batch.Sum(d => d.ModelInput.Length)) with { RngState = rng.State };
        }

        if (state.Epoch >= Epochs)
        {
            await manager.SaveFinalAsync(state);
        }

        return trained;
    }

    [Fact]
    public async Task ResumedRun_ContinuesWithSameDataOrderAndRandomStream()
    {
        using var fullLog = new TempLogDirectory();
        using var crashLog = new TempLogDirectory();

        var full = await RunAsync(fullLog.Path);
        var beforeCrash = await RunAsync(crashLog.Path, crashAtStep: 5);
        var resumedFrom = CheckpointLog.GetLastCheckpoint(crashLog.Path)!;
        var afterResume = await RunAsync(crashLog.Path);

        Assert.Equal(Epochs * 3, full.Count);
        Assert.Equal(full[..5], beforeCrash);
        Assert.Equal((4, 1, 1), (resumedFrom.Step, resumedFrom.Epoch, resumedFrom.Batch));
        Assert.Equal(full[4..], afterResume);
        Assert.Equal(
            CheckpointLog.ReadRecords(fullLog.Path).Select(r => (r.Name, r.Epoch, r.Batch, r.Step, r.RngState, r.ElapsedTokens)),
            CheckpointLog.ReadRecords(crashLog.Path).Select(r => (r.Name, r.Epoch, r.Batch, r.Step, r.RngState, r.ElapsedTokens)).Distinct());
    }
}
