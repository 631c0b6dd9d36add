using TinkerFlow.Local.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Model;

[Collection("Torch")]
public sealed class RmsNormTests
{
    [Theory]
    [InlineData(1, 1024)]       // a decode step's hidden state
    [InlineData(16, 128)]       // Qwen3's per-head q/k norm
    [InlineData(3, 37)]         // a width that is not a multiple of the vector size
    [InlineData(512, 256)]      // above the small-input size: libtorch's ops
    public void Forward_WithoutGradient_MatchesTheRecordedForward(int rows, int dim)
    {
        using var scope = torch.NewDisposeScope();
        var generator = new torch.Generator(9, torch.CPU);
        using var norm = new RmsNorm(dim, 1e-6);
        using (torch.no_grad())
        {
            norm.weight.copy_(torch.rand([dim], generator: generator) + 0.5);
        }
        var x = torch.randn([rows, 1, dim], generator: generator) * 3;

        var recorded = norm.forward(x.requires_grad_(true));            // autograd: libtorch's ops
        Tensor fast;
        using (torch.no_grad())
        {
            fast = norm.forward(x.detach());
        }

        Assert.Equal(recorded.shape, fast.shape);
        Assert.True(recorded.requires_grad);
        Assert.True(fast.allclose(recorded.detach(), rtol: 1e-5, atol: 1e-6), $"max difference {(fast - recorded).abs().max().item<float>()}");
    }
}
