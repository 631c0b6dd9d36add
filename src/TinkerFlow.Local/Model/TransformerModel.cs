using TinkerFlow.Local.Engine;
using TinkerFlow.Local.Lora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Model;

/// <summary>
/// The decoder stack (Hugging Face's <c>Qwen3Model</c>/<c>LlamaModel</c>): token embedding, layers, final norm.
/// It is the <c>model.</c> prefix of every checkpoint key.
/// </summary>
internal sealed class TransformerModel : nn.Module
{
    private readonly RotaryEmbedding _rotary;
    private readonly TransformerConfig _config;

    private long _managedDecodeSteps;

    /// <summary>
    /// Whether a decode step may run in <see cref="DecodeStep"/> (default true); off, every step goes through the layers'
    /// libtorch forward, which tests compare it with.
    /// </summary>
    internal bool ManagedDecode { get; set; } = true;

    /// <summary>How many forward calls ran their layers in <see cref="DecodeStep"/>.</summary>
    internal long ManagedDecodeSteps => Interlocked.Read(ref _managedDecodeSteps);

    /// <summary>Token embedding. [V, C]</summary>
    public Embedding embed_tokens;

    /// <summary>The decoder layers.</summary>
    public ModuleList<DecoderLayer> layers;

    /// <summary>Final norm. [C]</summary>
    public RmsNorm norm;

