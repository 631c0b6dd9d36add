using System.Text.Json;
using TinkerFlow.Types;

namespace TinkerFlow.Tests.Types;

public class TensorDataTests
{
    [Fact]
    public void TensorData_Float32IsWidenedLikePython()
    {
        var tensor = TensorData.FromFloat32([-0.6f, 1f, 0.1f]);
        Assert.Equal(
            """{"data":[-0.6000000238418579,1,0.10000000149011612],"dtype":"float32","shape":[3]}""",
            TinkerJson.Serialize(tensor));
    }

    [Fact]
    public void TensorData_Int64KeepsFullPrecision()
    {
        var tensor = TensorData.FromInt64([long.MaxValue, -1, 0], [3]);
        var back = TinkerJson.Deserialize<TensorData>(TinkerJson.Serialize(tensor));
        Assert.Equal(tensor, back);
        Assert.Equal(long.MaxValue, back.AsInt64Span()[0]);
    }

    [Fact]
    public void TensorData_DataBeforeOrAfterDtype()
    {
        var late = TinkerJson.Deserialize<TensorData>("""{"shape":[2],"data":[1.5,2],"dtype":"float32"}""");
        var early = TinkerJson.Deserialize<TensorData>("""{"dtype":"float32","data":[1.5,2.0]}""");
        Assert.Equal([1.5f, 2f], late.ToFloat32Array());
        Assert.Null(early.Shape);
        Assert.Equal(2, early.ElementCount);
        Assert.Equal("""{"data":[1.5,2],"dtype":"float32"}""", TinkerJson.Serialize(early));
    }

    [Fact]
    public void TensorData_ShapeMustMatchData()
    {
        var ex = Assert.Throws<ArgumentException>(() => TensorData.FromInt64(new long[] { 1, 2, 3 }, [2, 2]));
        Assert.Contains("tensor_data.data has 3 elements but tensor_data.shape [2, 2] needs 4", ex.Message);
        var json = Assert.Throws<JsonException>(() => TinkerJson.Deserialize<TensorData>("""{"data":[1,2],"dtype":"int64","shape":[3]}"""));
        Assert.Contains("tensor_data.shape [3] needs 3", json.Message);
    }

    [Theory]
    [InlineData("""{"data":[1],"dtype":"float64"}""", "tensor_data.dtype")]
    [InlineData("""{"data":[1]}""", "tensor_data.dtype is missing")]
    [InlineData("""{"dtype":"int64"}""", "tensor_data.data is missing")]
    [InlineData("""{"data":[1.5],"dtype":"int64"}""", "whole numbers")]
    [InlineData("""{"data":[1],"dtype":"int64","extra":1}""", "unknown field \"extra\"")]
    [InlineData("""{"data":["1"],"dtype":"int64"}""", "only numbers")]
    public void TensorData_RejectsMalformedJson(string json, string fragment)
    {
        var ex = Assert.Throws<JsonException>(() => TinkerJson.Deserialize<TensorData>(json));
        Assert.Contains(fragment, ex.Message);
    }

    [Fact]
    public void TensorData_SparseCsrExpandsToDense()
    {
        var sparse = TinkerJson.Deserialize<TensorData>(GoldenRoundTripTests.ReadGolden("tensor_data_sparse.json"));
        Assert.True(sparse.IsSparse);
        Assert.Equal(3, sparse.ElementCount);
        Assert.Equal(8, sparse.DenseElementCount);
        var dense = sparse.ToDense();
        Assert.False(dense.IsSparse);
        Assert.Equal([2L, 4], dense.Shape!);
        Assert.Equal([0f, 1f, 0f, 0.5f, 2f, 0f, 0f, 0f], dense.ToFloat32Array());
        Assert.Equal(dense.ToFloat32Array(), sparse.ToFloat32Array());
        Assert.Same(dense, dense.ToDense());
    }

    [Fact]
    public void TensorData_SparseInt64FromFactory()
    {
        var sparse = TensorData.FromSparseCsr(TensorDType.Int64, [7, 8], [0, 0, 2], [0, 2], [2, 3]);
        Assert.Equal([0L, 0, 0, 7, 0, 8], sparse.ToInt64Array());
        JsonAssert.Equal(
            """{"data":[7,8],"dtype":"int64","shape":[2,3],"sparse_crow_indices":[0,0,2],"sparse_col_indices":[0,2]}""",
            TinkerJson.Serialize(sparse));
    }

    [Theory]
    [InlineData(new long[] { 0, 1 }, new long[] { 0, 1 }, "sparse_crow_indices must have rows + 1 = 3 entries")]
    [InlineData(new long[] { 0, 1, 2 }, new long[] { 0 }, "sparse_col_indices must have one entry per value (2)")]
    [InlineData(new long[] { 1, 1, 2 }, new long[] { 0, 1 }, "must start at 0")]
    [InlineData(new long[] { 0, 2, 1 }, new long[] { 0, 1 }, "must start at 0 and end at the value count 2")]
    [InlineData(new long[] { 0, 1, 2 }, new long[] { 0, 3 }, "sparse_col_indices entry 3 is outside [0, 3)")]
    public void TensorData_RejectsBadCsr(long[] crow, long[] col, string fragment)
    {
        var ex = Assert.Throws<ArgumentException>(() => TensorData.FromSparseCsr(TensorDType.Float32, [1, 2], crow, col, [2, 3]));
        Assert.Contains(fragment, ex.Message);
    }

    [Fact]
    public void TensorData_ConversionsBetweenDtypes()
    {
        Assert.Equal([1f, 2f], TensorData.FromInt64([1, 2]).ToFloat32Array());
        Assert.Equal([3L, 4L], TensorData.FromFloat32([3f, 4f]).ToInt64Array());
        Assert.Throws<InvalidOperationException>(() => TensorData.FromFloat32([0.5f]).ToInt64Array());
        Assert.Throws<InvalidOperationException>(() => TensorData.FromFloat32([0.5f]).AsInt64Span().Length);
        Assert.Equal(TensorDType.Int64, TensorData.FromInt64(new[] { 1, 2 }).Dtype);
        Assert.Equal([2L], TensorData.FromInt64(new[] { 1, 2 }).Shape!);
    }

    [Fact]
    public void TensorData_EqualityIsByValue()
    {
        Assert.Equal(TensorData.FromFloat32([1f, 2f]), TensorData.FromFloat32([1.0, 2.0]));
        Assert.NotEqual(TensorData.FromFloat32([1f, 2f]), TensorData.FromInt64([1, 2]));
        Assert.NotEqual(TensorData.FromFloat32([1f, 2f], [2]), TensorData.FromFloat32([1f, 2f], [1, 2]));
    }
}
