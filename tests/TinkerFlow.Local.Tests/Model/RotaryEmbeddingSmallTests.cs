using TinkerFlow.Local.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Model;

[Collection("Torch")]
public sealed class RotaryEmbeddingSmallTests
{
    [Theory]
    [InlineData(1, 16, 1, 128, 1)]     // one decode row, angles shared
    [InlineData(4, 8, 1, 64, 4)]       // a batched decode step, one angle row per sequence
    [InlineData(2, 3, 5, 20, 2)]       // a half that is not a multiple of the vector size, several positions
    [InlineData(1, 32, 64, 64, 1)]     // above the small-input size: libtorch's ops
    public void Apply_WithoutGradient_MatchesTheRecordedRotation(int batch, int heads, int time, int dim, int angleBatch)
    {
        using var scope = torch.NewDisposeScope();
        var generator = new torch.Generator(13, torch.CPU);
        var x = torch.randn([batch, heads, time, dim], generator: generator);
        var angles = torch.rand([angleBatch, 1, time, dim], generator: generator) * 6;
        var cos = angles.cos();
        var sin = angles.sin();

        var recorded = RotaryEmbedding.Apply(x.clone().requires_grad_(true), cos, sin);     // autograd: libtorch's ops
        Tensor fast;
        using (torch.no_grad())
        {
            fast = RotaryEmbedding.Apply(x, cos, sin);
        }

        Assert.True(recorded.requires_grad);
        Assert.Equal(recorded.shape, fast.shape);
        Assert.True(fast.allclose(recorded.detach(), rtol: 1e-6, atol: 1e-6), $"max difference {(fast - recorded).abs().max().item<float>()}");
    }
}