    /// <summary>Builds the stack for <paramref name="config"/>.</summary>
    public TransformerModel(TransformerConfig config) : base(nameof(TransformerModel))
    {
        _config = config;
        _rotary = new RotaryEmbedding(config);
        embed_tokens = nn.Embedding(config.VocabSize, config.HiddenSize);
        layers = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers).Select(i => new DecoderLayer(config, i)).ToArray());
        norm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        RegisterComponents();
    }

    /// <summary>
    /// Hidden states after the final norm.
    /// </summary>
    /// <param name="inputIds">[B, T] int64 token ids.</param>
    /// <param name="attentionMask">
    /// Optional [B, T] (bool or integer, nonzero = real token). Padded positions are never attended to and do not advance
    /// a row's positions, so right- or left-padded batches give each row the result it would get alone.
    /// </param>
    /// <param name="cache">Optional KV cache: its tokens come before <paramref name="inputIds"/>; the new keys and values are appended.</param>
    /// <param name="adapter">Optional LoRA adapter.</param>
    /// <returns>[B, T, C] float32.</returns>
    public Tensor forward(Tensor inputIds, Tensor? attentionMask, KvCache? cache, LoraAdapter? adapter)
    {
        Validate(inputIds, attentionMask, cache);
        using var scope = torch.NewDisposeScope();
        var (context, newValid) = Prepare(inputIds, attentionMask, cache, adapter);
        var h = embed_tokens.forward(inputIds);                                              // (B, T, C)
        h = Layers(h, context);                                                              // (B, T, C)
        if (newValid is not null)
        {
            cache?.AppendValid(newValid);
        }
        else
        {
            cache?.AppendAllValid(inputIds.shape[1], inputIds.device);
        }
        return norm.forward(h).MoveToOuterDisposeScope();                                    // (B, T, C)
    }

    /// <summary>
    /// Forward and backward of a training step, one decoder layer at a time, optionally with activation checkpointing:
    /// the first <paramref name="checkpointedLayers"/> layers keep only their input during the forward pass and run again
    /// (with gradients) when the backward pass reaches them; the other layers keep their autograd graphs. The gradients
    /// are those of an ordinary forward + backward either way; checkpointing trades one more forward pass of those layers
    /// for their activations.
    /// </summary>
    /// <param name="inputIds">[B, T] int64 token ids.</param>
    /// <param name="attentionMask">Optional [B, T] padding mask, as in <see cref="forward"/>.</param>
    /// <param name="adapter">The LoRA adapter whose parameters receive gradients (added to any already accumulated).</param>
    /// <param name="checkpointedLayers">How many layers, from the first, to recompute instead of storing (0 ..= L).</param>
    /// <param name="head">
    /// Given the [B, T, C] hidden states after the final norm (detached values), computes the loss and returns its
    /// gradient with respect to them ([B, T, C]); it back-propagates through the head itself (see
    /// <see cref="Training.ChunkedLmHead.Loss"/>).
    /// </param>
    public void ForwardBackward(Tensor inputIds, Tensor? attentionMask, LoraAdapter? adapter, int checkpointedLayers, Func<Tensor, Tensor> head)
    {
        ArgumentNullException.ThrowIfNull(head);
        Validate(inputIds, attentionMask, null);
        int count = layers.Count;
        ArgumentOutOfRangeException.ThrowIfNegative(checkpointedLayers);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(checkpointedLayers, count);

        using var scope = torch.NewDisposeScope();
        AttentionContext context;
        Tensor x;
        using (torch.no_grad())
        {
            (context, _) = Prepare(inputIds, attentionMask, null, adapter);
            x = embed_tokens.forward(inputIds);                                              // (B, T, C)
        }

        // inputs[l]: layer l's input (a leaf that collects its gradient, except layer 0's: the embedding is frozen);
        // outputs[l]: its graph-attached output, for layers that are not checkpointed. Each is released as soon as the
        // backward pass is done with it (together with the gradient it passed down), so the memory the backward pass
        // holds shrinks layer by layer instead of keeping every layer's input and input gradient to the end.
        var inputs = new Tensor[count];
        var outputs = new Tensor?[count];
        for (int l = 0; l < count; l++)
        {
            if (l < checkpointedLayers)
            {
                inputs[l] = x;
                using var noGrad = torch.no_grad();
                x = layers[l].forward(x, context);
            }
            else
            {
                inputs[l] = Leaf(x, l > 0);
                x.Dispose();                                                                 // the leaf shares its storage
                using var grad = torch.enable_grad();
                outputs[l] = layers[l].forward(inputs[l], context);
                x = outputs[l]!.detach();
            }
        }

        var last = Leaf(x, true);
        x.Dispose();
        Tensor? gradient;
        using (var headScope = torch.NewDisposeScope())
        {
            Tensor normed;
            using (torch.enable_grad())
            {
                normed = norm.forward(last);                                                 // (B, T, C)
            }

            var headGradient = head(normed.detach());                                        // (B, T, C)
            normed.backward([headGradient]);
            gradient = last.grad!.detach().MoveToOuterDisposeScope();
        }

        last.Dispose();
        for (int l = count - 1; l >= 0; l--)
        {
            if (gradient is not null)
            {
                using var layerScope = torch.NewDisposeScope();
                var input = inputs[l];
                var output = outputs[l];
                if (output is null)
                {
                    input = Leaf(inputs[l], l > 0);
                    using var grad = torch.enable_grad();
                    output = layers[l].forward(input, context);
                }

                if (output.requires_grad)
                {
                    output.backward([gradient]);
                }

                // Layer 0's input needs no gradient; a trunk without adapter weights has none to pass down.
                var passed = l > 0 && input.grad is { } g ? g.detach().MoveToOuterDisposeScope() : null;
                gradient.Dispose();
                gradient = passed;
            }

            outputs[l]?.Dispose();
            outputs[l] = null;
            inputs[l].Dispose();
        }

        gradient?.Dispose();
    }

    /// <summary>
    /// Every decoder layer over h: [B, T, C] → [B, T, C]. A decode step (one new token per row, no autograd) runs in one
    /// managed pass over h itself (<see cref="DecodeStep"/>); anything else goes through the layers' libtorch forward.
    /// </summary>
    private Tensor Layers(Tensor h, AttentionContext context)
    {
        if (ManagedDecode && DecodeStep.TryRun(layers, _config, h, context))
        {
            Interlocked.Increment(ref _managedDecodeSteps);
            return h;
        }
        foreach (var layer in layers)
        {
            h = layer.forward(h, context);                                                   // (B, T, C)
        }
        return h;
    }

    private static Tensor Leaf(Tensor x, bool requiresGrad)
    {
        var leaf = x.detach();
        return requiresGrad ? leaf.requires_grad_(true) : leaf;
    }

    private static void Validate(Tensor inputIds, Tensor? attentionMask, KvCache? cache)
    {
        if (inputIds.dim() != 2)
        {
            throw new ArgumentException($"input_ids must be [batch, seq], got [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        }
        long batch = inputIds.shape[0], time = inputIds.shape[1];
        if (attentionMask is not null && !attentionMask.shape.SequenceEqual(inputIds.shape))
        {
            throw new ArgumentException(
                $"attention_mask [{string.Join(", ", attentionMask.shape)}] must match input_ids [{batch}, {time}].", nameof(attentionMask));
        }
        if (cache is not null && cache.BatchSize != batch)
        {
            throw new ArgumentException($"the KV cache holds {cache.BatchSize} sequences but input_ids has {batch} rows.", nameof(cache));
        }
    }

    /// <summary>RoPE angles and the attention mask of one forward pass, and the new tokens' validity (null without mask and cache).</summary>
    private (AttentionContext Context, Tensor? NewValid) Prepare(Tensor inputIds, Tensor? attentionMask, KvCache? cache, LoraAdapter? adapter)
    {
        long batch = inputIds.shape[0], time = inputIds.shape[1];
        var device = inputIds.device;
        Tensor cos, sin;                                                                     // (B or 1, 1, T, D)
        Tensor? mask = null;                                                                 // (B, 1, T, S)
        Tensor? newValid = null;                                                             // (B, T)
        long past = cache?.Length ?? 0;
        if (attentionMask is null && (cache is null || cache.AllValid))
        {
            // No padding anywhere: every row is at position past + t, so the angles are a slice of the rotary table and
            // the mask is implicit (causal when nothing is cached, all keys for one new token) or one shared [T, S].
            (cos, sin) = _rotary.Range(past, time, device);
            if (past > 0 && time > 1)
            {
                var queryColumn = Scalars.Arange(past, past + time, device).unsqueeze(1); // (T, 1)
                var keyColumn = Scalars.Arange(0, past + time, device).unsqueeze(0);     // (1, S)
                mask = (keyColumn <= queryColumn).unsqueeze(0).unsqueeze(0);                         // (1, 1, T, S)
            }
        }
        else
        {
            newValid = attentionMask is null
                ? torch.ones(batch, time, ScalarType.Bool, device)
                : attentionMask.to(ScalarType.Bool);                                         // (B, T)
            var pastValid = cache?.ValidMask ?? torch.zeros(batch, 0, ScalarType.Bool, device); // (B, P)
            var pastCount = pastValid.sum(1, type: ScalarType.Int64);                         // (B)
            var positions = pastCount.unsqueeze(1).add(newValid.to(ScalarType.Int64).cumsum(1), Scalars.One).sub(Scalars.One).clamp_min(Scalars.Zero); // (B, T)

            var allValid = torch.cat([pastValid, newValid], 1);                              // (B, S)
            var queryColumn = Scalars.Arange(past, past + time, device).unsqueeze(1);   // (T, 1)
            var keyColumn = Scalars.Arange(0, past + time, device).unsqueeze(0);       // (1, S)
            var causal = keyColumn <= queryColumn;                                           // (T, S)
            // A query may always see itself, so padded rows stay finite (their outputs are ignored).
            var self = keyColumn == queryColumn;                                             // (T, S)
            mask = causal.unsqueeze(0).logical_and(allValid.unsqueeze(1))
                .logical_or(self.unsqueeze(0))
                .unsqueeze(1);                                                               // (B, 1, T, S)
            (cos, sin) = _rotary.Compute(positions);                                         // (B, 1, T, D)
        }

        return (new AttentionContext(cos, sin, mask, cache, adapter), newValid);
    }

    /// <summary>
    /// A forward whose caller gives every token's position and the attention mask, with per-token adapters: the
    /// continuous batcher's decode step (one new token per row, each row at its own position in the cache) and its
    /// packed prefill (several prompts back to back in one row, attention per prompt through <see cref="PackedSegments"/> or a block-diagonal causal mask).
    /// </summary>
    /// <param name="inputIds">[B, T] int64 token ids.</param>
    /// <param name="positions">[B, T] int64 positions, each below max_position_embeddings.</param>
    /// <param name="mask">[B, 1, T, S] bool: the keys each token attends to (S = cached + new), or null (see <see cref="AttentionContext"/>).</param>
    /// <param name="cache">The cache the new keys and values go to.</param>
    /// <param name="routing">Which adapter each of the B·T tokens uses.</param>
    /// <param name="segments">For a packed prefill without <paramref name="mask"/>: the prompts, attended to one by one.</param>
    /// <returns>[B, T, C] float32 hidden states after the final norm.</returns>
    public Tensor ForwardRows(Tensor inputIds, Tensor positions, Tensor? mask, IAttentionCache cache, LoraRouting routing, PackedSegments? segments = null)
    {
        using var scope = torch.NewDisposeScope();
        var (cos, sin) = _rotary.Gather(positions);                                          // (B, 1, T, D)
        var context = new AttentionContext(cos, sin, mask, cache, null, routing, segments);
        var h = embed_tokens.forward(inputIds);                                              // (B, T, C)
        h = Layers(h, context);                                                              // (B, T, C)
        return norm.forward(h).MoveToOuterDisposeScope();                                    // (B, T, C)
    }
}
