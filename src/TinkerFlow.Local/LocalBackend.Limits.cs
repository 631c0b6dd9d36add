using System.Collections.Concurrent;
using TinkerFlow.Local.Engine;
using TinkerFlow.Local.Limits;
using TinkerFlow.Local.Sampling;
using TinkerFlow.Local.Training;
using TinkerFlow.Types;

namespace TinkerFlow.Local;

/// <summary>
/// Admission control: every request whose size a user chooses (LoRA rank, samples × tokens, tokens per batch, number of
/// sessions, models and samplers) is checked against <see cref="LocalBackendOptions.Limits"/> before anything
/// proportional to it is allocated. Refusals are user errors: 400 when the request can never fit, 429 when waiting
/// (for other work to finish or idle sessions to expire) can help. Their messages name the limit, the value sent and
/// the setting that raises it.
/// </summary>
public sealed partial class LocalBackend
{
    private readonly MemoryLedger _ledger;
    private readonly ConcurrentDictionary<string, MemoryLedger.Reservation> _held = new(StringComparer.Ordinal);

    /// <summary>Estimated bytes held by requests (adapters, optimizer state, sample KV caches) across all users.</summary>
    internal long ReservedMemoryBytes => _ledger.TotalBytes;

    /// <summary>Estimated bytes held by <paramref name="owner"/>'s requests.</summary>
    internal long ReservedMemoryBytesOf(string owner) => _ledger.UserBytes(owner);

    private ResourceLimits Limits => Options.Limits;

    /// <summary>The largest LoRA rank accepted for <paramref name="config"/>: the configured maximum, never above the model's hidden size.</summary>
    internal int MaxLoraRankFor(Model.TransformerConfig config) => Math.Min(Limits.MaxLoraRank, MemoryEstimator.ModelMaxLoraRank(config));

    private void AdmitSession()
    {
        var cutoff = Store.Now - Limits.SessionWindow;
        var live = Store.ListSessions(Options.Owner).Count(s => (s.LastHeartbeat > s.Created ? s.LastHeartbeat : s.Created) >= cutoff);
        if (live >= Limits.MaxSessionsPerUser)
        {
            throw Refused(
                $"create_session: this user already has {live} live sessions, the limit is {Limits.MaxSessionsPerUser}. " +
                $"Reuse a ServiceClient, or wait until idle sessions expire ({Limits.SessionWindow.TotalSeconds:0} s without a heartbeat); " +
                "raise it with --max-sessions-per-user (engine: ResourceLimits.MaxSessionsPerUser).",
                429);
        }
    }

    /// <summary>Checks a new training model's rank, the user's model count and memory; returns the memory reservation (null for a replay of an existing model).</summary>
    private MemoryLedger.Reservation? AdmitModel(string sessionId, int modelSeqId, string baseModelName, LoraConfig lora)
    {
        var session = Store.GetSession(sessionId, Options.Owner);
        if (_models.ContainsKey($"{session.SessionId}:train:{modelSeqId}"))
        {
            return null;
        }

        var baseModel = Models.Get(baseModelName);
        var max = MaxLoraRankFor(baseModel.Config);
        if (lora.Rank > max)
        {
            throw Refused(
                $"lora_config.rank {lora.Rank} is above the maximum of {max} for base model '{baseModel.Name}' " +
                $"(the smaller of the server's limit {Limits.MaxLoraRank} and the model's hidden size {MemoryEstimator.ModelMaxLoraRank(baseModel.Config)}); " +
                "use a smaller rank, or raise the limit with --max-lora-rank (engine: ResourceLimits.MaxLoraRank).",
                400);
        }

        var loaded = _models.Values.Count(m => m.Owner == Options.Owner);
        if (loaded >= Limits.MaxModelsPerUser)
        {
            throw Refused(
                $"create_model: this user already has {loaded} training models loaded, the limit is {Limits.MaxModelsPerUser}. " +
                "Unload models you no longer need (unload_model; checkpoints stay), or raise it with --max-models-per-user (engine: ResourceLimits.MaxModelsPerUser).",
                429);
        }

        var bytes = MemoryEstimator.TrainingStateBytes(baseModel.Config, lora.Rank, lora.TrainAttn, lora.TrainMlp, lora.TrainUnembed);
        return _ledger.Reserve(Options.Owner, bytes, $"create_model (rank {lora.Rank} adapter, gradients and AdamW state on '{baseModel.Name}')");
    }

