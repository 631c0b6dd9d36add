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
/// <see cref="SlotKvCache"/>; base matmuls once, LoRA updates grouped by adapter through <see cref="LoraRouting"/>),
/// (2) prefills the requests that join at this step (each prompt alone, batch 1, no padding; its KV cache is copied into
/// one slot per sample), then (3) picks the next token of every row — old and new — with each row's own settings in one
/// vectorised <see cref="TokenSelector.Select"/>. Rows that finish leave the batch at once; a request completes when its
/// last row finishes.</para>
/// <para>All tensors live on the thread that calls <see cref="Step"/> (TorchSharp dispose scopes are thread-local);
/// call every method from that one thread.</para>
/// </remarks>
internal sealed class DecodeBatch : IDisposable
{
    private readonly CausalLm _model;
    private readonly SlotKvCache _cache;
    private readonly List<Row> _rows = [];
    private readonly List<SampleJob> _jobs = [];
    private LoraRouting? _routing;

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

        foreach (var job in newcomers)
        {
            try
            {
                job.CancellationToken.ThrowIfCancellationRequested();
                logits.Add(Prefill(job));                                                     // (N, V)
            }
            catch (Exception ex)
            {
                job.Fail(ex);
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
            _routing ??= LoraRouting.Create([.. _rows.Select(r => r.Job.Adapter)], device);
            var hidden = _model.model.Decode(ids, positions, mask, _cache, _routing);         // (R, 1, C)
            return _model.lm_head.forward(hidden, null, _routing).to(ScalarType.Float32).view(rows, -1); // (R, V)
        }
        finally
        {
            _cache.EndStep();
        }
    }

    private Tensor Prefill(SampleJob job)
    {
        var device = _model.model.embed_tokens.weight!.device;
        long length = job.Prompt.Length;
        var promptIds = torch.tensor(job.Prompt.Select(t => (long)t).ToArray(), [1, length], ScalarType.Int64, device); // (1, T)
        using var promptCache = _model.CreateCache(1);
        var hidden = _model.model.forward(promptIds, null, promptCache, job.Adapter);         // (1, T, C)
        if (job.WantPromptLogprobs || job.TopkPromptLogprobs > 0)
        {
            (job.PromptLogprobs, job.TopkPromptLogprobsResult) = Sampler.PromptLogprobs(
                _model, job.Adapter, hidden, promptIds, job.WantPromptLogprobs, job.TopkPromptLogprobs);
        }
        var last = _model.lm_head.forward(hidden.narrow(1, length - 1, 1), job.Adapter)
            .to(ScalarType.Float32)
            .reshape(1, _model.Config.VocabSize);                                             // (1, V)

        _cache.Reserve(_rows.Count + job.NumSamples, Math.Max(MaxColumns, job.Columns));
        _cache.AddRows(promptCache, job.NumSamples);
        job.RowSlots = new Row?[job.NumSamples];
        for (int i = 0; i < job.NumSamples; i++)
        {
            var row = new Row(job, i) { Slot = _rows.Count };
            job.RowSlots[i] = row;
            _rows.Add(row);
        }
        job.LiveRows = job.NumSamples;
        _jobs.Add(job);
        InvalidateRouting();
        return last.expand(job.NumSamples, -1);                                               // (N, V)
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
