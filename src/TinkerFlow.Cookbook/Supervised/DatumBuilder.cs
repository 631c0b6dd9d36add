using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Supervised;

/// <summary>
/// Builds <c>cross_entropy</c> datums from rendered sequences (the cookbook's
/// <c>datum_from_model_input_weights</c> and <c>conversation_to_datum</c>).
/// </summary>
public static class DatumBuilder
{
    /// <summary>
    /// Turns a token sequence with per-token weights into a datum: right-truncate to <paramref name="maxLength"/>,
    /// drop empty text chunks and trailing images, shift by one (<c>model_input = tokens[:-1]</c>,
    /// <c>target_tokens = tokens[1:]</c>, <c>weights = weights[1:]</c>), then apply <paramref name="reduction"/>.
    /// </summary>
    /// <param name="modelInput">The full sequence (N positions); image chunks need <c>expected_tokens</c>.</param>
    /// <param name="weights">One weight per position, [N] float32.</param>
    /// <param name="maxLength">Maximum number of positions kept before the shift; null keeps all.</param>
    /// <param name="reduction"><see cref="Reduction.Mean"/> scales the kept weights to sum to 1 (unless all are 0).</param>
    /// <returns>A datum with <c>target_tokens</c> [M] int64 and <c>weights</c> [M] float32, M = kept length − 1.</returns>
    /// <exception cref="ArgumentException">The lengths differ, or fewer than 2 positions remain.</exception>
    public static Datum FromModelInputWeights(ModelInput modelInput, float[] weights, int? maxLength = null, Reduction reduction = Reduction.Mean)
    {
        ArgumentNullException.ThrowIfNull(modelInput);
        ArgumentNullException.ThrowIfNull(weights);
        if (maxLength is < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "maxLength must be at least 2 (one input and one target), or null for no limit.");
        }

        if (weights.Length != modelInput.Length)
        {
            throw new ArgumentException($"weights has {weights.Length} entries but the model input has {modelInput.Length} positions; pass one weight per position.", nameof(weights));
        }

        var (chunks, length) = ChunkSequence.Truncate(modelInput.Chunks, maxLength);
        if (length < 2)
        {
            throw new ArgumentException($"After truncation the sequence has {length} position(s); a datum needs at least 2 (one input, one target).", nameof(modelInput));
        }

        var (input, targets) = ChunkSequence.Shift(chunks, length);
        var shifted = weights.AsSpan(1, length - 1).ToArray();
        if (reduction == Reduction.Mean)
        {
            var total = 0.0;
            foreach (var w in shifted)
            {
                total += w;
            }

            if (total > 0)
            {
                for (var i = 0; i < shifted.Length; i++)
                {
                    shifted[i] = (float)(shifted[i] / total);
                }
            }
        }

        return new Datum
        {
            ModelInput = input,
            LossFnInputs = new Dictionary<string, TensorData>
            {
                ["target_tokens"] = TensorData.FromInt64(targets),
                ["weights"] = TensorData.FromFloat32(shifted),
            },
        };
    }

    /// <summary>
    /// Renders a conversation and builds its datum (the cookbook's <c>conversation_to_datum</c>).
    /// </summary>
    /// <param name="renderer">The model's renderer.</param>
    /// <param name="messages">The conversation.</param>
    /// <param name="trainOnWhat">Which tokens are trained; defaults to all assistant messages, as in the cookbook.</param>
    /// <param name="maxLength">Maximum number of positions before the shift; null keeps all.</param>
    /// <param name="reduction">Weight normalisation; defaults to the per-example mean.</param>
    /// <returns>The datum.</returns>
    public static Datum ConversationToDatum(
        Renderer renderer,
        IReadOnlyList<Message> messages,
        TrainOnWhat trainOnWhat = TrainOnWhat.AllAssistantMessages,
        int? maxLength = null,
        Reduction reduction = Reduction.Mean)
    {
        ArgumentNullException.ThrowIfNull(renderer);
        var (modelInput, weights) = renderer.BuildSupervisedExample(messages, trainOnWhat);
        return FromModelInputWeights(modelInput, weights, maxLength, reduction);
    }
}