    /// <summary>Checks the user's sampler count and reserves the memory of a sampler's adapter snapshot.</summary>
    private MemoryLedger.Reservation AdmitSampler(string samplerId, BaseModel baseModel, LoraConfig? lora)
    {
        var loaded = _samplers.Keys.Count(id => id != samplerId && Store.TryGetSamplerOwner(id) == Options.Owner);
        if (loaded >= Limits.MaxSamplersPerUser)
        {
            throw Refused(
                $"this user already has {loaded} sampling sessions loaded, the limit is {Limits.MaxSamplersPerUser}. " +
                "End sessions you no longer need (their samplers are released), or raise it with --max-samplers-per-user (engine: ResourceLimits.MaxSamplersPerUser).",
                429);
        }

        var bytes = lora is null ? 0 : MemoryEstimator.AdapterBytes(baseModel.Config, lora.Rank, lora.TrainAttn, lora.TrainMlp, lora.TrainUnembed);
        return _ledger.Reserve(Options.Owner, bytes, $"a sampler of '{baseModel.Name}' (adapter snapshot)");
    }

    /// <summary>Checks a sample request's KV-cache estimate against the per-request limit and reserves it while it is queued or running.</summary>
    private MemoryLedger.Reservation AdmitSample(SampleRequest request)
    {
        var config = SampleBase(request).Config;
        long prompt = request.Prompt.Length;
        long maxTokens = request.SamplingParams.MaxTokens ?? Sampler.DefaultMaxTokens;

        // Past the context the sampler refuses the request itself, with a message about the context.
        long positions = Math.Min(prompt + Math.Max(maxTokens, 1), Math.Max(config.MaxPositionEmbeddings, prompt));
        var bytes = MemoryEstimator.SampleBytes(config, Math.Max(request.NumSamples, 1), prompt, positions - prompt, request.PromptLogprobs ?? false);
        var limit = Limits.EffectiveMaxSampleBytes;
        var shape = $"num_samples {request.NumSamples} × (prompt {prompt} + max_tokens {maxTokens} tokens)";
        if (bytes > limit)
        {
            throw Refused(
                $"asample: {shape} needs an estimated {MemoryEstimator.Format(bytes)} of KV cache, above the per-request limit of {MemoryEstimator.Format(limit)}. " +
                "Lower num_samples or max_tokens (or split the request), or raise the limit with --max-sample-bytes (engine: ResourceLimits.MaxSampleBytes).",
                400);
        }

        long adapter = SampleAdapterBytes(request);
        return adapter == 0
            ? _ledger.Reserve(Options.Owner, bytes, $"asample ({shape}, KV cache)")
            : _ledger.Reserve(Options.Owner, MemoryEstimator.SaturatingAdd(bytes, adapter), $"asample ({shape}, KV cache and {MemoryEstimator.Format(adapter)} for its adapter's copy in the decode batch)");
    }

    /// <summary>What the request holds for its adapter (<see cref="MemoryEstimator.SampleAdapterBytes"/>); 0 on the base model.</summary>
    private long SampleAdapterBytes(SampleRequest request)
    {
        if (request.SamplingSessionId is { } id)
        {
            return _samplers.TryGetValue(id, out var state) && state.Adapter is { } adapter
                ? MemoryEstimator.SampleAdapterBytes(adapter.ParameterCount * MemoryEstimator.BytesPerScalar, loadedByTheRequest: false)
                : 0;
        }

        if (request.ModelPath is { } path)
        {
            var (_, _, run) = Store.ResolveTinkerPath(path, Options.Owner);
            if (run.LoraConfig is { } lora)
            {
                var config = Models.Get(run.BaseModel).Config;
                return MemoryEstimator.SampleAdapterBytes(MemoryEstimator.AdapterBytes(config, lora.Rank, lora.TrainAttn, lora.TrainMlp, lora.TrainUnembed), loadedByTheRequest: true);
            }
        }

        return 0;
    }

