using System.Threading.Tasks.Dataflow;
using TinkerFlow.Dataflow.Internal;
using TinkerFlow.Types;

namespace TinkerFlow.Dataflow;

/// <summary>
/// Groups datums into training batches that close at a maximum datum count or a maximum token count, whichever comes
/// first (<see cref="DatumBatcherOptions"/>).
/// </summary>
/// <example>
/// <code>
/// var batcher = DatumBatcher.Build(new DatumBatcherOptions { MaxItems = 64 });
/// batcher.LinkTo(stage.Input, new DataflowLinkOptions { PropagateCompletion = true });
/// foreach (var datum in data) { if (!await batcher.SendAsync(datum)) break; }
/// batcher.Complete();
/// await stage.Completion;
/// </code>
/// </example>
public static class DatumBatcher
{
    /// <summary>Builds a bounded batching block. Completing it emits the last, partial batch; nothing is dropped.</summary>
    /// <param name="options">Batch limits and capacities; null for the defaults (128 datums, 500,000 tokens).</param>
    /// <returns>A block that takes datums and emits batches in arrival order. A fault surfaces at its <c>Completion</c>.</returns>
    public static IPropagatorBlock<Datum, IReadOnlyList<Datum>> Build(DatumBatcherOptions? options = null)
    {
        options ??= new DatumBatcherOptions();
        options.Validate();
        var output = new BufferBlock<IReadOnlyList<Datum>>(new DataflowBlockOptions
        {
            BoundedCapacity = options.OutputCapacity,
            CancellationToken = options.CancellationToken,
        });
        var current = new List<Datum>();
        var tokens = 0L;

        async Task EmitAsync()
        {
            if (current.Count == 0)
            {
                return;
            }

            var batch = current.ToArray();
            current.Clear();
            tokens = 0;
            if (!await output.SendAsync(batch, options.CancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException("The batcher's output declined a batch (it was faulted or completed).");
            }
        }

        var input = new ActionBlock<Datum>(
            async datum =>
            {
                ArgumentNullException.ThrowIfNull(datum);
                var length = CountTokens(datum);
                if (current.Count > 0 && tokens + length > options.MaxTokens)
                {
                    await EmitAsync().ConfigureAwait(false);
                }

                current.Add(datum);
                tokens += length;
                if (current.Count >= options.MaxItems || tokens >= options.MaxTokens)
                {
                    await EmitAsync().ConfigureAwait(false);
                }
            },
            new ExecutionDataflowBlockOptions
            {
                BoundedCapacity = options.InputCapacity,
                MaxDegreeOfParallelism = 1,
                CancellationToken = options.CancellationToken,
            });

        _ = CompletionLink.Propagate(input.Completion, output, EmitAsync);
        return DataflowBlock.Encapsulate(input, output);
    }

    /// <summary>The token count a batch is measured by: the datum's model-input length.</summary>
    /// <param name="datum">The datum.</param>
    /// <returns><c>datum.ModelInput.Length</c>.</returns>
    public static int CountTokens(Datum datum)
    {
        ArgumentNullException.ThrowIfNull(datum);
        return datum.ModelInput.Length;
    }
}
