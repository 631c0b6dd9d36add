using TinkerFlow.Local.Lora;
using TinkerFlow.Local.Model;
using TinkerFlow.Types;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Sampling;

/// <summary>
/// The rows being decoded on one base model, from any number of requests and adapters, advanced one token per
/// <see cref="Step"/>: the engine of continuous batching, used by <see cref="ContinuousBatcher"/> (one per model) and by
/// <see cref="Sampler.Sample"/> (one request on the caller's thread).
/// </summary>
/// <remarks>
/// <para>A step (1) decodes one token for every live row in a single forward ([R, 1]; rows at their own positions in a
/// <see cref="SlotKvCache"/>; base matmuls once, LoRA updates grouped by adapter through <see cref="LoraRouting"/>, as
/// two batched matmuls over a <see cref="LoraStack"/> of the live adapters kept while that set is unchanged),
/// (2) prefills the requests that join at this step in one forward per block of up to
/// <see cref="PrefillBlockTokens"/> tokens (prompts packed back to back, ragged, no padding in the projections;
/// attention per prompt through <see cref="PackedSegments"/> when the prompts are of similar lengths, else one
/// block-diagonal causal mask; each prompt's KV cache is then copied into one slot per sample), then (3) picks the next token of every row — old and new — with each row's own settings in one
/// vectorised <see cref="TokenSelector.Select"/>. Rows that finish leave the batch at once; a request completes when its
/// last row finishes.</para>
/// <para>All tensors live on the thread that calls <see cref="Step"/> (TorchSharp dispose scopes are thread-local);
/// call every method from that one thread.</para>
/// </remarks>
internal sealed class DecodeBatch : IDisposable
{
    /// <summary>Most prompt tokens prefilled together in one packed forward (its mask is [ΣT, ΣT]).</summary>
    public const int PrefillBlockTokens = 2048;

    private readonly CausalLm _model;
    private readonly SlotKvCache _cache;
    private readonly List<Row> _rows = [];
    private readonly List<SampleJob> _jobs = [];
    private LoraRouting? _routing;
    private LoraStack? _stack;

    /// <summary>An empty batch on <paramref name="model"/>.</summary>
    public DecodeBatch(CausalLm model)
    {
        _model = model;
        var weight = model.model.embed_tokens.weight!;
        _cache = new SlotKvCache(model.Config, weight.dtype, weight.device);
    }

    /// <summary>Live rows (one per unfinished sample).</summary>
    public int RowCount => _rows.Count;

    /// <summary>Requests with unfinished rows.</summary>
    public int JobCount => _jobs.Count;

    /// <summary>True when no row is being decoded.</summary>
    public bool IsEmpty => _rows.Count == 0;

    /// <summary>The most cache columns any live request may need (prompt + max_tokens).</summary>
    public long MaxColumns => _jobs.Count == 0 ? 0 : _jobs.Max(j => j.Columns);

    /// <summary>Bytes of keys and values per cached token of one row.</summary>
    public long BytesPerToken => _cache.BytesPerToken;

    /// <summary>Bytes the batch's KV cache holds now.</summary>
    public long AllocatedBytes => _cache.AllocatedBytes;

    /// <summary>
    /// KV-cache bytes the batch would need with <paramref name="job"/> added: every row's slot as long as the longest
    /// prompt + max_tokens among them.
    /// </summary>
    public long BytesWith(SampleJob job) =>
        (_rows.Count + job.NumSamples) * Math.Max(MaxColumns, job.Columns) * _cache.BytesPerToken;

    /// <summary>
    /// Advances every live row by one token and admits <paramref name="newcomers"/> (prefilled in this step, their first
    /// token picked with the others'). Requests that were cancelled leave first; a request whose prefill fails fails alone.
    /// </summary>
    public void Step(IReadOnlyList<SampleJob> newcomers)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        DropCancelled();

