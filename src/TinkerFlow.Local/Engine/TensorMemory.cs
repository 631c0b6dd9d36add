using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Engine;

/// <summary>Raw access to a CPU tensor's storage, for the engine's few managed kernels.</summary>
internal static unsafe class TensorMemory
{
    /// <summary>
    /// The first element of <paramref name="tensor"/>, which the caller has checked is a contiguous float32 CPU tensor
    /// (checked again in debug builds only: the kernels call this per product). The pointer is valid while the tensor
    /// is alive: callers keep it alive (<see cref="GC.KeepAlive"/>) until their last access.
    /// </summary>
    public static float* Floats(Tensor tensor)
    {
        Debug.Assert(tensor.dtype == ScalarType.Float32 && tensor.device_type == DeviceType.CPU && tensor.is_contiguous(), "a contiguous float32 CPU tensor");
        return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(tensor.bytes));
    }
}
