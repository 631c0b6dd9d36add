using TinkerFlow.Cookbook.Data;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Trainers;
using TinkerFlow.Dataflow;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Evaluation;

/// <summary>
/// Held-out NLL with one <c>forward(cross_entropy)</c> over the whole test set (the cookbook's <c>NLLEvaluator</c>):
/// reports <c>{prefix}/nll</c> (weighted nats per token) and <c>{prefix}/bpb</c> (bits per byte, special tokens
/// excluded).
/// </summary>
public sealed class NllEvaluator
{
    private readonly IReadOnlyList<Datum> _data;
    private readonly TinkerTokenizer _tokenizer;
    private readonly IReadOnlySet<int>? _excludedTokenIds;

    /// <summary>Creates the evaluator.</summary>
    /// <param name="data">The test datums (with <c>target_tokens</c> and <c>weights</c>).</param>
    /// <param name="tokenizer">Decodes tokens for bits per byte.</param>
    /// <param name="excludedTokenIds">Tokens not counted in bits per byte (the renderer's special tokens).</param>
    /// <param name="prefix">Metric prefix; <c>test</c> gives <c>test/nll</c> and <c>test/bpb</c>.</param>
    public NllEvaluator(IReadOnlyList<Datum> data, TinkerTokenizer tokenizer, IReadOnlySet<int>? excludedTokenIds = null, string prefix = "test")
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        if (data.Count == 0)
        {
            throw new ArgumentException("The test set is empty; pass at least one datum (or set test_size > 0).", nameof(data));
        }

        _data = data;
        _tokenizer = tokenizer;
        _excludedTokenIds = excludedTokenIds;
        Prefix = prefix;
    }

    /// <summary>The metric prefix.</summary>
    public string Prefix { get; }

    /// <summary>Creates the evaluator over every batch of a dataset (in its current epoch), counting bytes with the
    /// renderer's tokenizer and excluding its special tokens.</summary>
    /// <param name="dataset">The test dataset.</param>
    /// <param name="renderer">The renderer that built it.</param>
    /// <param name="prefix">Metric prefix.</param>
    /// <returns>The evaluator.</returns>
    public static NllEvaluator FromDataset(SupervisedDataset dataset, Renderer renderer, string prefix = "test")
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(renderer);
        var data = Enumerable.Range(0, dataset.Count).SelectMany(dataset.GetBatch).ToList();
        return new NllEvaluator(data, renderer.Tokenizer, renderer.SpecialTokenIds, prefix);
    }

    /// <summary>This evaluator as a trainer <see cref="TrainerEvaluation"/>.</summary>
    /// <returns>The evaluation.</returns>
    public TrainerEvaluation AsEvaluation() => new($"{Prefix}/nll ({_data.Count} datums)", EvaluateAsync);

    /// <summary>Scores the test set with the training client's current weights (no gradients).</summary>
    /// <param name="client">The training client.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><c>{prefix}/nll</c> and <c>{prefix}/bpb</c>.</returns>
    public async Task<IReadOnlyDictionary<string, double>> EvaluateAsync(TrainingClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var future = await client.ForwardAsync(WaitUntil.Completed, _data, LossFnType.CrossEntropy, cancellationToken: cancellationToken).ConfigureAwait(false);
        var output = future.Value;
        return new Dictionary<string, double>
        {
            [$"{Prefix}/nll"] = NllMetrics.MeanNll(output, _data),
            [$"{Prefix}/bpb"] = NllMetrics.BitsPerByte(output, _data, _tokenizer, _excludedTokenIds),
        };
    }
}
