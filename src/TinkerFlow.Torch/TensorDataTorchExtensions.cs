using TinkerFlow.Types;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Torch;

/// <summary>Conversions between wire tensors (<see cref="TensorData"/>) and TorchSharp tensors.</summary>
public static class TensorDataTorchExtensions
{
    /// <summary>
    /// A new CPU tensor with this tensor's values, dtype (int64 or float32) and shape (a sparse tensor is expanded to
    /// its dense shape). The caller owns it: create it inside a dispose scope, or dispose it.
    /// </summary>
    /// <param name="tensorData">The wire tensor.</param>
    /// <returns>The TorchSharp tensor.</returns>
    public static Tensor ToTorch(this TensorData tensorData)
    {
        ArgumentNullException.ThrowIfNull(tensorData);
        var dense = tensorData.ToDense();
        long[] shape = dense.Shape is { } s ? [.. s] : [dense.ElementCount];
        return dense.Dtype == TensorDType.Int64
            ? torch.tensor(dense.AsInt64Span().ToArray(), shape)
            : torch.tensor(dense.AsFloat32Span().ToArray(), shape);
    }

    /// <summary>
    /// A wire tensor with a copy of this tensor's values (row-major) and shape; the tensor itself is left as it is (it
    /// may require gradients, be non-contiguous or live on another device).
    /// </summary>
    /// <param name="tensor">An int64 or float32 tensor.</param>
    /// <returns>The wire tensor.</returns>
    /// <exception cref="ArgumentException">When the dtype is neither int64 nor float32.</exception>
    public static TensorData ToTensorData(this Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var dtype = tensor.dtype;
        if (dtype is not (ScalarType.Int64 or ScalarType.Float32))
        {
            throw new ArgumentException($"ToTensorData: a {dtype} tensor has no wire form; convert it first with .to(torch.float32) or .to(torch.int64).", nameof(tensor));
        }

        using var scope = torch.NewDisposeScope();
        var shape = tensor.shape;
        var values = tensor.detach().cpu().contiguous();
        return dtype == ScalarType.Int64
            ? TensorData.FromInt64(values.data<long>().ToArray(), shape)
            : TensorData.FromFloat32(values.data<float>().ToArray(), shape);
    }
}
