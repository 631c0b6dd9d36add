using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Engine;

/// <summary>Raw access to a CPU tensor's storage, for the engine's few managed kernels.</summary>
internal static unsafe class TensorMemory
{
    /// <summary>True for a float32 tensor in CPU memory: what the managed kernels read and write.</summary>
    public static bool IsFloat32Cpu(Tensor tensor) => tensor.dtype == ScalarType.Float32 && tensor.device_type == DeviceType.CPU;

    /// <summary>True for a contiguous float32 CPU tensor, whose storage <see cref="Floats"/> may read in place.</summary>
    public static bool IsReadable(Tensor tensor) => IsFloat32Cpu(tensor) && tensor.is_contiguous();

    /// <summary>
    /// True when no gradient can flow through a computation on these tensors (grad mode off, or none requires one): the
    /// managed kernels record nothing for autograd, so they run only then.
    /// </summary>
    public static bool RecordsNoGradient(Tensor a, Tensor b, Tensor? c = null) =>
        !torch.is_grad_enabled() || !(a.requires_grad || b.requires_grad || (c?.requires_grad ?? false));

    /// <summary>
    /// The first element of <paramref name="tensor"/>, which the caller has checked is a contiguous float32 CPU tensor
    /// (checked again in debug builds only: the kernels call this per product). The pointer is valid while the tensor
    /// is alive: callers keep it alive (<see cref="GC.KeepAlive"/>) until their last access.
    /// </summary>
    public static float* Floats(Tensor tensor)
    {
        Debug.Assert(IsReadable(tensor), "a contiguous float32 CPU tensor");
        return (float*)Data(tensor);
    }

    /// <summary>
    /// The first element of a contiguous CPU tensor of any dtype, under the same terms as <see cref="Floats"/>. Storage
    /// beyond 2 GiB, which <c>Tensor.bytes</c> cannot span, is reached through a one-element view of its start.
    /// </summary>
    public static void* Data(Tensor tensor)
    {
        if (tensor.numel() * tensor.element_size() <= int.MaxValue)
        {
            return Unsafe.AsPointer(ref MemoryMarshal.GetReference(tensor.bytes));
        }
        using var flat = tensor.view(-1);
        using var first = flat.narrow(0, 0, 1);
        return Unsafe.AsPointer(ref MemoryMarshal.GetReference(first.bytes));
    }
}
