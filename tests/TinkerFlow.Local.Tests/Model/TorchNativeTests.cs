using TorchSharp;

namespace TinkerFlow.Local.Tests.Model;

[Collection("Torch")]
public sealed class TorchNativeTests
{
    // Guards the Directory.Build.targets patch of libLibTorchSharp.so (GLIBCXX_3.4.32 marked weak).
    [Fact]
    public void TorchNative_Loads()
    {
        using var t = torch.tensor(new float[] { 1.5f, 2.5f }) * 2;
        Assert.Equal(new float[] { 3f, 5f }, t.data<float>().ToArray());
    }
}
