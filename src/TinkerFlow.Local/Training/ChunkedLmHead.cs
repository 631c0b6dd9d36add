using TinkerFlow.Local.Lora;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Training;

/// <summary>
/// The LM head (hidden states → logits → log-softmax) computed a few rows at a time, for training losses and for the
/// sampler's prompt logprobs and top-k alike, so the float32 [tokens, V] logits, log-softmax and their gradients never
/// exist at once: only [rows per chunk, V] of each does.
/// </summary>
/// <remarks>
/// <para>Training (<see cref="Loss"/>): every Tinker loss is a sum of per-token terms of the target log-prob, so each
/// chunk computes logits → log_softmax → gather → its per-token losses → backward at once, accumulating the lm_head
/// adapter's gradients and writing the chunk's gradient with respect to its hidden states. The caller back-propagates
/// that gradient through the decoder (<see cref="Model.TransformerModel.ForwardBackward"/>). Padding positions are
/// skipped entirely: only real tokens are projected to the vocabulary.</para>
/// <para>A chunk holds <see cref="DefaultChunkElements"/> / V rows (about 110 rows for a 152k vocabulary): enough rows
/// for an efficient GEMM, little enough memory (64 MB per [rows, V] float32 buffer).</para>
/// </remarks>
internal static class ChunkedLmHead
{
    /// <summary>Logits per chunk by default (rows × vocabulary).</summary>
    public const long DefaultChunkElements = 1L << 24;

    /// <summary>Rows per chunk for a vocabulary of <paramref name="vocab"/> and a budget of <paramref name="chunkElements"/> logits.</summary>
    public static long RowsPerChunk(long vocab, long chunkElements = DefaultChunkElements) => Math.Max(1, chunkElements / Math.Max(1, vocab));

    /// <summary>
    /// Log-probabilities of given tokens and/or the top-k tokens at every row of <paramref name="hidden"/>, without
    /// gradients (the sampler's prompt logprobs).
    /// </summary>
    /// <param name="head">The model's lm_head.</param>
    /// <param name="adapter">The adapter the hidden states were computed with, or null.</param>
    /// <param name="hidden">[N, C] hidden states after the final norm.</param>
    /// <param name="targets">[N] int64 token whose log-prob to report at each row, or null for none.</param>
    /// <param name="topk">Number of most likely tokens per row (0 = none), at most V.</param>
    /// <param name="chunkElements">Logits per chunk.</param>
    /// <returns>
    /// Target log-probs [N] (null without targets), top-k log-probs [N, k] most likely first and their ids [N, k] (null when
    /// <paramref name="topk"/> is 0); float32 / int64 on the CPU, in the caller's dispose scope.
    /// </returns>
    public static (Tensor? Logprobs, Tensor? TopValues, Tensor? TopIds) Logprobs(
        LoraLinear head, LoraAdapter? adapter, Tensor hidden, Tensor? targets, int topk, long chunkElements = DefaultChunkElements)
    {
        ArgumentNullException.ThrowIfNull(head);
        ArgumentNullException.ThrowIfNull(hidden);
        long rows = hidden.shape[0];
        long chunk = RowsPerChunk(head.OutFeatures, chunkElements);
        using var noGrad = torch.no_grad();
        var picked = targets is null ? null : torch.empty([rows], ScalarType.Float32);
        var topValues = topk > 0 ? torch.empty([rows, topk], ScalarType.Float32) : null;
        var topIds = topk > 0 ? torch.empty([rows, topk], ScalarType.Int64) : null;
        for (long start = 0; start < rows; start += chunk)
        {
            using var scope = torch.NewDisposeScope();
            long count = Math.Min(chunk, rows - start);
            var logp = LogSoftmax(head, adapter, hidden.narrow(0, start, count));           // (n, V)
            if (picked is not null)
            {
                var index = targets!.narrow(0, start, count).unsqueeze(1);                   // (n, 1)
                picked.narrow(0, start, count).copy_(logp.gather(1, index).squeeze(1).cpu());
            }

            if (topValues is not null)
            {
                var (values, ids) = logp.topk(topk, 1);                                      // (n, k), most likely first
                topValues.narrow(0, start, count).copy_(values.cpu());
                topIds!.narrow(0, start, count).copy_(ids.cpu());
            }
        }

        return (picked, topValues, topIds);
    }

