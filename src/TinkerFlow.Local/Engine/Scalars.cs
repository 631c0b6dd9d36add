using TorchSharp;

namespace TinkerFlow.Local.Engine;

/// <summary>
/// Kept-alive <see cref="Scalar"/> constants. TorchSharp 0.107 hands a Scalar's handle to native code without
/// <c>GC.KeepAlive</c>, so a temporary Scalar (<c>t.lt(0)</c>, <c>t * 0.5</c>, <c>a + b</c>, which adds with alpha 1) can be
/// finalized by a GC on another thread while libtorch still reads it: a crash or a silently wrong value. Every
/// TorchSharp call in src/ passes one of these, or a per-call <c>using var s = value.ToScalar()</c> that lives to the
/// end of its scope; analyzers TF1001/TF1002 (tools/TinkerFlow.Analyzers) reject the rest (docs/engine-notes.md §1).
/// These are never disposed: static fields keep them reachable for the life of the process.
/// </summary>
internal static class Scalars
{
    public static readonly Scalar Zero = 0L.ToScalar();
    public static readonly Scalar One = 1L.ToScalar();
    public static readonly Scalar Two = 2L.ToScalar();
    public static readonly Scalar True = true.ToScalar();
    public static readonly Scalar NegativeInfinity = double.NegativeInfinity.ToScalar();

    /// <summary><c>torch.arange(start, stop)</c> as int64 with kept-alive bounds (TorchSharp's own overload adds a temporary step).</summary>
    public static torch.Tensor Arange(long start, long stop, torch.Device? device = null)
    {
        using Scalar from = start.ToScalar(), to = stop.ToScalar();
        return torch.arange(from, to, One, torch.ScalarType.Int64, device);
    }
}
