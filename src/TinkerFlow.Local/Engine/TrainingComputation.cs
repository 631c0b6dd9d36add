using TinkerFlow.Local.Training;
using TinkerFlow.Types;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Engine;

/// <summary>
/// forward and forward_backward on the embedded engine: datums → right-padded micro-batches → hidden states (base +
/// LoRA) → the chunked LM head and the Tinker loss (<see cref="ChunkedLmHead"/>) → per-datum <c>logprobs</c> and
/// <c>elementwise_loss</c>. With gradients, the summed loss is back-propagated into the adapter, adding to whatever
/// earlier calls accumulated, with as many decoder layers checkpointed as <see cref="TrainingSettings"/> asks for.
/// </summary>
internal static class TrainingComputation
{
    public static ForwardBackwardOutput Run(TrainingModel model, ForwardBackwardInput input, bool backward, int maxTokensPerMicroBatch) =>
        Run(model, input, backward, new TrainingSettings(maxTokensPerMicroBatch));

    public static ForwardBackwardOutput Run(TrainingModel model, ForwardBackwardInput input, bool backward, TrainingSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        int maxTokensPerMicroBatch = settings.MaxTokensPerMicroBatch;
        var data = input.Data;
        if (data.Count == 0)
        {
            throw new TinkerUserInputException("forward_backward_input.data is empty: send at least one datum.");
        }

        var config = model.Base.Config;
        var tokens = new long[data.Count][];
        for (var i = 0; i < data.Count; i++)
        {
            tokens[i] = DatumTokens(data[i], i, config.VocabSize, config.MaxPositionEmbeddings);
        }

        // The loss inputs as tensors, converted once: they are validated for every datum before any gradient is touched
        // (so a bad datum never leaves a half-accumulated batch), then used by the micro-batches below.
        using var inputScope = NewDisposeScope();
        var allInputs = data.Select(d => (IReadOnlyDictionary<string, Tensor>)ToTensors(d.LossFnInputs)).ToList();
        TinkerLosses.ValidateBatch(input.LossFn, allInputs, tokens.Select(t => t.Length).ToList(), config.VocabSize, input.LossFnConfig);

        var outputs = new IReadOnlyDictionary<string, TensorData>[data.Count];
        double lossSum = 0;
        foreach (var batch in MicroBatches(tokens, maxTokensPerMicroBatch))
        {
            using var scope = NewDisposeScope();
            using var gradMode = no_grad();                   // ForwardBackward and the head enable gradients where they need them
            var lengths = batch.Select(i => tokens[i].Length).ToList();
            var maxLen = lengths.Max();
            var ids = zeros(batch.Count, maxLen, ScalarType.Int64);
            var mask = zeros(batch.Count, maxLen, ScalarType.Int64);
            for (var b = 0; b < batch.Count; b++)
            {
                var row = tokens[batch[b]];
                ids[b, TensorIndex.Slice(0, row.Length)] = tensor(row);
                mask[b, TensorIndex.Slice(0, row.Length)] = ones(row.Length, ScalarType.Int64);
            }

            var padded = lengths.Any(l => l != maxLen);
            var attention = padded ? mask : null;
            var tokenInputs = TinkerLosses.PrepareTokens(input.LossFn, [.. batch.Select(i => allInputs[i])], lengths, config.VocabSize, input.LossFnConfig);
            var causal = model.Base.Model;
            // The head's tensors live in the scope of the pass that runs it: collect the outputs right there.
            void Collect(HeadLossResult result)
            {
                lossSum += result.LossSum;
                for (var b = 0; b < batch.Count; b++)
                {
                    var d = result.Datums[b];
                    outputs[batch[b]] = new Dictionary<string, TensorData>
                    {
                        ["logprobs"] = ToTensorData(d.Logprobs),
                        ["elementwise_loss"] = ToTensorData(d.ElementwiseLoss),
                    };
                }
            }

            if (backward)
            {
                int checkpointed = TrainingMemoryEstimate.CheckpointedLayers(
                    config, model.Adapter.Options.Rank, batch.Count, maxLen, padded, settings.Checkpointing, settings.ActivationBudgetBytes);
                causal.model.ForwardBackward(ids, attention, model.Adapter, checkpointed, hidden =>
                {
                    var result = ChunkedLmHead.Loss(causal.lm_head, model.Adapter, hidden, tokenInputs, backward: true, settings.HeadChunkElements);
                    Collect(result);
                    return result.HiddenGradient!;
                });
            }
            else
            {
                var hidden = causal.model.forward(ids, attention, null, model.Adapter);         // (B, T, C)
                Collect(ChunkedLmHead.Loss(causal.lm_head, model.Adapter, hidden, tokenInputs, backward: false, settings.HeadChunkElements));
            }
        }

        return new ForwardBackwardOutput
        {
            LossFnOutputType = "ArrayRecord",
            LossFnOutputs = outputs,
            Metrics = new Dictionary<string, double> { [TinkerLosses.LossSumMetric] = lossSum },
        };
    }

