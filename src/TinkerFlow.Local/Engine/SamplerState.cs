using TinkerFlow.Local.Lora;

namespace TinkerFlow.Local.Engine;

/// <summary>A sampling session: a base model and, unless it samples the base itself, an immutable adapter snapshot.</summary>
internal sealed class SamplerState(BaseModel baseModel, LoraAdapter? adapter, string? modelPath) : IDisposable
{
    private long _seqLast = -1;

    public BaseModel Base => baseModel;

    public LoraAdapter? Adapter => adapter;

    public string? ModelPath => modelPath;

    /// <summary>Highest sample seq id seen (for diagnostics; samples are independent and run concurrently).</summary>
    public long LastSeqId => Interlocked.Read(ref _seqLast);

    public void ObserveSeq(long? seq)
    {
        if (seq is { } s)
        {
            long current;
            while (s > (current = _seqLast) && Interlocked.CompareExchange(ref _seqLast, s, current) != current)
            {
            }
        }
    }

    public void Dispose() => adapter?.Dispose();
}
