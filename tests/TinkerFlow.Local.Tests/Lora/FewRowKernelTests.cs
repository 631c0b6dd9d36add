using TinkerFlow.Local.Lora;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Lora;

[Collection("Torch")]
public sealed class FewRowKernelTests
{
    [Theory]
    [InlineData(1, 512, 320, true)]     // one row, on the OpenMP team
    [InlineData(2, 512, 320, false)]
    [InlineData(3, 13, 67, true)]       // out not a multiple of 4, in not a multiple of the vector width, one thread
    [InlineData(5, 1030, 100, false)]
    [InlineData(7, 64, 16, true)]
    [InlineData(16, 512, 320, true)]
    [InlineData(63, 37, 515, false)]
    [InlineData(64, 512, 320, true)]
    public void TryProject_MatchesLinear(int rows, int outFeatures, int inFeatures, bool withBias)
    {
        using var scope = torch.NewDisposeScope();
        var generator = new torch.Generator(11, torch.CPU);
        var weight = torch.randn([outFeatures, inFeatures], generator: generator);    // (out, in)
        var bias = withBias ? torch.randn([outFeatures], generator: generator) : null; // (out)
        var x = torch.randn([rows, inFeatures], generator: generator);                 // (N, in)

        // Without AVX-512 or AVX2+FMA the kernel declines and LoraLinear.Project keeps to libtorch.
        Assert.Equal(FewRowKernel.IsSupported, FewRowKernel.TryProject(x, weight, bias, out var y));
        if (y is null)
        {
            return;
        }

        var expected = nn.functional.linear(x, weight, bias);                           // (N, out)
        Assert.Equal(expected.shape, y!.shape);
        Assert.True(y.allclose(expected, rtol: 1e-5, atol: 1e-4), $"max difference {(y - expected).abs().max().item<float>()}");
    }

    [Fact]
    public void TryProject_TakesANonContiguousInput()
    {
        using var scope = torch.NewDisposeScope();
        var generator = new torch.Generator(5, torch.CPU);
        var weight = torch.randn([96, 48], generator: generator);
        var x = torch.randn([48, 3], generator: generator).t();                        // (3, 48), a transposed view

        Assert.Equal(FewRowKernel.IsSupported, FewRowKernel.TryProject(x, weight, null, out var y));
        if (y is not null)
        {
            Assert.True(y.allclose(nn.functional.linear(x, weight), rtol: 1e-5, atol: 1e-4));
        }
    }

    [Fact]
    public void TryProject_ARowsResultDoesNotDependOnTheRowsBesideIt()
    {
        using var scope = torch.NewDisposeScope();
        var generator = new torch.Generator(3, torch.CPU);
        var weight = torch.randn([300, 200], generator: generator);
        var x = torch.randn([23, 200], generator: generator);

        Assert.Equal(FewRowKernel.IsSupported, FewRowKernel.TryProject(x, weight, null, out var together));
        if (together is null)
        {
            return;
        }
        for (int row = 0; row < 23; row += 5)
        {
            Assert.True(FewRowKernel.TryProject(x[row..(row + 1)], weight, null, out var alone));
            Assert.True(alone![0].equal(together[row]).all().item<bool>(), $"row {row} differs when computed alone");
        }
    }

    [Fact]
    public void TryProject_DeclinesWhatItCannotCompute()
    {
        using var scope = torch.NewDisposeScope();
        var weight = torch.randn([32, 16]);

        Assert.False(FewRowKernel.TryProject(torch.randn([2, 16]).requires_grad_(), weight, null, out _));   // autograd
        Assert.False(FewRowKernel.TryProject(torch.randn([2, 16], ScalarType.Float64), weight.to(ScalarType.Float64), null, out _));
        Assert.False(FewRowKernel.TryProject(torch.randn([65, 16]), weight, null, out _));                    // too many rows
        Assert.False(FewRowKernel.TryProject(torch.randn([2, 16]), torch.randn([16, 32]).t(), null, out _)); // weight a view
        Assert.False(FewRowKernel.TryProject(torch.randn([2, 8]), weight, null, out _));                      // wrong width
        using (torch.no_grad())
        {
            Assert.Equal(FewRowKernel.IsSupported, FewRowKernel.TryProject(torch.randn([2, 16]).requires_grad_(), weight, null, out _));
        }
    }

    [Theory]
    [InlineData(1, 4)]
    [InlineData(3, 16)]
    [InlineData(16, 32)]
    [InlineData(64, 8)]
    public void TryAddLowRank_AddsTheScaledLowRankUpdateInPlace(int rows, int rank)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var generator = new torch.Generator(21, torch.CPU);
        var x = torch.randn([rows, 1, 200], generator: generator);                     // (N, 1, in)
        var a = torch.randn([rank, 200], generator: generator);                        // (r, in)
        var b = torch.randn([300, rank], generator: generator);                        // (out, r)
        var output = torch.randn([rows, 1, 300], generator: generator);                // (N, 1, out)
        var expected = output + (nn.functional.linear(nn.functional.linear(x, a), b) * 0.5);

        Assert.Equal(FewRowKernel.IsSupported, FewRowKernel.TryAddLowRank(x, a, b, 0.5, output));
        if (FewRowKernel.IsSupported)
        {
            Assert.True(output.allclose(expected, rtol: 1e-5, atol: 1e-4), $"max difference {(output - expected).abs().max().item<float>()}");
        }
    }

    [Fact]
    public void TryAddLowRank_DeclinesWhenAGradientMustFlow_AndChangesNothing()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn([2, 32]);
        var a = torch.randn([4, 32]).requires_grad_();
        var b = torch.zeros([16, 4]).requires_grad_();
        var output = torch.ones([2, 16]);

        Assert.False(FewRowKernel.TryAddLowRank(x, a, b, 2.0, output));
        Assert.True(output.eq(1).all().item<bool>());
    }
}
