using TinkerFlow.Local.Lora;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Lora;

[Collection("Torch")]
public sealed class LoraLinearTests
{
    [Theory]
    [InlineData(1, true)]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(16, true)]
    [InlineData(64, false)]
    [InlineData(65, true)]
    public void Project_MatchesLinearAndItsGradients_ForEveryRowCount(int rows, bool withBias)
    {
        Assert.True(512L * 320 >= LoraLinear.SingleRowElements, "the weight must be large enough for the single-row path");
        using var scope = torch.NewDisposeScope();
        var generator = new torch.Generator(7, torch.CPU);
        var weight = torch.randn([512, 320], generator: generator).requires_grad_();             // (out, in)
        var bias = withBias ? torch.randn([512], generator: generator).requires_grad_() : null;  // (out)
        var x = torch.randn([rows, 1, 320], generator: generator).requires_grad_();              // (N, 1, in)
        var upstream = torch.randn([rows, 1, 512], generator: generator);                         // (N, 1, out)

        var projected = LoraLinear.Project(x, weight, bias);                                      // (N, 1, out)
        var grads = torch.autograd.grad([projected], [x, weight], [upstream]);
        var expected = nn.functional.linear(x, weight, bias);                                     // (N, 1, out)
        var expectedGrads = torch.autograd.grad([expected], [x, weight], [upstream]);

        Assert.Equal(expected.shape, projected.shape);
        Assert.True(projected.is_contiguous());
        Assert.True(projected.allclose(expected, rtol: 1e-5, atol: 1e-4), "forward differs from nn.functional.linear");
        Assert.True(grads[0].allclose(expectedGrads[0], rtol: 1e-5, atol: 1e-4), "input gradient differs");
        Assert.True(grads[1].allclose(expectedGrads[1], rtol: 1e-5, atol: 1e-4), "weight gradient differs");
    }
}