    /// <summary>
    /// The loss of a right-padded batch from its final hidden states, chunk by chunk; with <paramref name="backward"/>,
    /// also back-propagates through the head (into the lm_head adapter, if any) and returns the gradient with respect to
    /// <paramref name="hidden"/>.
    /// </summary>
    /// <param name="head">The model's lm_head.</param>
    /// <param name="adapter">The LoRA adapter, or null.</param>
    /// <param name="hidden">[B, T, C] final hidden states (values only: the graph, if any, is not used).</param>
    /// <param name="tokens">The batch's loss inputs as a token stream; datum b's tokens are row b's first N_b positions.</param>
    /// <param name="backward">True to compute gradients.</param>
    /// <param name="chunkElements">Logits per chunk.</param>
    /// <returns>Per-datum outputs, the loss sum, and the [B, T, C] gradient for the hidden states (zero at padding) when
    /// <paramref name="backward"/>; tensors in the caller's dispose scope.</returns>
    public static HeadLossResult Loss(
        LoraLinear head, LoraAdapter? adapter, Tensor hidden, TokenLossInputs tokens, bool backward, long chunkElements = DefaultChunkElements)
    {
        ArgumentNullException.ThrowIfNull(head);
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(tokens);
        long batch = hidden.shape[0], time = hidden.shape[1], width = hidden.shape[2];
        if (tokens.Offsets.Length != batch + 1)
        {
            throw new ArgumentException($"hidden holds {batch} rows but the token stream has {tokens.Offsets.Length - 1} datums.", nameof(tokens));
        }

        // Flat positions of the real tokens: row b, positions 0 .. N_b - 1.
        var positions = new long[tokens.TotalTokens];
        for (int b = 0, k = 0; b < batch; b++)
        {
            long length = tokens.Offsets[b + 1] - tokens.Offsets[b];
            if (length > time)
            {
                throw new ArgumentException($"datum {b} has {length} tokens but the hidden states only {time} positions.", nameof(tokens));
            }

            for (long t = 0; t < length; t++)
            {
                positions[k++] = b * time + t;
            }
        }

        long total = positions.Length;
        var index = torch.tensor(positions);
        Tensor selected;                                                                     // (total, C)
        using (torch.no_grad())
        {
            selected = hidden.detach().reshape(batch * time, width).index_select(0, index);
        }

        var gatherIndex = tokens.GatherIndex;                                                // (total, K)
        var logprobs = torch.empty(gatherIndex.shape, ScalarType.Float32);                   // (total, K)
        var elementwise = torch.empty([total], ScalarType.Float32);                          // (total)
        var gradient = backward ? torch.empty([total, width], selected.dtype) : null;       // (total, C)
        long chunk = RowsPerChunk(head.OutFeatures, chunkElements);
        for (long start = 0; start < total; start += chunk)
        {
            using var scope = torch.NewDisposeScope();
            using var grad = backward ? torch.enable_grad() : torch.no_grad();
            long count = Math.Min(chunk, total - start);
            var rows = selected.narrow(0, start, count);                                     // (n, C)
            if (backward)
            {
                rows = rows.detach().requires_grad_(true);
            }

            // lp_k = logits[target_k] − logsumexp(logits): the log-softmax is never materialised. The loss is
            // differentiated with respect to the [n, K] log-probs only; their gradient g then gives the logits' gradient,
            // Σ_k g_k·(onehot(target_k) − softmax), written over the chunk's logits buffer, so a chunk holds one [n, V]
            // buffer instead of logits, log-softmax and their two gradients.
            var targets = gatherIndex.narrow(0, start, count);                               // (n, K)
            var logits = head.forward(rows, adapter).to(ScalarType.Float32);                 // (n, V)
            Tensor lse, lp;
            using (torch.no_grad())
            {
                lse = logits.logsumexp(1, keepdim: true);                                    // (n, 1)
                lp = logits.gather(1, targets) - lse;                                        // (n, K)
            }

            if (backward)
            {
                lp.requires_grad_(true);
            }

            var (loss, perToken) = TinkerLosses.TokenLoss(tokens, lp, start);
            if (backward && loss.requires_grad)
            {
                loss.backward();
                var g = lp.grad!;                                                            // (n, K)
                Tensor logitsGradient;                                                       // (n, V)
                using (torch.no_grad())
                {
                    logitsGradient = logits.detach().sub_(lse).exp_().mul_(-g.sum(1, keepdim: true)).scatter_add_(1, targets, g);
                }

                logits.backward([logitsGradient]);
                gradient!.narrow(0, start, count).copy_(rows.grad!);
            }
            else if (backward)
            {
                gradient!.narrow(0, start, count).zero_();
            }

            logprobs.narrow(0, start, count).copy_(lp.detach());
            elementwise.narrow(0, start, count).copy_(perToken.detach());
        }

        var datums = new DatumLossOutput[batch];
        double sum = 0;
        for (int b = 0; b < batch; b++)
        {
            long offset = tokens.Offsets[b], length = tokens.Offsets[b + 1] - offset;
            var rows = logprobs.narrow(0, offset, length);                                   // (N, K)
            var lp = tokens.Soft[b] ? rows.narrow(1, 0, tokens.Widths[b]).clone() : rows.select(1, 0).clone();
            var perToken = elementwise.narrow(0, offset, length).clone();
            double value = perToken.sum().item<float>();
            sum += value;
            datums[b] = new DatumLossOutput(lp, perToken, value);
        }

        Tensor? hiddenGradient = null;
        if (gradient is not null)
        {
            hiddenGradient = torch.zeros([batch * time, width], gradient.dtype)
                .index_copy_(0, index, gradient)
                .view(batch, time, width);                                                   // (B, T, C)
        }

        return new HeadLossResult(datums, sum, hiddenGradient);
    }

    private static Tensor LogSoftmax(LoraLinear head, LoraAdapter? adapter, Tensor rows) =>
        head.forward(rows, adapter).to(ScalarType.Float32).log_softmax(1);                  // (n, V)
}

/// <summary>One datum's outputs of a loss: detached float32 CPU tensors and the loss value.</summary>
/// <param name="Logprobs">Learner log-probs of the targets: [N], or [N, K] for soft targets (the <c>logprobs</c> output).</param>
/// <param name="ElementwiseLoss">Weighted per-token loss [N] (the <c>elementwise_loss</c> output).</param>
/// <param name="LossValue">The datum's loss, the sum of <paramref name="ElementwiseLoss"/>.</param>
internal sealed record DatumLossOutput(Tensor Logprobs, Tensor ElementwiseLoss, double LossValue);

/// <summary>What <see cref="ChunkedLmHead.Loss"/> returns.</summary>
/// <param name="Datums">Per-datum outputs in batch order.</param>
/// <param name="LossSum">Sum of the datums' losses (the <c>loss:sum</c> metric).</param>
/// <param name="HiddenGradient">[B, T, C] gradient of the loss with respect to the hidden states, or null without backward.</param>
internal sealed record HeadLossResult(IReadOnlyList<DatumLossOutput> Datums, double LossSum, Tensor? HiddenGradient);
