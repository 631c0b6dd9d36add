using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Data;

/// <summary>
/// A <see cref="SupervisedDataset"/> over in-memory conversations, rendered to datums when a batch is requested.
/// Order and batching follow <see cref="EpochBatcher"/>.
/// </summary>
public sealed class ConversationDataset : SupervisedDataset
{
    private readonly Func<IReadOnlyList<Message>, Datum> _toDatum;
    private readonly EpochBatcher _batcher;

    /// <summary>Creates the dataset.</summary>
    /// <param name="conversations">The rows.</param>
    /// <param name="batchSize">Conversations per batch.</param>
    /// <param name="toDatum">Turns one conversation into a datum, e.g. <c>m =&gt; DatumBuilder.ConversationToDatum(renderer, m, …)</c>.</param>
    /// <param name="shuffle">Shuffle each epoch with seed = epoch (the cookbook's behaviour); false keeps row order.</param>
    public ConversationDataset(IReadOnlyList<IReadOnlyList<Message>> conversations, int batchSize, Func<IReadOnlyList<Message>, Datum> toDatum, bool shuffle = true)
    {
        ArgumentNullException.ThrowIfNull(conversations);
        ArgumentNullException.ThrowIfNull(toDatum);
        Conversations = conversations;
        _toDatum = toDatum;
        _batcher = new EpochBatcher(conversations.Count, batchSize, shuffle);
    }

    /// <summary>The rows, in file order.</summary>
    public IReadOnlyList<IReadOnlyList<Message>> Conversations { get; }

    /// <inheritdoc/>
    public override int Count => _batcher.Count;

    /// <summary>The current epoch.</summary>
    public int Epoch => _batcher.Epoch;

    /// <inheritdoc/>
    public override void SetEpoch(int epoch) => _batcher.SetEpoch(epoch);

    /// <summary>The conversations of batch <paramref name="index"/> in the current epoch, before rendering.</summary>
    /// <param name="index">In [0, <see cref="Count"/>).</param>
    /// <returns>The conversations.</returns>
    public IReadOnlyList<IReadOnlyList<Message>> GetConversations(int index) =>
        [.. _batcher.GetRowIndices(index).Select(i => Conversations[i])];

    /// <inheritdoc/>
    public override IReadOnlyList<Datum> GetBatch(int index) => [.. GetConversations(index).Select(_toDatum)];
}
