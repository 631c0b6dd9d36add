using System.Collections.Concurrent;
using System.Text.Json;
using TinkerFlow.Types;

namespace TinkerFlow.Server.Dashboard;

/// <summary>
/// The server's per-run training metrics. A server has no recipe metrics, so it records what the engine observes:
/// each forward_backward's <c>loss:sum</c>, tokens and loss weights, and each optim_step's metrics. Every completed
/// optim_step appends one line to <c>&lt;home&gt;/runs/&lt;run&gt;/metrics.jsonl</c>, in the recipes' format:
/// <c>{"step","train_mean_nll"?,"train/loss_sum","train/loss_per_token","num_tokens","num_sequences",
/// "train/num_minibatches","optim/lr","optim/grad_norm",…,"time/step","throughput/tokens_per_s","progress/requests_in_flight"}</c>.
/// Steps continue from the file's last line after a restart.
/// </summary>
internal sealed class RunMetricsRecorder(Func<string, string> runDirectory, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, ModelStepTracker> _models = new(StringComparer.Ordinal);

    private int _writeFailures;

    /// <summary>Lines that could not be written (disk full, folder removed).</summary>
    public int WriteFailures => Volatile.Read(ref _writeFailures);

    /// <summary>The metrics file of a run.</summary>
    public string FileFor(string modelId) => Path.Combine(runDirectory(modelId), MetricsCatalog.FileName);

    /// <summary>Submits a forward_backward and, once it completes, adds its loss and size to the model's current step.</summary>
    public async Task<BackendOperation<ForwardBackwardOutput>> TrackForwardBackwardAsync(
        ForwardBackwardRequest request,
        Func<Task<BackendOperation<ForwardBackwardOutput>>> submit)
    {
        var operation = await submit().ConfigureAwait(false);
        var tracker = Tracker(request.ModelId);
        var batch = BatchTally.Of(request.ForwardBackwardInput);
        tracker.Submitted(time.GetTimestamp());
        _ = operation.Result.ContinueWith(
            done => tracker.ForwardBackwardDone(batch, done.IsCompletedSuccessfully ? done.Result.Metrics : null),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return operation;
    }

    /// <summary>Submits an optim_step and, once it completes, writes the step's metrics line.</summary>
    public async Task<BackendOperation<OptimStepResponse>> TrackOptimStepAsync(
        OptimStepRequest request,
        Func<Task<BackendOperation<OptimStepResponse>>> submit)
    {
        var operation = await submit().ConfigureAwait(false);
        var tracker = Tracker(request.ModelId);
        tracker.Submitted(time.GetTimestamp());
        _ = operation.Result.ContinueWith(
            done =>
            {
                var metrics = done.IsCompletedSuccessfully ? done.Result.Metrics ?? new Dictionary<string, double>() : null;
                var line = tracker.OptimStepDone(request.AdamParams.LearningRate, metrics, time.GetElapsedTime, time.GetTimestamp());
                if (line is not null)
                {
                    Append(request.ModelId, tracker, line);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return operation;
    }

    private ModelStepTracker Tracker(string modelId) =>
        _models.GetOrAdd(modelId, id => new ModelStepTracker(NextStep(FileFor(id))));

    private void Append(string modelId, ModelStepTracker tracker, string line)
    {
        lock (tracker.FileGate)
        {
            try
            {
                var file = FileFor(modelId);
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                File.AppendAllText(file, line + "\n");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
            {
                Interlocked.Increment(ref _writeFailures);
            }
        }
    }

    /// <summary>One past the <c>step</c> of the file's last line (0 for a new run).</summary>
    private static long NextStep(string file)
    {
        try
        {
            if (!File.Exists(file))
            {
                return 0;
            }

            var last = File.ReadLines(file).LastOrDefault(l => l.Trim().Length > 0);
            if (last is null)
            {
                return 0;
            }

            using var document = JsonDocument.Parse(last);
            return document.RootElement.TryGetProperty("step", out var step) && step.TryGetInt64(out var value) ? value + 1 : 0;
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