    /// <summary>Checks the tokens of a forward or forward_backward request, and that one micro-batch's activations fit the user's budget.</summary>
    private void AdmitBatch(string? modelId, ForwardBackwardInput input, string what)
    {
        var model = GetModel(modelId);
        var config = model.Base.Config;
        long tokens = input.Data.Sum(d => (long)d.ModelInput.Length);
        if (tokens > Limits.MaxForwardBackwardTokens)
        {
            throw Refused(
                $"{what}: the batch has {tokens} model-input tokens, above the limit of {Limits.MaxForwardBackwardTokens} per request. " +
                "Split it into several requests (the SDK chunks batches), or raise the limit with --max-forward-backward-tokens (engine: ResourceLimits.MaxForwardBackwardTokens).",
                400);
        }

        if (input.Data.Count == 0)
        {
            return;   // the computation refuses an empty batch with its own message
        }

        // One micro-batch is computed at a time; the longest datum pads every row of it.
        long longest = input.Data.Max(d => (long)d.ModelInput.Length);
        long padded = Math.Min(longest * input.Data.Count, Math.Max(Options.MaxTokensPerMicroBatch, longest));
        // The engine's own estimate of its largest micro-batch: chunked LM head, checkpointed layers under its budget.
        var settings = TrainingSettings;
        var activations = TrainingMemoryEstimate.ForwardBackwardBytes(
            config,
            model.Adapter.Options.Rank,
            [.. input.Data.Select(d => d.ModelInput.Length)],
            settings.MaxTokensPerMicroBatch,
            backward: what == "forward_backward",
            settings.Checkpointing,
            settings.ActivationBudgetBytes);
        var budget = Limits.EffectiveUserMemoryBudgetBytes;
        if (activations > budget)
        {
            throw Refused(
                $"{what}: one micro-batch of {padded} padded tokens needs an estimated {MemoryEstimator.Format(activations)} of activations, above the per-user memory budget of {MemoryEstimator.Format(budget)}. " +
                "Send shorter sequences, or raise the limit with --user-memory-budget (engine: ResourceLimits.UserMemoryBudgetBytes).",
                400);
        }
    }

    /// <summary>Keeps <paramref name="reservation"/> until <see cref="Release"/> of <paramref name="id"/>.</summary>
    private void Hold(string id, MemoryLedger.Reservation? reservation)
    {
        if (reservation is null)
        {
            return;
        }

        if (_held.TryRemove(id, out var previous))
        {
            previous.Dispose();
        }

        _held[id] = reservation;
    }

    /// <summary>Releases the memory held for a model or sampler that left memory.</summary>
    private void Release(string id)
    {
        if (_held.TryRemove(id, out var reservation))
        {
            reservation.Dispose();
        }
    }

    private BaseModel SampleBase(SampleRequest request)
    {
        if (request.SamplingSessionId is { } id && _samplers.TryGetValue(id, out var state))
        {
            return state.Base;
        }

        if (request.ModelPath is { } path)
        {
            var (_, _, run) = Store.ResolveTinkerPath(path, Options.Owner);
            return Models.Get(run.BaseModel);
        }

        return request.BaseModel is { } name ? Models.Get(name) : throw new TinkerRequestException(
            request.SamplingSessionId is { } unknown
                ? $"Sampling session '{Truncate(unknown)}' is not loaded in this engine (unknown id, or the process restarted). Create a sampling client again from its tinker:// path or base model."
                : "asample needs sampling_session_id, model_path or base_model.",
            RequestErrorCategory.User,
            status: request.SamplingSessionId is null ? 400 : 404);
    }

    private static TinkerRequestException Refused(string message, int status) => new(message, RequestErrorCategory.User, status: status);

    /// <summary>A user-supplied value for an error message: at most 200 characters.</summary>
    internal static string Truncate(string value) => value.Length <= 200 ? value : value[..200] + $"… ({value.Length} characters)";
}
