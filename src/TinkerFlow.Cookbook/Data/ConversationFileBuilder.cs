using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Supervised;

namespace TinkerFlow.Cookbook.Data;

/// <summary>
/// Builds train and test datasets from a chat JSONL file (the cookbook's <c>FromConversationFileBuilder</c>).
/// </summary>
public sealed record ConversationFileBuilder
{
    /// <summary>The JSONL file (<c>file_path</c>).</summary>
    public required string FilePath { get; init; }

    /// <summary>Conversations per training batch (<c>batch_size</c>).</summary>
    public required int BatchSize { get; init; }

    /// <summary>Rows held out for evaluation (<c>test_size</c>); 0 = no test set.</summary>
    public int TestSize { get; init; } // 0

    /// <summary>Seed of the train/test split shuffle (<c>shuffle_seed</c>).</summary>
    public long ShuffleSeed { get; init; } // 0

    /// <summary>Maximum sequence length before the shift (<c>max_length</c>); null keeps all.</summary>
    public int? MaxLength { get; init; } // null

    /// <summary>Which tokens are trained (<c>train_on_what</c>).</summary>
    public TrainOnWhat TrainOnWhat { get; init; } = TrainOnWhat.AllAssistantMessages;

    /// <summary>Weight normalisation.</summary>
    public Reduction Reduction { get; init; } = Reduction.Mean;

    /// <summary>
    /// Loads and splits the file. The train set reshuffles each epoch (seed = epoch); the test set is one batch of
    /// all test rows, in split order.
    /// </summary>
    /// <param name="renderer">The model's renderer.</param>
    /// <returns>The train dataset and the test dataset (null when <see cref="TestSize"/> is 0).</returns>
    public (ConversationDataset Train, ConversationDataset? Test) Build(Renderer renderer)
    {
        ArgumentNullException.ThrowIfNull(renderer);
        var (train, test) = ConversationFile.Split(ConversationFile.Load(FilePath), TestSize, ShuffleSeed);
        var trainOnWhat = TrainOnWhat;
        var maxLength = MaxLength;
        var reduction = Reduction;
        var trainSet = new ConversationDataset(train, BatchSize, m => DatumBuilder.ConversationToDatum(renderer, m, trainOnWhat, maxLength, reduction));
        var testSet = test.Count == 0
            ? null
            : new ConversationDataset(test, test.Count, m => DatumBuilder.ConversationToDatum(renderer, m, trainOnWhat, maxLength, reduction), shuffle: false);
        return (trainSet, testSet);
    }
}
