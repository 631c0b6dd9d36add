using TinkerFlow.Local.Lora;
using TinkerFlow.Local.Training;
using TinkerFlow.Types;

namespace TinkerFlow.Local.Engine;

/// <summary>
/// One training client's state in the engine: its LoRA adapter over a shared frozen base, its optimizer, and the
/// executor that runs its requests in seq order. Gradients accumulate in the adapter parameters between optimizer steps.
/// </summary>
internal sealed class TrainingModel : IDisposable
{
    public TrainingModel(string modelId, string owner, string sessionId, BaseModel baseModel, LoraConfig loraConfig, LoraAdapter adapter, TimeSpan gapGrace)
    {
        ModelId = modelId;
        Owner = owner;
        SessionId = sessionId;
        Base = baseModel;
        LoraConfig = loraConfig;
        Adapter = adapter;
        Optimizer = new AdamW(adapter.Tensors.Select(kv => (kv.Key, (TorchSharp.torch.Tensor)kv.Value)));
        Executor = new OrderedExecutor(modelId, gapGrace);
    }

    public string ModelId { get; }

    public string Owner { get; }

    public string SessionId { get; }

    public BaseModel Base { get; }

    public LoraConfig LoraConfig { get; }

    public LoraAdapter Adapter { get; }

    public AdamW Optimizer { get; private set; }

    public OrderedExecutor Executor { get; }

    /// <summary>Optimizer steps taken by this client.</summary>
    public long Steps { get; set; }

    /// <summary>Replaces the optimizer with a fresh one (after loading weights without optimizer state).</summary>
    public void ResetOptimizer()
    {
        Optimizer.Dispose();
        Optimizer = new AdamW(Adapter.Tensors.Select(kv => (kv.Key, (TorchSharp.torch.Tensor)kv.Value)));
    }

    /// <summary>
    /// Stops the executor, waiting for a request that is running, then frees the adapter and optimizer tensors. When the
    /// request does not finish in time (or this runs on the executor's own thread) the tensors are left to the garbage
    /// collector instead, since the request still holds them: freeing them under it would crash the process.
    /// </summary>
    /// <returns>True when the executor stopped and the tensors were freed.</returns>
    public bool Dispose(TimeSpan timeout)
    {
        if (!Executor.Stop(timeout))
        {
            return false;
        }

        Optimizer.Dispose();
        Adapter.Dispose();
        return true;
    }

    /// <inheritdoc cref="Dispose(TimeSpan)"/>
    public void Dispose() => Dispose(OrderedExecutor.StopTimeout);
}
