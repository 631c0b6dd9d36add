using TinkerFlow.Types;

namespace TinkerFlow.Tests.Types;

public class DatumTests
{
    [Fact]
    public void Datum_CreateCoercesByKeyName()
    {
        var datum = Datum.Create(ModelInput.FromInts([1, 2, 3]), new Dictionary<string, object>
        {
            ["target_tokens"] = new[] { 2, 3, 4 },
            ["weights"] = new List<double> { 0, 1, 1 },
            ["advantages"] = new float[] { 0.5f, 0.5f, 0.5f },
            ["logprobs"] = new double[] { -1, -2, -3 },
            ["clip_low_threshold"] = new long[] { 1, 1, 1 },
            ["clip_high_threshold"] = new List<float> { 1.2f, 1.2f, 1.2f },
        });
        Assert.Equal(TensorDType.Int64, datum.LossFnInputs["target_tokens"].Dtype);
        Assert.Equal([2L, 3, 4], datum.LossFnInputs["target_tokens"].ToInt64Array());
        foreach (var key in new[] { "weights", "advantages", "logprobs", "clip_low_threshold", "clip_high_threshold" })
        {
            Assert.Equal(TensorDType.Float32, datum.LossFnInputs[key].Dtype);
            Assert.Equal([3L], datum.LossFnInputs[key].Shape!);
        }

        Assert.Equal([-1f, -2f, -3f], datum.LossFnInputs["logprobs"].ToFloat32Array());
    }

    [Fact]
    public void Datum_CreateFromDoubleTargetsNeedsWholeNumbers()
    {
        var datum = Datum.Create(ModelInput.FromInts([1]), new Dictionary<string, object> { ["target_tokens"] = new[] { 5.0 } });
        Assert.Equal([5L], datum.LossFnInputs["target_tokens"].ToInt64Array());
        var ex = Assert.Throws<ArgumentException>(() =>
            Datum.Create(ModelInput.FromInts([1]), new Dictionary<string, object> { ["target_tokens"] = new[] { 5.5 } }));
        Assert.Contains("loss_fn_inputs['target_tokens']", ex.Message);
    }

    [Fact]
    public void Datum_CreateKeepsTensorDataAndShapeOfMultiDimensionalArrays()
    {
        var custom = TensorData.FromFloat32([1f, 2f]);
        var datum = Datum.Create(ModelInput.FromInts([1, 2]), new Dictionary<string, object>
        {
            ["my_mask"] = custom,
            ["weights"] = new float[,] { { 1, 2, 3 }, { 4, 5, 6 } },
        });
        Assert.Same(custom, datum.LossFnInputs["my_mask"]);
        Assert.Equal([2L, 3], datum.LossFnInputs["weights"].Shape!);
        Assert.Equal([1f, 2, 3, 4, 5, 6], datum.LossFnInputs["weights"].ToFloat32Array());
    }

    [Fact]
    public void Datum_CreateRejectsUnknownKeyWithoutTensorData()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            Datum.Create(ModelInput.FromInts([1]), new Dictionary<string, object> { ["rewards"] = new[] { 1.0 } }));
        Assert.Contains("loss_fn_inputs['rewards']", ex.Message);
        Assert.Contains("TensorData", ex.Message);
    }

    [Fact]
    public void Datum_CreateRejectsNonNumbers()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            Datum.Create(ModelInput.FromInts([1]), new Dictionary<string, object> { ["weights"] = new[] { "x" } }));
        Assert.Contains("loss_fn_inputs['weights'] must contain numbers", ex.Message);
        Assert.Throws<ArgumentException>(() =>
            Datum.Create(ModelInput.FromInts([1]), new Dictionary<string, object> { ["weights"] = 1.0 }));
    }

    [Fact]
    public void Datum_RoundTripsThroughJson()
    {
        var datum = Datum.Create(ModelInput.FromInts([1, 2]), new Dictionary<string, object>
        {
            ["target_tokens"] = new[] { 2, 3 },
            ["weights"] = new[] { 0.0, 1.0 },
        });
        var json = TinkerJson.Serialize(datum);
        JsonAssert.Equal(
            """
            {"model_input":{"chunks":[{"type":"encoded_text","tokens":[1,2]}]},
             "loss_fn_inputs":{"target_tokens":{"data":[2,3],"dtype":"int64","shape":[2]},
                               "weights":{"data":[0.0,1.0],"dtype":"float32","shape":[2]}}}
            """,
            json);
        var back = TinkerJson.Deserialize<Datum>(json);
        Assert.Equal(datum.ModelInput, back.ModelInput);
        Assert.Equal(datum.LossFnInputs["weights"], back.LossFnInputs["weights"]);
    }

    [Fact]
    public void LossFnType_KnowsTheFiveSdkNames()
    {
        Assert.Equal(["cross_entropy", "importance_sampling", "ppo", "cispo", "dro"], LossFnType.All);
        Assert.True(LossFnType.IsKnown("dro"));
        Assert.False(LossFnType.IsKnown("ppo_critic"));
        Assert.False(LossFnType.IsKnown(null));
    }
}