        var logits = new List<Tensor>();                                                      // (n, V) blocks in row order
        if (_rows.Count > 0)
        {
            logits.Add(DecodeForward());                                                      // (R, V)
        }

        foreach (var block in PrefillBlocks(newcomers))
        {
            try
            {
                logits.Add(Prefill(block));                                                   // (ΣN, V)
            }
            catch (Exception ex)
            {
                foreach (var job in block)
                {
                    job.Fail(ex);
                }
            }
        }

        if (logits.Count == 0)
        {
            return;
        }

        var all = logits.Count == 1 ? logits[0] : torch.cat(logits, 0);                        // (R', V)
        var settings = new SamplingParams[_rows.Count];
        var uniforms = new double[_rows.Count];
        foreach (var job in _jobs)
        {
            // One draw per live row of the request, in sample order: independent of the other requests in the batch.
            bool draws = job.Parameters.Temperature > 0;
            foreach (var row in job.RowSlots)
            {
                if (row is not null)
                {
                    settings[row.Slot] = job.Parameters;
                    uniforms[row.Slot] = draws ? job.Random.NextDouble() : 0;
                }
            }
        }

        var (tokens, tokenLogprobs) = TokenSelector.Select(all, settings, uniforms);
        var finished = new List<int>();
        for (int slot = 0; slot < _rows.Count; slot++)
        {
            var row = _rows[slot];
            var output = row.Job.Rows[row.Sample];
            int token = (int)tokens[slot];
            output.Append(token, tokenLogprobs[slot]);
            row.LastToken = token;
            if (row.Job.HitsStop(output, token))
            {
                output.Finish(StopReason.Stop);
            }
            else if (output.Tokens.Count >= row.Job.MaxTokens)
            {
                output.Finish(StopReason.Length);
            }
            if (output.Finished)
            {
                finished.Add(slot);
            }
        }
        RemoveRows(finished);
    }

    /// <summary>Fails every live request (e.g. after an engine error) and empties the batch.</summary>
    public void FailAll(Exception error)
    {
        foreach (var job in _jobs)
        {
            job.Fail(error);
        }
        var all = Enumerable.Range(0, _rows.Count).ToList();
        _jobs.Clear();
        RemoveRowsOnly(all);
    }

    /// <summary>Frees the cache.</summary>
    public void Dispose()
    {
        _routing?.Dispose();
        _stack?.Dispose();
        _cache.Dispose();
    }

    private Tensor DecodeForward()
    {
        var device = _model.model.embed_tokens.weight!.device;
        int rows = _rows.Count;
        var ids = torch.tensor(_rows.Select(r => (long)r.LastToken).ToArray(), [rows, 1], ScalarType.Int64, device); // (R, 1)
        var (positions, mask) = _cache.BeginStep();                                            // (R), (R, 1, 1, S)
        try
        {
            _routing ??= DecodeRouting(device);
            var hidden = _model.model.ForwardRows(ids, positions.unsqueeze(1), mask, _cache, _routing);         // (R, 1, C)
            return _model.lm_head.forward(hidden, null, _routing).to(ScalarType.Float32).view(rows, -1); // (R, V)
        }
        finally
        {
            _cache.EndStep();
        }
    }

    /// <summary>
    /// The live rows' adapters, with their LoRA weights stacked when there are several (the stack is kept while the set
    /// of adapters stays the same, however rows come and go, and freed when the batch empties or uses one adapter).
    /// </summary>
    private LoraRouting DecodeRouting(Device device)
    {
        LoraAdapter?[] adapters = [.. _rows.Select(r => r.Job.Adapter)];
        var distinct = adapters.Distinct(ReferenceEqualityComparer.Instance).Cast<LoraAdapter?>().ToList();
        if (distinct.Count == 1 || _stack is null || !_stack.HoldsExactly(distinct))
        {
            // The stack copies the adapters' weights: free it as soon as it no longer matches the batch.
            _stack?.Dispose();
            _stack = distinct.Count > 1 ? new LoraStack(distinct) : null;
        }
        return LoraRouting.Create(adapters, device, _stack);
    }

    /// <summary>Groups the live newcomers into prefill blocks of at most <see cref="PrefillBlockTokens"/> prompt tokens (a longer prompt is a block of its own).</summary>
    private static List<List<SampleJob>> PrefillBlocks(IReadOnlyList<SampleJob> newcomers)
    {
        var blocks = new List<List<SampleJob>>();
        long tokens = 0;
        foreach (var job in newcomers)
        {
            if (job.CancellationToken.IsCancellationRequested)
            {
                job.Fail(new OperationCanceledException(job.CancellationToken));
                continue;
            }
            if (blocks.Count == 0 || tokens + job.Prompt.Length > PrefillBlockTokens)
            {
                blocks.Add([]);
                tokens = 0;
            }
            blocks[^1].Add(job);
            tokens += job.Prompt.Length;
        }
        return blocks;
    }

    /// <summary>
    /// Prefills a block of newcomers in one forward: their prompts packed back to back into one ragged sequence
    /// ([1, ΣT], no padding), each attending only to itself (per prompt, or through a block-diagonal causal mask when
    /// that is cheaper), each prompt at positions 0 .. T − 1 with its own adapter.
    /// Each prompt's keys and values are then copied into one slot per sample. Returns the first next-token logits of
    /// every new row, in row order. [ΣN, V]
    /// </summary>
    private Tensor Prefill(List<SampleJob> block)
    {
        var device = _model.model.embed_tokens.weight!.device;
        int jobs = block.Count;
        var starts = new long[jobs];
        long total = 0;
        for (int j = 0; j < jobs; j++)
        {
            starts[j] = total;
            total += block[j].Prompt.Length;
        }

        var ids = torch.tensor(block.SelectMany(j => j.Prompt.Select(t => (long)t)).ToArray(), [1, total], ScalarType.Int64, device); // (1, ΣT)
        using var promptCache = _model.CreateCache(1);
        Tensor hidden;                                                                        // (1, ΣT, C)
        Tensor lastLogits;                                                                    // (J, V)
        if (jobs == 1)
        {
            var adapter = block[0].Adapter;
            hidden = _model.model.forward(ids, null, promptCache, adapter);
            lastLogits = _model.lm_head.forward(hidden.narrow(1, total - 1, 1), adapter).view(1, -1);
        }
        else
        {
            var positions = torch.tensor(block.SelectMany(j => Enumerable.Range(0, j.Prompt.Length).Select(p => (long)p)).ToArray(), [1, total], ScalarType.Int64, device); // (1, ΣT)
            using var tokenRouting = LoraRouting.Create([.. block.SelectMany(j => Enumerable.Repeat(j.Adapter, j.Prompt.Length))], device);
            int[] lengths = [.. block.Select(j => j.Prompt.Length)];
            if (PackedSegments.IsCheaper(lengths))
            {
                // Similar lengths: attention per prompt ([J, H, Tmax, D], causal), projections on the packed tokens.
                hidden = _model.model.ForwardRows(ids, positions, null, promptCache, tokenRouting, PackedSegments.Create(lengths, device));
            }
            else
            {
                var segment = torch.tensor(block.SelectMany((j, index) => Enumerable.Repeat((long)index, j.Prompt.Length)).ToArray(), ScalarType.Int64, device); // (ΣT)
                var column = torch.arange(total, ScalarType.Int64, device);                   // (ΣT)
                var mask = (segment.unsqueeze(1) == segment.unsqueeze(0))
                    .logical_and(column.unsqueeze(0) <= column.unsqueeze(1))
                    .view(1, 1, total, total);                                                // (1, 1, ΣT, ΣT)
                hidden = _model.model.ForwardRows(ids, positions, mask, promptCache, tokenRouting);
            }
            var lastIndex = torch.tensor(block.Select((j, index) => starts[index] + j.Prompt.Length - 1).ToArray(), ScalarType.Int64, device); // (J)
            using var jobRouting = LoraRouting.Create([.. block.Select(j => j.Adapter)], device);
            lastLogits = _model.lm_head.forward(hidden[0].index_select(0, lastIndex), null, jobRouting); // (J, V)
        }
        lastLogits = lastLogits.to(ScalarType.Float32);

        int newRows = block.Sum(j => j.NumSamples);
        _cache.Reserve(_rows.Count + newRows, Math.Max(MaxColumns, block.Max(j => j.Columns)));
        var perRow = new List<Tensor>(jobs);
        for (int j = 0; j < jobs; j++)
        {
            var job = block[j];
            long length = job.Prompt.Length;
            if (job.WantPromptLogprobs || job.TopkPromptLogprobs > 0)
            {
                var promptIds = ids.narrow(1, starts[j], length);                             // (1, T)
                (job.PromptLogprobs, job.TopkPromptLogprobsResult) = Sampler.PromptLogprobs(
                    _model, job.Adapter, hidden.narrow(1, starts[j], length), promptIds, job.WantPromptLogprobs, job.TopkPromptLogprobs);
            }

            _cache.AddRows(promptCache, starts[j], length, job.NumSamples);
            job.RowSlots = new Row?[job.NumSamples];
            for (int i = 0; i < job.NumSamples; i++)
            {
                var row = new Row(job, i) { Slot = _rows.Count };
                job.RowSlots[i] = row;
                _rows.Add(row);
            }
            job.LiveRows = job.NumSamples;
            _jobs.Add(job);
            perRow.Add(lastLogits.narrow(0, j, 1).expand(job.NumSamples, -1));               // (N, V)
        }
        InvalidateRouting();
        return perRow.Count == 1 ? perRow[0] : torch.cat(perRow, 0);                          // (ΣN, V)
    }

    private void DropCancelled()
    {
        var cancelled = _jobs.Where(j => j.CancellationToken.IsCancellationRequested).ToList();
        if (cancelled.Count == 0)
        {
            return;
        }
        var slots = new List<int>();
        foreach (var job in cancelled)
        {
            slots.AddRange(job.RowSlots.OfType<Row>().Select(r => r.Slot));
            job.Fail(new OperationCanceledException(job.CancellationToken));
            _jobs.Remove(job);
        }
        RemoveRowsOnly(slots);
    }

    private void RemoveRows(List<int> slots)
    {
        foreach (int slot in slots)
        {
            var row = _rows[slot];
            row.Job.RowSlots[row.Sample] = null;
            if (--row.Job.LiveRows == 0)
            {
                _jobs.Remove(row.Job);
                row.Job.Complete();
            }
        }
        RemoveRowsOnly(slots);
    }

    private void RemoveRowsOnly(List<int> slots)
    {
        if (slots.Count == 0)
        {
            return;
        }
        // Highest slot first: the row moved into a freed slot is then always a live one.
        foreach (int slot in slots.OrderDescending())
        {
            int last = _rows.Count - 1;
            _cache.RemoveRow(slot);
            if (slot != last)
            {
                _rows[slot] = _rows[last];
                _rows[slot].Slot = slot;
            }
            _rows.RemoveAt(last);
        }
        InvalidateRouting();
        if (_rows.Count == 0)
        {
            _stack?.Dispose();
            _stack = null;
        }
    }

    private void InvalidateRouting()
    {
        _routing?.Dispose();
        _routing = null;
    }

    /// <summary>One live sample: its request, its index in the request, its slot and the token to feed next.</summary>
    internal sealed class Row(SampleJob job, int sample)
    {
        public SampleJob Job => job;

        public int Sample => sample;

        public int Slot { get; set; }

        public int LastToken { get; set; }
    }
}
