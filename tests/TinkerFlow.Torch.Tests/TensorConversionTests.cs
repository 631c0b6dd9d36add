using TinkerFlow.Types;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Torch.Tests;

[Collection("Torch")]
public sealed class TensorConversionTests
{
    [Fact]
    public void Int64_RoundTripKeepsShapeDtypeAndValues()
    {
        var data = TensorData.FromInt64([1L, 2, 3, 4, 5, -6], [2, 3]);
        using var scope = torch.NewDisposeScope();

        var tensor = data.ToTorch();

        Assert.Equal(ScalarType.Int64, tensor.dtype);
        Assert.Equal([2L, 3], tensor.shape);
        Assert.Equal(-6, tensor[1, 2].item<long>());
        Assert.Equal(data, tensor.ToTensorData());
    }

    [Fact]
    public void Float32_RoundTripKeepsShapeDtypeAndValues()
    {
        var data = TensorData.FromFloat32([0.5f, -1.25f, 3f, 1e-8f, float.MaxValue, -0f], [3, 1, 2]);
        using var scope = torch.NewDisposeScope();

        var tensor = data.ToTorch();

        Assert.Equal(ScalarType.Float32, tensor.dtype);
        Assert.Equal([3L, 1, 2], tensor.shape);
        Assert.Equal(-1.25f, tensor[0, 0, 1].item<float>());
        var back = tensor.ToTensorData();
        Assert.Equal(data, back);
        Assert.Equal(TensorDType.Float32, back.Dtype);
    }

    [Fact]
    public void ZeroDimensionalTensor_RoundTripsWithAnEmptyShape()
    {
        using var scope = torch.NewDisposeScope();

        var data = torch.tensor(2.5f).ToTensorData();

        Assert.Empty(data.Shape!);
        Assert.Equal([2.5f], data.ToFloat32Array());
        Assert.Empty(data.ToTorch().shape);
    }

    [Fact]
    public void SparseTensorData_BecomesItsDenseTensor()
    {
        var sparse = TensorData.FromSparseCsr(TensorDType.Float32, [7, 9], [0, 1, 2], [2, 0], [2, 3]);
        using var scope = torch.NewDisposeScope();

        var tensor = sparse.ToTorch();

        Assert.Equal([2L, 3], tensor.shape);
        Assert.Equal(new[] { 0f, 0f, 7f, 9f, 0f, 0f }, tensor.reshape(-1).data<float>().ToArray());
    }

    [Fact]
    public void ToTensorData_ReadsNonContiguousAndGradientTensorsRowMajor()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.arange(6, dtype: ScalarType.Float32).reshape(2, 3).requires_grad_(true);

        var transposed = x.t().ToTensorData();

        Assert.Equal([3L, 2], transposed.Shape);
        Assert.Equal([0f, 3f, 1f, 4f, 2f, 5f], transposed.ToFloat32Array());
        Assert.True(x.requires_grad);
    }

    [Fact]
    public void ToTensorData_OfAnotherDtype_SaysHowToConvert()
    {
        using var scope = torch.NewDisposeScope();
        var doubles = torch.ones(3, dtype: ScalarType.Float64);

        var ex = Assert.Throws<ArgumentException>(() => doubles.ToTensorData());

        Assert.Contains("Float64", ex.Message, StringComparison.Ordinal);
        Assert.Contains(".to(torch.float32)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Conversions_LeaveNoLiveTensorsInsideAScope()
    {
        var data = TensorData.FromFloat32([1f, 2f, 3f, 4f], [2, 2]);
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        for (var i = 0; i < 100; i++)
        {
            using var scope = torch.NewDisposeScope();
            _ = data.ToTorch().t().ToTensorData();
        }

        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