    /// <summary>The datum's token ids, checked against the vocabulary and context length.</summary>
    public static long[] DatumTokens(Datum datum, int index, int vocabSize, int maxContext)
    {
        var chunks = datum.ModelInput.Chunks;
        var tokens = new List<long>(datum.ModelInput.Length);
        foreach (var chunk in chunks)
        {
            if (chunk is not EncodedTextChunk text)
            {
                throw new TinkerUserInputException($"data[{index}].model_input has a '{chunk.GetType().Name}' chunk; the embedded engine's text models accept only encoded_text chunks.");
            }

            foreach (var t in text.Tokens)
            {
                if (t < 0 || t >= vocabSize)
                {
                    throw new TinkerUserInputException($"data[{index}].model_input contains token id {t}, outside the model's vocabulary [0, {vocabSize}).");
                }

                tokens.Add(t);
            }
        }

        if (tokens.Count == 0)
        {
            throw new TinkerUserInputException($"data[{index}].model_input is empty.");
        }

        if (tokens.Count > maxContext)
        {
            throw new TinkerUserInputException($"data[{index}] has {tokens.Count} tokens, more than the model's context of {maxContext}; truncate it.");
        }

        return [.. tokens];
    }

    /// <summary>Groups consecutive datums so each forward pass holds at most <paramref name="maxTokens"/> padded tokens.</summary>
    public static IEnumerable<List<int>> MicroBatches(long[][] tokens, int maxTokens)
    {
        var batch = new List<int>();
        var maxLen = 0;
        for (var i = 0; i < tokens.Length; i++)
        {
            var newMax = Math.Max(maxLen, tokens[i].Length);
            if (batch.Count > 0 && newMax * (batch.Count + 1) > maxTokens)
            {
                yield return batch;
                batch = [];
                newMax = tokens[i].Length;
            }

            batch.Add(i);
            maxLen = newMax;
        }

        if (batch.Count > 0)
        {
            yield return batch;
        }
    }

    public static Dictionary<string, Tensor> ToTensors(IReadOnlyDictionary<string, TensorData> inputs)
    {
        var result = new Dictionary<string, Tensor>(inputs.Count);
        foreach (var (name, data) in inputs)
        {
            var dense = data.ToDense();
            var shape = dense.Shape is { } s ? s.ToArray() : [(long)dense.ElementCount];
            result[name] = dense.Dtype == TensorDType.Int64
                ? tensor(dense.ToInt64Array()).reshape(shape)
                : tensor(dense.ToFloat32Array()).reshape(shape);
        }

        return result;
    }

    public static TensorData ToTensorData(Tensor t)
    {
        var cpu = t.detach().cpu().to(ScalarType.Float32).contiguous();
        return TensorData.FromFloat32(cpu.data<float>().ToArray(), cpu.shape);
    }
}

/// <summary>How <see cref="TrainingComputation"/> runs a request.</summary>
/// <param name="MaxTokensPerMicroBatch">The most padded tokens in one forward pass.</param>
/// <param name="Checkpointing">When to recompute decoder layers instead of storing their activations.</param>
/// <param name="ActivationBudgetBytes">The activation budget of <see cref="ActivationCheckpointing.Auto"/>.</param>
/// <param name="HeadChunkElements">Logits per chunk of the LM head.</param>
internal sealed record TrainingSettings(
    int MaxTokensPerMicroBatch,
    ActivationCheckpointing Checkpointing = ActivationCheckpointing.Auto,
    long ActivationBudgetBytes = TrainingSettings.DefaultActivationBudgetBytes,
    long HeadChunkElements = ChunkedLmHead.DefaultChunkElements)
{
    /// <summary>Default activation budget per micro-batch: 2 GiB.</summary>
    public const long DefaultActivationBudgetBytes = 2L << 30;
}
